#!/usr/bin/env bash
# Redirects: a 302 with a Location is followed (to another server and port),
# a chain is followed up to the limit (3) and a loop ends with a clear error.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/interop/lib.sh
. "$here/lib.sh"
: "${PULL_DECODE:?}" "${CAMSIM:?}"
command -v ffmpeg >/dev/null || fail "ffmpeg is needed to make the clip"
ffmpeg -v error -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -g 25 -bf 0 -c:v libx264 \
  -bsf:v h264_mp4toannexb -f h264 "$INTEROP_TMP/clip.h264"
start_server "$INTEROP_TMP/camsim.log" "$CAMSIM" --port 0 --clip "h264=$INTEROP_TMP/clip.h264" \
  --mounts 1
wait_for_line "$INTEROP_TMP/camsim.log" listening 20
cam_port=$(sed -n 's|.*listening on rtsp://127.0.0.1:\([0-9]*\)/.*|\1|p' "$INTEROP_TMP/camsim.log")

hop2=$(free_port)
start_server "$INTEROP_TMP/hop2.log" /usr/bin/python3 "$here/redirector.py" "$hop2" \
  "rtsp://127.0.0.1:$cam_port/cam0"
hop1=$(free_port)
start_server "$INTEROP_TMP/hop1.log" /usr/bin/python3 "$here/redirector.py" "$hop1" \
  "rtsp://127.0.0.1:$hop2/next"
loop=$(free_port)
start_server "$INTEROP_TMP/loop.log" /usr/bin/python3 "$here/redirector.py" "$loop" \
  "rtsp://127.0.0.1:$loop/again"
for s in hop1 hop2 loop; do wait_for_line "$INTEROP_TMP/$s.log" ready 10; done

"$PULL_DECODE" "rtsp://127.0.0.1:$hop1/start" 4 >"$INTEROP_TMP/chain.json" ||
  fail "two redirects not followed: $(cat "$INTEROP_TMP/chain.json")"
check_pull "$INTEROP_TMP/chain.json" H264 tcp 4
if "$PULL_DECODE" "rtsp://127.0.0.1:$loop/start" 4 >"$INTEROP_TMP/loop.json" 2>&1; then
  fail "a redirect loop was pulled"
fi
grep -q "more than 3 redirects" "$INTEROP_TMP/loop.json" ||
  fail "redirect loop: expected 'more than 3 redirects', got $(cat "$INTEROP_TMP/loop.json")"
echo "ok redirect loop: $(grep -o '"ended": "[^"]*"' "$INTEROP_TMP/loop.json")"
