#!/usr/bin/env bash
# Interop (c): citywatch's RTSP client against Debian's rtsp-server-perl relay
# (RTSP::Server), fed by ffmpeg publishing a looped clip with ANNOUNCE/RECORD.
# The relay serves clients over UDP only: it answers a TCP-interleaved SETUP
# (no client_port) with 400 Bad Request, so the client, left on
# --transport auto, must fall back to UDP by itself. The stream is pulled for
# SECONDS (20) and every access unit decoded with libavcodec: no decode error,
# nothing damaged, 640x360 at 25 fps.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/interop/lib.sh
. "$here/lib.sh"
: "${PULL_DECODE:?}"
SECS=${INTEROP_SECONDS:-20}
RELAY=/usr/bin/rtsp-server-perl

# shellcheck disable=SC2317  # reached through trap only
on_exit() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    for f in relay.log source.log pull.err pull.json; do
      [ -s "$INTEROP_TMP/$f" ] || continue
      echo "--- $f (last 80 lines) ---" >&2
      tail -n 80 "$INTEROP_TMP/$f" >&2
    done
  fi
  interop_cleanup
  exit "$rc"
}
trap on_exit EXIT

[ -x "$RELAY" ] || fail "$RELAY is missing (Debian package rtsp-server-perl)"
command -v ffmpeg >/dev/null || fail "ffmpeg is needed to make and publish the clip"

# The clip: 10 s, a keyframe every second.
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=640x360:rate=25 -t 10 -g 25 \
  -c:v libx264 -pix_fmt yuv420p "$INTEROP_TMP/clip.mp4"

# The relay takes its UDP ports from --rtp_start_port up, two per SETUP
# (the source's and each client's): find a run of free ones for it.
udp_base=$(/usr/bin/python3 - <<'PY'
import random, socket
for _ in range(200):
    base = random.randrange(20000, 60000, 2)
    socks = []
    try:
        for p in range(base, base + 8):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    break
else:
    raise SystemExit("no run of 8 free UDP ports found")
PY
)
client_port=$(free_port)
source_port=$(free_port)
while [ "$source_port" = "$client_port" ]; do source_port=$(free_port); done

# The relay runs as root without complaint (it never drops privileges).
# Perl buffers STDOUT, where its info/debug/trace log goes, when that is a
# file: run the daemon with autoflush so the log is there to wait on and to
# show on failure.
# shellcheck disable=SC2016  # Perl code, not shell
start_server "$INTEROP_TMP/relay.log" perl -e '$| = 1; my $f = shift; do $f; die $@ if $@;' \
  "$RELAY" --clientport "$client_port" --serverport "$source_port" \
  --client_listen_address 127.0.0.1 --source_listen_address 127.0.0.1 \
  --rtp_start_port "$udp_base" --loglevel 5
wait_for_line "$INTEROP_TMP/relay.log" "Client server started" 20

# The source: the clip looped forever at its own rate, published with
# ANNOUNCE/SETUP/RECORD (RTP over UDP to the relay).
start_server "$INTEROP_TMP/source.log" ffmpeg -nostdin -nostats -v info -re -stream_loop -1 \
  -i "$INTEROP_TMP/clip.mp4" -c copy -f rtsp "rtsp://127.0.0.1:$source_port/stream"
wait_for_line "$INTEROP_TMP/relay.log" "Got record for mountpoint /stream" 30

# In the background, so that a signal is handled at once, not after the pull.
"$PULL_DECODE" "rtsp://127.0.0.1:$client_port/stream" "$SECS" --transport auto \
  >"$INTEROP_TMP/pull.json" 2>"$INTEROP_TMP/pull.err" &
pull_pid=$!
_interop_pids+=("$pull_pid")
status=0
wait "$pull_pid" || status=$?
cat "$INTEROP_TMP/pull.json"
[ "$status" = 0 ] || fail "pull_decode exited $status"

# The relay's log shows the refusal the fallback answered.
grep -q "Client listener: >> Transport: RTP/AVP/TCP" "$INTEROP_TMP/relay.log" ||
  fail "the client never asked the relay for TCP interleaved (auto is meant to try it first)"
grep -q "Returning error 400" "$INTEROP_TMP/relay.log" ||
  fail "the relay did not refuse the TCP SETUP with 400 as expected"
check_pull "$INTEROP_TMP/pull.json" H264 udp "$SECS"
/usr/bin/python3 - "$INTEROP_TMP/pull.json" "$SECS" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
need = float(sys.argv[2]) * 20
if d["access_units"] < need:
    sys.exit(f"expected at least {need:.0f} access units in {sys.argv[2]} s; got {d['access_units']}")
PY
echo "interop rtsp-server-perl: TCP refused, UDP fallback pulled and decoded cleanly"
