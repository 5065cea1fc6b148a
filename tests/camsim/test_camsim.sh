#!/usr/bin/env bash
# camsim smoke test: real clients we did not write (ffmpeg, ffprobe) pull
# camsim's mounts over TCP and UDP, with and without credentials, and 200
# streams at once while camsim stays one thread. Needs CAMSIM (the binary).
set -euo pipefail

: "${CAMSIM:?set CAMSIM to the camsim binary}"
for tool in ffmpeg ffprobe timeout; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed (apt-get install ffmpeg)"
    exit 77
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/camsim-test.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
  echo "FAIL: $*"
  if [[ -f $tmp/camsim.out ]]; then
    echo "--- camsim output (tail)"
    tail -n 20 "$tmp/camsim.out"
  fi
  exit 1
}
pass() { echo "ok - $* (${SECONDS}s)"; }

# --- clips: 2 s, 640x360, 25 fps, GOP 25, 1 Mbit/s, no B-frames (as cameras) ---
ffmpeg -hide_banner -nostdin -loglevel error -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 \
  -g 25 -bf 0 -b:v 1M -c:v libx264 -bsf:v h264_mp4toannexb -f h264 "$tmp/clip.h264" ||
  fail "ffmpeg could not make an H.264 clip"
ffmpeg -hide_banner -nostdin -loglevel error -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 \
  -g 25 -b:v 1M -c:v libx265 -x265-params log-level=error:bframes=0 -f hevc "$tmp/clip.h265" ||
  fail "ffmpeg could not make an H.265 clip"

cat >"$tmp/mounts.txt" <<'EOF'
# NAME:CODEC:BEHAVIOUR[:T][:once]
hevc0:h265:normal
digest0:h264:unauthorized
basic0:h265:basic
refuse0:h264:refuse
garbage0:h264:garbage
notcp0:h264:tcp_refused_setup
EOF

"$CAMSIM" --port 0 --clip h264="$tmp/clip.h264" --clip h265="$tmp/clip.h265" \
  --mounts 200 --script "$tmp/mounts.txt" --auth user:s3cret \
  --session-log "$tmp/sessions.log" >"$tmp/camsim.out" 2>&1 &
camsim_pid=$!
pids+=("$camsim_pid")

