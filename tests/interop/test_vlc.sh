#!/usr/bin/env bash
# Interop (b): citywatch's RTSP client against VLC's RTSP stream output
# (`cvlc --sout '#rtp{sdp=rtsp://...}'`, Debian vlc-bin and vlc-plugin-base).
# VLC answers a TCP-interleaved SETUP with 461 Unsupported transport, so the
# client, left on --transport auto, must fall back to UDP by itself. The
# stream is pulled for SECONDS (20) and every access unit decoded with
# libavcodec: no decode error, nothing damaged, 640x360 at 25 fps.
#
# The clip is fed to VLC as an endless MPEG-TS on its stdin (ffmpeg
# -stream_loop -1 -re), not looped with VLC's own --loop: at each end of a
# file VLC deletes the RTP track, sends RTCP BYE and adds a new trackID, which
# ends every RTSP session (a camera that stops). A live feed never ends, as a
# camera's does not.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/interop/lib.sh
. "$here/lib.sh"
: "${PULL_DECODE:?}"
SECS=${INTEROP_SECONDS:-20}

# shellcheck disable=SC2317  # reached through trap only
on_exit() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    for f in feed.log vlc.log pull.err pull.json; do
      [ -s "$INTEROP_TMP/$f" ] || continue
      echo "--- $f (last 60 lines) ---" >&2
      tail -n 60 "$INTEROP_TMP/$f" >&2
    done
  fi
  interop_cleanup
  exit "$rc"
}
trap on_exit EXIT

command -v cvlc >/dev/null || fail "cvlc is missing (Debian packages vlc-bin, vlc-plugin-base)"
command -v ffmpeg >/dev/null || fail "ffmpeg is needed to make and feed the clip"

# The clip: 10 s, a keyframe every second.
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=640x360:rate=25 -t 10 -g 25 \
  -c:v libx264 -pix_fmt yuv420p "$INTEROP_TMP/clip.mp4"
chmod 644 "$INTEROP_TMP/clip.mp4"

# VLC will not run as root: run it as nobody, with a HOME of its own.
vlc_home="$INTEROP_TMP/vlc-home"
mkdir -m 700 "$vlc_home"
as_user=()
if [ "$(id -u)" = 0 ]; then
  chown nobody "$vlc_home"
  as_user=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups)
fi

port=$(free_port)
fifo="$INTEROP_TMP/feed.ts"
mkfifo -m 600 "$fifo"
# The feed: the clip looped forever at its own rate, as MPEG-TS into a FIFO
# that VLC reads on its stdin (opened here, as root, before VLC drops to nobody).
ffmpeg -nostdin -v warning -re -stream_loop -1 -i "$INTEROP_TMP/clip.mp4" -c copy \
  -f mpegts pipe:1 >"$fifo" 2>"$INTEROP_TMP/feed.log" &
_interop_pids+=($!)
# -vv: the track's "RTSP: adding" line is a debug message; it is the readiness
# signal (a DESCRIBE before it gets an SDP without the video).
"${as_user[@]}" env HOME="$vlc_home" XDG_CONFIG_HOME="$vlc_home" XDG_CACHE_HOME="$vlc_home" \
  XDG_DATA_HOME="$vlc_home" cvlc -vv --intf dummy --no-dbus --no-audio --file-caching=300 - \
  --sout "#rtp{sdp=rtsp://127.0.0.1:$port/stream}" --sout-keep \
  <"$fifo" >"$INTEROP_TMP/vlc.log" 2>&1 &
_interop_pids+=($!)
wait_for_line "$INTEROP_TMP/vlc.log" "RTSP: adding /stream/trackID=" 30

# In the background, so that a signal is handled at once, not after the pull.
"$PULL_DECODE" "rtsp://127.0.0.1:$port/stream" "$SECS" --transport auto \
  >"$INTEROP_TMP/pull.json" 2>"$INTEROP_TMP/pull.err" &
pull_pid=$!
_interop_pids+=("$pull_pid")
status=0
wait "$pull_pid" || status=$?
cat "$INTEROP_TMP/pull.json"
[ "$status" = 0 ] || fail "pull_decode exited $status"

check_pull "$INTEROP_TMP/pull.json" H264 udp "$SECS"
/usr/bin/python3 - "$INTEROP_TMP/pull.json" "$SECS" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
need = float(sys.argv[2]) * 20
if d["access_units"] < need:
    sys.exit(f"expected at least {need:.0f} access units in {sys.argv[2]} s; got {d['access_units']}")
PY
echo "interop vlc: TCP refused, UDP fallback pulled and decoded cleanly"
