#!/usr/bin/env bash
# test_plugin.sh — the cwtraffic element and cw-analyze end to end (issue 6).
#
# Makes a 12 s 640x360 10 fps H.264 clip with ffmpeg: a grey, slightly
# noisy road with two dark boxes, one crossing the middle of the picture
# left to right (at about 4.4 s), one right to left on another row (about
# 6.4 s). A counting line down the middle, drawn bottom to top, so by
# analytics/config.h the first box crosses it "forward" and the second
# "reverse": the truth is forward 1, reverse 1. Then:
#   (a) gst-launch-1.0 -m with GST_PLUGIN_PATH posts cw-event messages,
#       traffic.count among them, with the camera-id given (I420 and GRAY8);
#   (b) cw-analyze prints valid JSON lines with the fields documented in
#       analytics/README.md, the count is the truth, and the analysis rate
#       picks the right number of frames (5 fps, every frame, 2.5 fps);
#   (c) a bad configuration: exit 1, the message names the member (both
#       from cw-analyze and from gst-launch-1.0);
#   (d) a missing video or configuration file: exit 1 naming it;
#   (e) gst-inspect-1.0 cwtraffic lists the properties.
#
# Environment (meson sets it): CW_ANALYZE, CW_PLUGIN_DIR (the build's
# analytics/ folder), CW_LSAN_SUPP (tests/harness/lsan.supp).
#
# Sanitizers: in a build with -Db_sanitize=address,undefined the plugin
# needs the sanitizer runtimes, which gst-launch-1.0 (not built with them)
# does not load: they go in LD_PRELOAD for the gst-* commands, found from
# the plugin's own ldd. Leak checking stays on for cw-analyze (with
# lsan.supp for GLib's quark block; fast_unwind_on_malloc=0 so LSan sees
# the _dl_init frame) and is off for gst-launch-1.0, whose leaks are not ours.
set -euo pipefail

: "${CW_ANALYZE:?CW_ANALYZE must name cw-analyze (meson sets it)}"
: "${CW_PLUGIN_DIR:?CW_PLUGIN_DIR must name the analytics folder of the build}"

CW_TEST_NAME=$(basename "$0" .sh)
CW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cw-plugin.XXXXXX")
# shellcheck disable=SC2317  # reached through trap only
_cw_cleanup() { rm -rf -- "$CW_TMP"; }
trap _cw_cleanup EXIT
export LC_ALL=C.UTF-8

for prog in ffmpeg gst-launch-1.0 gst-inspect-1.0 python3; do
  if ! command -v "$prog" >/dev/null 2>&1; then
    echo "SKIP: $CW_TEST_NAME: no $prog"
    exit 77
  fi
done

# --- helpers (as tests/cli/lib.sh, which needs a database) -------------------
CHECKS=0
RC=0
OUT=
ERR=
LAST_CMD=

_excerpt() {
  if [ -z "$1" ]; then
    echo "    (empty)"
  else
    printf '%s\n' "$1" | head -n 40 | sed 's/^/    | /'
  fi
}

fail() {
  {
    echo
    echo "FAIL: $CW_TEST_NAME, check $((CHECKS + 1)): $1"
    if [ -n "$LAST_CMD" ]; then
      echo "  last command: $LAST_CMD"
      echo "  exit status: $RC"
      echo "  stdout:"
      _excerpt "$OUT"
      echo "  stderr:"
      _excerpt "$ERR"
    fi
  } >&2
  exit 1
}

pass() { CHECKS=$((CHECKS + 1)); }

run() {
  LAST_CMD=$(printf '%q ' "$@")
  RC=0
  "$@" >"$CW_TMP/.stdout" 2>"$CW_TMP/.stderr" || RC=$?
  OUT=$(cat "$CW_TMP/.stdout")
  ERR=$(cat "$CW_TMP/.stderr")
}

expect_ok() {
  run "$@"
  [ "$RC" = 0 ] || fail "expected exit 0"
  pass
}

