# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # here from the sourcing script; LAST_CMD, OUT are lib.sh's
# footage.sh — helpers for the evidence-export tests, sourced after
# tests/cli/lib.sh (which gives CW_TMP, run/expect_*, sql).
#
#   FOOTAGE, CONF       the footage root and a config file naming it
#   cw ARGS...          cwctl -c CONF ARGS...
#   make_segments DIR SECONDS COUNT FFMPEG_ENCODER_ARGS...
#                       COUNT fragmented-MP4 segments of SECONDS each, cut
#                       from one continuous testsrc2 320x240 25 fps picture
#                       (so frame k of the whole run is one known picture),
#                       as DIR/seg000.mp4...; also DIR/frames.md5: the MD5 of
#                       every decoded frame of the run, one a line, in order
#   index_segments CAM START FILE|+SECONDS...
#                       moves the files under FOOTAGE by the recorder's
#                       naming scheme and indexes them with segments_add()
#   add_camera NAME     registers a camera, prints its id
#   add_user NAME ROLE  adds a user whose password is "$(password NAME)"
#   frame_md5s CLIP     MD5 of each decoded frame of a clip, one a line
#   packets CLIP        "pts_time,flags" of each packet, in file order
#   expect_json_file F PYEXPR [DESC]   expect_json over a file's JSON

FOOTAGE=$CW_TMP/footage
CONF=$CW_TMP/citywatch.conf
mkdir -p "$FOOTAGE"
printf '[recording]\nroot = %s\n' "$FOOTAGE" >"$CONF"

cw() { "$CWCTL" -c "$CONF" "$@"; }

password() { printf 'pw of %s, long enough' "$1"; }

make_segments() {
  local dir=$1 seconds=$2 count=$3
  shift 3
  mkdir -p "$dir"
  ffmpeg -v error -nostdin -f lavfi -i "testsrc2=size=320x240:rate=25" \
    -t $((seconds * count)) -pix_fmt yuv420p "$@" \
    -f segment -segment_time "$seconds" -segment_format mp4 \
    -segment_format_options movflags=empty_moov+default_base_moof+frag_keyframe \
    -reset_timestamps 1 "$dir/seg%03d.mp4" ||
    fail "ffmpeg could not make the test footage"
  local n
  n=$(find "$dir" -name 'seg*.mp4' | wc -l)
  [ "$n" = "$count" ] || fail "ffmpeg made $n segments, not $count"
  for f in "$dir"/seg*.mp4; do frame_md5s "$f"; done >"$dir/frames.md5"
}

index_segments() {
  local cam=$1 start=$2 json
  shift 2
  json=$(python3 "$here/place_segments.py" "$FOOTAGE" "$cam" test-node "$start" "$@") ||
    fail "place_segments.py failed"
  sql "SELECT segments_add('$json'::json)" >/dev/null
}

add_camera() {
  "$CWCTL" camera add --name "$1" --url "rtsp://$1.example/stream" >/dev/null ||
    fail "camera add $1"
  sql "SELECT id FROM cameras WHERE name = '$1'"
}

add_user() {
  "$CWCTL" user add "$1" --role "$2" <<<"$(password "$1")" >/dev/null || fail "user add $1"
}

# Frames as the decoder gives them, none dropped or repeated for timing.
frame_md5s() {
  ffmpeg -v error -nostdin -i "$1" -map 0:v:0 -fps_mode passthrough -f framemd5 - |
    awk -F', *' '!/^#/ { print $NF }'
}

packets() {
  ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,flags -of csv=p=0 "$1"
}

# expect_frames WHAT CLIP MD5_FILE FIRST COUNT: the clip's decoded frames are
# exactly frames FIRST .. FIRST+COUNT-1 of the generated run, in order.
expect_frames() {
  local what=$1 clip=$2 md5s=$3 first=$4 count=$5
  frame_md5s "$clip" >"$CW_TMP/.clip.md5"
  expect_eq "$what: frames in the clip" "$count" "$(wc -l <"$CW_TMP/.clip.md5")"
  sed -n "$((first + 1)),$((first + count))p" "$md5s" >"$CW_TMP/.want.md5"
  if ! cmp -s "$CW_TMP/.want.md5" "$CW_TMP/.clip.md5"; then
    LAST_CMD=
    fail "$what: the clip's frames are not frames $first..$((first + count - 1)) of the footage"
  fi
  _cw_pass
}

# expect_decodes CLIP: the decoder reports nothing at all.
expect_decodes() {
  local errs
  errs=$(ffmpeg -v error -nostdin -i "$1" -f null - 2>&1)
  expect_eq "decoder errors in $(basename "$1")" "" "$errs"
}

expect_json_file() {
  OUT=$(cat "$1")
  expect_json "$2" "${3:-$2}"
}
