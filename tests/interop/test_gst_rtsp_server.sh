#!/usr/bin/env bash
# Interop (a): citywatch's RTSP client against a server built on GStreamer's
# gst-rtsp-server library: H.264 and H.265, TCP interleaved and UDP, no
# authentication, Digest and Basic. Each stream is pulled for SECONDS and
# every access unit decoded with libavcodec.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/interop/lib.sh
. "$here/lib.sh"
: "${PULL_DECODE:?}" "${GST_RTSP_SERVER:?}"
SECONDS_EACH=${INTEROP_SECONDS:-20}
PW='gst-Interop pw1'

open_port=$(free_port)
start_server "$INTEROP_TMP/open.log" "$GST_RTSP_SERVER" "$open_port" none
digest_port=$(free_port)
start_server "$INTEROP_TMP/digest.log" "$GST_RTSP_SERVER" "$digest_port" digest viewer "$PW"
basic_port=$(free_port)
start_server "$INTEROP_TMP/basic.log" "$GST_RTSP_SERVER" "$basic_port" basic viewer "$PW"
for s in open digest basic; do
  wait_for_line "$INTEROP_TMP/$s.log" ready 20
done

# All pulls at once: the test takes SECONDS_EACH, not five times that.
pull() { # NAME URL TRANSPORT [CREDENTIAL ARGS...]
  local name=$1 url=$2 transport=$3
  shift 3
  "$PULL_DECODE" "$url" "$SECONDS_EACH" --transport "$transport" "$@" \
    >"$INTEROP_TMP/$name.json" 2>"$INTEROP_TMP/$name.err" &
  pids+=($!)
}
pids=()
pull h264-tcp "rtsp://127.0.0.1:$open_port/h264" tcp
pull h265-udp "rtsp://127.0.0.1:$open_port/h265" udp
pull h264-digest "rtsp://127.0.0.1:$digest_port/h264" auto --user viewer --password "$PW"
pull h265-digest-udp "rtsp://127.0.0.1:$digest_port/h265" udp --user viewer --password "$PW"
pull h264-basic "rtsp://127.0.0.1:$basic_port/h264" auto --user viewer --password "$PW"
status=0
for p in "${pids[@]}"; do
  wait "$p" || status=1
done
for n in h264-tcp h265-udp h264-digest h265-digest-udp h264-basic; do
  cat "$INTEROP_TMP/$n.err" >&2
done
check_pull "$INTEROP_TMP/h264-tcp.json" H264 tcp "$SECONDS_EACH"
check_pull "$INTEROP_TMP/h265-udp.json" H265 udp "$SECONDS_EACH"
check_pull "$INTEROP_TMP/h264-digest.json" H264 tcp "$SECONDS_EACH"
check_pull "$INTEROP_TMP/h265-digest-udp.json" H265 udp "$SECONDS_EACH"
check_pull "$INTEROP_TMP/h264-basic.json" H264 tcp "$SECONDS_EACH"
[ "$status" = 0 ] || fail "a pull_decode exited non-zero"

# Refusals name the reason, and the password is in no output.
if "$PULL_DECODE" "rtsp://127.0.0.1:$digest_port/h264" 3 >"$INTEROP_TMP/nocred.json" 2>&1; then
  fail "pulled a Digest mount without credentials"
fi
grep -q "401 Unauthorized: the camera wants credentials and none are configured" \
  "$INTEROP_TMP/nocred.json" || fail "no-credential refusal: $(cat "$INTEROP_TMP/nocred.json")"
if "$PULL_DECODE" "rtsp://127.0.0.1:$basic_port/h264" 3 --user viewer --password wrong-one \
  >"$INTEROP_TMP/wrong.json" 2>&1; then
  fail "pulled a Basic mount with a wrong password"
fi
grep -q "401 Unauthorized: credentials rejected" "$INTEROP_TMP/wrong.json" ||
  fail "wrong-password refusal: $(cat "$INTEROP_TMP/wrong.json")"
if grep -rqF "$PW" "$INTEROP_TMP"/*.json "$INTEROP_TMP"/*.err; then
  fail "the password appears in the client's output"
fi
echo "interop gst-rtsp-server: all pulls decoded cleanly"