expect_fail() {
  local code=$1 want=$2
  shift 2
  run "$@"
  [ "$RC" = "$code" ] || fail "expected exit $code with stderr containing '$want'"
  case $ERR in
    *"$want"*) ;;
    *) fail "expected stderr to contain '$want' (exit status $RC was right)" ;;
  esac
  pass
}

expect_contains() { # WHAT TEXT SUBSTR
  case $2 in
    *"$3"*) ;;
    *) fail "expected $1 to contain '$3'" ;;
  esac
  pass
}

# --- environment for the plugin ------------------------------------------------
gst_env=(env "GST_PLUGIN_PATH=$CW_PLUGIN_DIR" "GST_REGISTRY=$CW_TMP/registry.bin")
preload=$(ldd "$CW_PLUGIN_DIR"/libgstcwanalytics.so 2>/dev/null |
  awk '/lib(asan|ubsan)\.so/ { printf "%s%s", sep, $3; sep = " " }')
if [ -n "$preload" ]; then
  gst_env+=("LD_PRELOAD=$preload" "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
fi
if [ -n "${CW_LSAN_SUPP:-}" ]; then
  export LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$CW_LSAN_SUPP
  export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0
fi

# --- the clip and its configuration ---------------------------------------------
clip=$CW_TMP/two_boxes.mp4
if ! ffmpeg -nostdin -v error -y -filter_complex \
  "color=c=0x808080:s=640x360:r=10:d=12,noise=alls=4:allf=t[bg];
   color=c=black:s=60x40:r=10[a];color=c=0x202020:s=60x40:r=10[b];
   [bg][a]overlay=x='80*t-60':y=100:shortest=1[v1];
   [v1][b]overlay=x='640-80*(t-2)':y=220:shortest=1" \
  -c:v libx264 -profile:v baseline -pix_fmt yuv420p -g 20 -sc_threshold 0 -preset veryfast -crf 20 \
  "$clip" 2>"$CW_TMP/ffmpeg.err"; then
  echo "SKIP: $CW_TEST_NAME: ffmpeg cannot make an H.264 clip: $(head -c 300 "$CW_TMP/ffmpeg.err")"
  exit 77
fi
cfg=$CW_TMP/camera.json
cat >"$cfg" <<'EOF'
{
  "lines": [ {"id": "middle", "from": [0.5, 0.95], "to": [0.5, 0.05]} ]
}
EOF

# --- (b) cw-analyze: JSON lines, the count, the analysis rate --------------------
expect_ok "$CW_ANALYZE" "$clip" --config "$cfg"
expect_contains "stderr (summary)" "$ERR" "120 frames seen, 60 analysed"
printf '%s\n' "$OUT" >"$CW_TMP/events.jsonl"
python3 - "$CW_TMP/events.jsonl" >"$CW_TMP/check.out" 2>&1 <<'PY' || fail "JSON lines: $(cat "$CW_TMP/check.out")"
import json, sys
forward = reverse = 0
lines = [l for l in open(sys.argv[1], encoding="utf-8").read().splitlines() if l.strip()]
if not lines:
    sys.exit("no event at all")
for l in lines:
    e = json.loads(l)
    for k, t in (("kind", str), ("phase", str), ("incident", int), ("t", (int, float)),
                 ("start", (int, float)), ("attributes", dict)):
        if not isinstance(e.get(k), t):
            sys.exit("member %s missing or of the wrong type in %s" % (k, l))
    if e["phase"] not in ("instant", "start", "update", "end"):
        sys.exit("bad phase in " + l)
    if e["start"] > e["t"] + 1e-6 or e["t"] > 12.5:
        sys.exit("times out of range in " + l)
    if e["kind"] == "traffic.count" and e["attributes"].get("line") == "middle":
        forward += e["attributes"].get("forward", 0)
        reverse += e["attributes"].get("reverse", 0)
if (forward, reverse) != (1, 1):
    sys.exit("line middle counted forward %d reverse %d, truth is 1 and 1" % (forward, reverse))
PY
pass

expect_ok "$CW_ANALYZE" "$clip" --config "$cfg" --analysis-fps 0
expect_contains "stderr (summary)" "$ERR" "120 frames seen, 120 analysed"
expect_ok "$CW_ANALYZE" "$clip" --analysis-fps 2.5 --work-width 160
expect_contains "stderr (summary)" "$ERR" "120 frames seen, 30 analysed"
# The configuration's own rate when no option says otherwise.
echo '{"thresholds": {"analysis_fps": 2}}' >"$CW_TMP/rate.json"
expect_ok "$CW_ANALYZE" "$clip" --config "$CW_TMP/rate.json"
expect_contains "stderr (summary)" "$ERR" "120 frames seen, 24 analysed"
expect_ok "$CW_ANALYZE" "$clip" --keyframes-only --threads 1
expect_contains "stderr (summary)" "$ERR" "6 frames seen"

# --- (a) gst-launch-1.0 with the plugin -------------------------------------------
expect_ok "${gst_env[@]}" gst-launch-1.0 -m filesrc location="$clip" ! decodebin ! videoconvert \
  ! cwtraffic config-file="$cfg" camera-id=42 ! fakesink
expect_contains "gst-launch-1.0 output" "$OUT" "cw-event"
expect_contains "gst-launch-1.0 output" "$OUT" "kind=(string)traffic.count"
expect_contains "gst-launch-1.0 output" "$OUT" "camera-id=(gint64)42"
expect_contains "gst-launch-1.0 output" "$OUT" "attributes=(string)"
expect_ok "${gst_env[@]}" gst-launch-1.0 -m filesrc location="$clip" ! decodebin ! videoconvert \
  ! video/x-raw,format=GRAY8 ! cwtraffic config-file="$cfg" analysis-fps=0 ! fakesink
expect_contains "gst-launch-1.0 output (GRAY8)" "$OUT" "kind=(string)traffic.count"

# --- (c) a bad configuration names the member ----------------------------------------
cat >"$CW_TMP/bad.json" <<'EOF'
{"lines": [ {"id": "middle", "from": [0.5, 1.7], "to": [0.5, 0.05]} ]}
EOF
expect_fail 1 "lines[0].from" "$CW_ANALYZE" "$clip" --config "$CW_TMP/bad.json"
expect_contains "stderr" "$ERR" "bad.json"
echo '{"linez": []}' >"$CW_TMP/typo.json"
expect_fail 1 "linez" "$CW_ANALYZE" "$clip" --config "$CW_TMP/typo.json"
run "${gst_env[@]}" gst-launch-1.0 filesrc location="$clip" ! decodebin ! videoconvert \
  ! cwtraffic config='{"zones": [{"id": "z", "kind": "congestion", "polygon": [[0, 0], [1, 1]]}]}' \
  ! fakesink
[ "$RC" != 0 ] || fail "gst-launch-1.0 with a bad config should fail"
expect_contains "gst-launch-1.0 output" "$OUT$ERR" "zones[0].polygon"

# --- (d) missing files -------------------------------------------------------------------
expect_fail 1 "$CW_TMP/no_such_clip.mp4" "$CW_ANALYZE" "$CW_TMP/no_such_clip.mp4"
expect_fail 1 "$CW_TMP/no_such.json" "$CW_ANALYZE" "$clip" --config "$CW_TMP/no_such.json"
expect_fail 1 "$cfg" "$CW_ANALYZE" "$cfg" # not a video

# --- (e) gst-inspect-1.0 ------------------------------------------------------------------
expect_ok "${gst_env[@]}" gst-inspect-1.0 cwtraffic
for prop in config config-file work-width analysis-fps camera-id; do
  expect_contains "gst-inspect-1.0 cwtraffic" "$OUT" "  $prop "
done
expect_contains "gst-inspect-1.0 cwtraffic" "$OUT" "cwanalytics"

echo "$CW_TEST_NAME: $CHECKS checks passed"
