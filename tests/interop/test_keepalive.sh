#!/usr/bin/env bash
# Keep-alive within the server's session timeout: the simulator expires a
# session that hears nothing for 3 s (and closes its connection); the client
# must keep it alive for the whole pull, over TCP and over UDP, where the
# RTSP connection carries no media to show that the client is there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/interop/lib.sh
. "$here/lib.sh"
: "${PULL_DECODE:?}" "${CAMSIM:?}"
command -v ffmpeg >/dev/null || fail "ffmpeg is needed to make the clip"
ffmpeg -v error -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -g 25 -bf 0 -c:v libx264 \
  -bsf:v h264_mp4toannexb -f h264 "$INTEROP_TMP/clip.h264"
start_server "$INTEROP_TMP/camsim.log" "$CAMSIM" --port 0 --session-timeout 3 \
  --clip "h264=$INTEROP_TMP/clip.h264" --mounts 2
wait_for_line "$INTEROP_TMP/camsim.log" listening 20
port=$(sed -n 's|.*listening on rtsp://127.0.0.1:\([0-9]*\)/.*|\1|p' "$INTEROP_TMP/camsim.log")
pids=()
"$PULL_DECODE" "rtsp://127.0.0.1:$port/cam0" 12 --transport tcp >"$INTEROP_TMP/tcp.json" &
pids+=($!)
"$PULL_DECODE" "rtsp://127.0.0.1:$port/cam1" 12 --transport udp >"$INTEROP_TMP/udp.json" &
pids+=($!)
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
cat "$INTEROP_TMP/tcp.json" "$INTEROP_TMP/udp.json"
[ "$status" = 0 ] || fail "a session ended before 12 s (its keep-alive did not hold a 3 s timeout)"
check_pull "$INTEROP_TMP/tcp.json" H264 tcp 12
check_pull "$INTEROP_TMP/udp.json" H264 udp 12
