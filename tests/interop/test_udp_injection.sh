#!/usr/bin/env bash
# RTP over UDP is taken only from the camera's own address: a host that
# sprays forged RTP at the client's ports (here from 127.0.0.2, with the
# right payload type and sequence numbers far ahead) must not damage, drop
# or count as lost a single picture of the real stream.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/interop/lib.sh
. "$here/lib.sh"
: "${PULL_DECODE:?}" "${CAMSIM:?}"
command -v ffmpeg >/dev/null || fail "ffmpeg is needed to make the clip"
command -v ss >/dev/null || fail "ss (iproute2) is needed to find the client's ports"
ffmpeg -v error -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -g 25 -bf 0 -c:v libx264 \
  -bsf:v h264_mp4toannexb -f h264 "$INTEROP_TMP/clip.h264"
start_server "$INTEROP_TMP/camsim.log" "$CAMSIM" --port 0 --clip "h264=$INTEROP_TMP/clip.h264" \
  --mounts 1
wait_for_line "$INTEROP_TMP/camsim.log" listening 20
port=$(sed -n 's|.*listening on rtsp://127.0.0.1:\([0-9]*\)/.*|\1|p' "$INTEROP_TMP/camsim.log")

"$PULL_DECODE" "rtsp://127.0.0.1:$port/cam0" 8 --transport udp >"$INTEROP_TMP/pull.json" &
pull=$!
# The client's two UDP ports, once bound.
ports=
for _ in $(seq 1 50); do
  ports=$(ss -Huanp | awk -v pid="pid=$pull," '$0 ~ pid {n = split($4, a, ":"); print a[n]}' | sort -n | tr '\n' ' ')
  [ -n "$ports" ] && break
  sleep 0.1
done
[ -n "$ports" ] || fail "could not find the client's UDP ports"
sleep 1
/usr/bin/python3 - "$ports" <<'PY'
import socket, struct, sys, time
ports = [int(p) for p in sys.argv[1].split()]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.2", 0))
end = time.time() + 4
seq = 30000
while time.time() < end:
    for p in ports:
        # RTP v2, PT 96, marker; an IDR slice NAL of junk.
        pkt = struct.pack("!BBHII", 0x80, 0x80 | 96, seq & 0xFFFF, seq * 3600, 0x1234) + b"\x65" + b"\xAA" * 200
        s.sendto(pkt, ("127.0.0.1", p))
    seq += 7
    time.sleep(0.002)
print(f"sent forged RTP to ports {ports}")
PY
wait "$pull" || fail "the pull failed: $(cat "$INTEROP_TMP/pull.json")"
check_pull "$INTEROP_TMP/pull.json" H264 udp 8