port=
for _ in $(seq 100); do
  port=$(sed -n 's|^camsim: listening on rtsp://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/camsim.out")
  [[ -n $port ]] && break
  kill -0 "$camsim_pid" 2>/dev/null || fail "camsim exited at start"
  sleep 0.1
done
[[ -n $port ]] || fail "camsim did not report its port"
base=rtsp://127.0.0.1:$port
pass "camsim listening on $base"

# pull TRANSPORT URL: ffmpeg copies 3 s of the stream; prints the frame count.
pull() {
  local out
  out=$(timeout 30 ffmpeg -hide_banner -nostdin -rtsp_transport "$1" -i "$2" -t 3 -c copy \
    -f null - 2>&1) || {
    echo "$out" | tail -n 5 >&2
    return 1
  }
  echo "$out" | grep -o 'frame= *[0-9]*' | tail -n 1 | grep -o '[0-9]*$'
}

# probe TRANSPORT URL: codec,width,height of the first video stream.
probe() {
  timeout 20 ffprobe -v error -rtsp_transport "$1" -select_streams v:0 \
    -show_entries stream=codec_name,width,height -of csv=p=0 "$2"
}

# --- TCP and UDP, H.264 and H.265 ----------------------------------------------
for t in tcp udp; do
  frames=$(pull "$t" "$base/cam0") || fail "ffmpeg over $t could not pull cam0"
  ((frames >= 50)) || fail "ffmpeg over $t got only $frames frames from cam0"
  pass "cam0 over $t: $frames frames in 3 s"
  frames=$(pull "$t" "$base/hevc0") || fail "ffmpeg over $t could not pull hevc0"
  ((frames >= 50)) || fail "ffmpeg over $t got only $frames frames from hevc0"
  pass "hevc0 over $t: $frames frames in 3 s"
done
# Decode (not copy) 4 s, across the clip's loop point: no decoder complaint.
for m in cam0 hevc0; do
  errs=$(timeout 30 ffmpeg -hide_banner -nostdin -v error -rtsp_transport tcp -i "$base/$m" -t 4 \
    -f null - 2>&1) || fail "decoding $m failed: $errs"
  [[ -z $errs ]] || fail "decoding $m: $errs"
done
pass "cam0 and hevc0 decode without errors"
got=$(probe tcp "$base/cam0") || fail "ffprobe cam0"
[[ $got == "h264,640,360" ]] || fail "ffprobe cam0 says '$got'"
got=$(probe udp "$base/hevc0") || fail "ffprobe hevc0"
[[ $got == "hevc,640,360" ]] || fail "ffprobe hevc0 says '$got'"
pass "ffprobe: h264 and hevc at 640x360"

# --- 401 until Digest / Basic ---------------------------------------------------
for m in digest0 basic0; do
  if out=$(probe tcp "$base/$m" 2>&1); then
    fail "$m answered without credentials"
  fi
  grep -q 401 <<<"$out" || fail "$m: no 401 without credentials: $out"
  if probe tcp "rtsp://user:wrong@127.0.0.1:$port/$m" >/dev/null 2>&1; then
    fail "$m accepted a wrong password"
  fi
  got=$(probe tcp "rtsp://user:s3cret@127.0.0.1:$port/$m") || fail "$m refused good credentials"
  [[ $got == *,640,360 ]] || fail "$m with credentials: '$got'"
  pass "$m: 401 without or with wrong credentials, streams with them"
done

# --- faults a real client must survive ------------------------------------------
if probe tcp "$base/refuse0" >/dev/null 2>&1; then fail "refuse0 answered"; fi
pass "refuse0: connection closed unanswered"
# garbage keeps the connection open: give ffprobe a 3 s socket timeout.
if timeout 20 ffprobe -v error -timeout 3000000 "$base/garbage0" >/dev/null 2>&1; then
  fail "garbage0 gave a stream"
fi
pass "garbage0: no stream"
if out=$(probe tcp "$base/notcp0" 2>&1); then fail "notcp0 took TCP interleaved"; fi
grep -q 461 <<<"$out" || fail "notcp0: no 461: $out"
got=$(probe udp "$base/notcp0") || fail "notcp0 over UDP"
[[ $got == "h264,640,360" ]] || fail "notcp0 over UDP: '$got'"
pass "notcp0: 461 for TCP interleaved, UDP works"
if probe tcp "$base/nosuchmount" >/dev/null 2>&1; then fail "an unknown mount answered"; fi
pass "unknown mount: 404"

# --- 200 streams at once, 5 clients of 40 inputs each ------------------------------
clients=()
for c in 0 1 2 3 4; do
  args=()
  maps=()
  for i in $(seq 0 39); do
    # Probe little: the 40 inputs open one after another.
    args+=(-rtsp_transport tcp -probesize 32 -analyzeduration 0 -i "$base/cam$((c * 40 + i))")
    maps+=(-map "$i:v")
  done
  timeout 120 ffmpeg -hide_banner -nostdin -loglevel warning "${args[@]}" "${maps[@]}" -c copy \
    -t 6 -f null - >"$tmp/client$c.log" 2>&1 &
  clients+=($!)
  pids+=($!)
done
max_playing=0
threads_seen=
while :; do
  alive=0
  for p in "${clients[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$camsim_pid/status")
  [[ $threads == 1 ]] || fail "camsim has $threads threads"
  threads_seen=1
  kill -USR1 "$camsim_pid"
  sleep 0.5
  playing=$(grep -o 'playing=[0-9]*' "$tmp/camsim.out" | tail -n 1 | cut -d= -f2)
  ((${playing:-0} > max_playing)) && max_playing=$playing
  ((alive)) || break
done
for i in "${!clients[@]}"; do
  wait "${clients[$i]}" || { cat "$tmp/client$i.log"; fail "ffmpeg client $i with 40 inputs failed"; }
done
# Tolerated: ffmpeg's own advice about probing and its input threads.
if grep -hv -e 'not enough frames to estimate rate' -e 'thread_queue_size' "$tmp"/client*.log |
  head -n 5 | grep .; then
  fail "ffmpeg clients complained (above)"
fi
[[ -n $threads_seen ]] || fail "never looked at camsim's threads"
((max_playing >= 200)) || fail "at most $max_playing sessions played at once, wanted 200"
pass "200 streams at once to 5 ffmpeg clients, camsim on 1 thread"

# --- session log and shutdown -----------------------------------------------------
for ev in setup play teardown closed; do
  grep -Eq "^[0-9T:.-]+Z [0-9A-F]{16} cam0 127\.0\.0\.1:[0-9]+ $ev\$" "$tmp/sessions.log" ||
    fail "session log has no '$ev' line for cam0"
done
pass "session log: setup, play, teardown, closed"

kill -TERM "$camsim_pid"
rc=0
wait "$camsim_pid" || rc=$?
pids=()
((rc == 0)) || fail "camsim exited $rc on SIGTERM"
grep -q 'shutting down' "$tmp/camsim.out" || fail "no shutdown message"
grep -q 'handles left open' "$tmp/camsim.out" && fail "camsim left handles open"
pass "SIGTERM: clean exit"
tail -n 2 "$tmp/camsim.out"
