#!/usr/bin/env bash
# ingest_bench.sh — what citywatchd costs per camera, measured against one
# `ffmpeg -rtsp_transport tcp -i URL -c copy -f null -` process per camera
# pulling the same simulated streams in the same run.
#
#   tests/harness/with-pg tests/bench/ingest_bench.sh [BUILD_DIR] [N] [M]
#
# BUILD_DIR defaults to build (or set CWCTL, CITYWATCHD, CAMSIM). N (1000)
# cameras go to citywatchd, M (20) to as many ffmpeg processes. Knobs:
# BENCH_SECONDS (60) the measuring window, BENCH_WAIT (180) how long N
# cameras may take to reach playing, CLIP_SECONDS (10). A benchmark, not a
# test: it fails only when something does not work at all, prints the
# numbers and the issue's targets with PASS/MISS, never exits 1 on a miss.
#
# One camsim serves N mounts of a 1 Mbit/s 640x360 25 fps H.264 clip. First
# citywatchd (workers = 2) runs with no camera for a baseline RSS, then the
# N cameras are imported and it picks them up without a restart; once every
# one reports playing in camera_health the window starts: CPU is utime+stime
# from /proc/PID/stat (all threads), RSS is VmRSS at the window's end, minus
# the baseline, over N. citywatchd then stops, and M ffmpeg processes pull
# cam0..camM-1 for a window of the same length, each measured the same way
# (the whole RSS of each counts: that is what a process per camera costs).
# The two windows do not overlap, so neither steals the other's cores.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=${1:-$root/build}
N=${2:-1000}
M=${3:-20}
CWCTL=${CWCTL:-$build/ops-console/cwctl}
CITYWATCHD=${CITYWATCHD:-$build/daemon/citywatchd}
CAMSIM=${CAMSIM:-$build/tests/camsim/camsim}
BENCH_SECONDS=${BENCH_SECONDS:-60}
BENCH_WAIT=${BENCH_WAIT:-180}
CLIP_SECONDS=${CLIP_SECONDS:-10}
: "${PGDATABASE:?run this under tests/harness/with-pg}"
for p in "$CWCTL" "$CITYWATCHD" "$CAMSIM"; do
  [ -x "$p" ] || { echo "ingest_bench: no program at $p (build first)" >&2; exit 1; }
done
command -v ffmpeg >/dev/null || { echo "ingest_bench: ffmpeg is needed" >&2; exit 1; }

# Every socket is a descriptor: citywatchd needs N of them, camsim N + 64.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((N + 256)) ]; then
  echo "ingest_bench: open-file limit $(ulimit -n) is too low for $N cameras" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cw-bench.XXXXXX")
export CITYWATCH_KEY_FILE=$tmp/credential.key
export LC_ALL=C.UTF-8 PSQL_PAGER='' PAGER=cat
camsim_pid='' daemon_pid='' nap_pid='' ff_pids=()
# shellcheck disable=SC2317  # reached through trap only
stop_all() {
  trap '' INT TERM HUP
  # shellcheck disable=SC2086  # unquoted on purpose: a pid not started yet is ''
  stop_pids $nap_pid "${ff_pids[@]}" $daemon_pid $camsim_pid
  rm -rf -- "$tmp"
}
# stop_pids PID...: SIGTERM, then SIGKILL whatever still runs 5 s later.
stop_pids() {
  local p i alive
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for i in $(seq 1 50); do
    alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || break
    [ "$i" = 50 ] && for p in "$@"; do kill -KILL "$p" 2>/dev/null || true; done
    sleep 0.1
  done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }
say() { echo "ingest_bench: $*" >&2; }
# A sleep that a signal cuts short (bash runs traps only between commands).
nap() { sleep "$1" & nap_pid=$!; wait "$nap_pid"; nap_pid=''; }
clk_tck=$(getconf CLK_TCK)
# CPU ticks (utime + stime) of a process; fields after the ")" of comm.
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# camsim's counters, now: SIGUSR1 makes it print one stats line.
camsim_stats() {
  local before
  before=$(grep -c '^camsim stats:' "$tmp/camsim.log" || true)
  kill -USR1 "$camsim_pid"
  for _ in $(seq 1 50); do
    [ "$(grep -c '^camsim stats:' "$tmp/camsim.log" || true)" -gt "$before" ] && break
    sleep 0.1
  done
  grep '^camsim stats:' "$tmp/camsim.log" | tail -1
}
stat_field() { # LINE KEY
  local v
  v=$(sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<"$1")
  echo "${v:-0}"
}

# 1. The clip and the simulator.
say "making a ${CLIP_SECONDS} s 1 Mbit/s 640x360 25 fps H.264 clip"
ffmpeg -v error -nostdin -f lavfi -i "testsrc2=size=640x360:rate=25" -t "$CLIP_SECONDS" \
  -c:v libx264 -b:v 1M -maxrate 1M -bufsize 1M -g 50 -bf 0 -pix_fmt yuv420p \
  -bsf:v h264_mp4toannexb -f h264 "$tmp/clip.h264"
clip_kbps=$(($(stat -c %s "$tmp/clip.h264") * 8 / CLIP_SECONDS / 1000))

"$CAMSIM" --port 0 --mounts "$N" --clip "h264=$tmp/clip.h264" >"$tmp/camsim.log" 2>&1 &
camsim_pid=$!
for _ in $(seq 1 100); do grep -q 'listening' "$tmp/camsim.log" && break; sleep 0.1; done
port=$(sed -n 's|^camsim: listening on rtsp://[^:]*:\([0-9]*\)/.*|\1|p' "$tmp/camsim.log")
[ -n "$port" ] || { cat "$tmp/camsim.log" >&2; say "camsim did not start"; exit 1; }

# 2. citywatchd: a baseline with no camera, then N.
"$CWCTL" db migrate >/dev/null
cat >"$tmp/node.conf" <<CONF
# Ingest alone: recording has its own benchmark (record_bench.sh).
[events]
journal_dir = $tmp/events
snapshot_dir = $tmp/snapshots
[recording]
enabled = false
[node]
name = bench-node
[ingest]
workers = 2
health_interval = 2
CONF
"$CITYWATCHD" -c "$tmp/node.conf" >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
nap 5
kill -0 "$daemon_pid" 2>/dev/null || { cat "$tmp/daemon.log" >&2; say "citywatchd did not start"; exit 1; }
rss_base=$(rss_kib "$daemon_pid")

python3 - "$N" "$port" "$tmp/cameras.csv" <<'PY'
import csv, sys
n, port, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "url", "username", "password", "lat", "lon", "road", "direction", "tags"])
    for i in range(n):
        w.writerow(["bench-%05d" % i, "rtsp://127.0.0.1:%s/cam%d" % (port, i), "", "",
                    "%.6f" % (52.3 + (i % 100) / 500.0), "%.6f" % (13.1 + (i // 100) / 50.0),
                    "Bench Road %d" % (i % 40), "N", "bench"])
PY
say "camsim on port $port; importing $N cameras (citywatchd baseline RSS $rss_base KiB)"
t_import=$(date +%s%N)
"$CWCTL" camera import "$tmp/cameras.csv" >/dev/null

playing=0
deadline=$(($(date +%s) + BENCH_WAIT))
while :; do
  playing=$(q "SELECT count(*) FROM camera_health WHERE state = 'playing'")
  [ "$playing" -ge "$N" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || { tail -30 "$tmp/daemon.log" >&2; say "citywatchd died"; exit 1; }
  [ "$(date +%s)" -lt "$deadline" ] || break
  nap 1
done
ramp_s=$(awk -v a="$t_import" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
if [ "$playing" -lt "$N" ]; then
  say "only $playing of $N cameras playing after ${BENCH_WAIT} s; measuring anyway. States:"
  q "SELECT state, count(*), min(last_error) FROM camera_health GROUP BY 1 ORDER BY 2 DESC" >&2
else
  say "all $N cameras playing ${ramp_s} s after the import; measuring ${BENCH_SECONDS} s"
fi
cw_streams=$playing

s0=$(camsim_stats)
c0=$(ticks "$daemon_pid")
t0=$(date +%s%N)
nap "$BENCH_SECONDS"
c1=$(ticks "$daemon_pid")
t1=$(date +%s%N)
rss_cw=$(rss_kib "$daemon_pid")
s1=$(camsim_stats)
threads_cw=$(awk '/^Threads:/ { print $2 }' "/proc/$daemon_pid/status")
# One more health period, so the counters in the table cover the window.
nap 3
read -r lost damaged aus playing_end < <(q "SELECT coalesce(sum(lost_packets), 0), coalesce(sum(damaged_units), 0),
  coalesce(sum(access_units), 0), count(*) FILTER (WHERE state = 'playing') FROM camera_health" | tr '|' ' ')
reconnects=$(q "SELECT coalesce(sum(reconnects), 0) FROM camera_health")
kill -TERM "$daemon_pid"
wait "$daemon_pid" || say "citywatchd exited with status $?"
daemon_pid=''
cw_window_ns=$((t1 - t0))
drops_cw=$(($(stat_field "$s1" drops) - $(stat_field "$s0" drops)))
frames_cw=$(($(stat_field "$s1" frames) - $(stat_field "$s0" frames)))

# 3. The baseline: one ffmpeg per camera, M of them, over the same kind of window.
say "starting $M ffmpeg processes"
for k in $(seq 0 $((M - 1))); do
  ffmpeg -nostdin -nostats -v error -rtsp_transport tcp -i "rtsp://127.0.0.1:$port/cam$k" \
    -c copy -f null - >"$tmp/ffmpeg$k.log" 2>&1 &
  ff_pids+=($!)
done
for _ in $(seq 1 100); do
  s=$(camsim_stats)
  [ "$(stat_field "$s" playing)" -ge "$M" ] && break
  sleep 0.2
done
nap 3 # past probing, into the steady state
ff_alive() { local p n=0; for p in "${ff_pids[@]}"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done; echo $n; }
sum_ticks() { local p n=0; for p in "${ff_pids[@]}"; do n=$((n + $(ticks "$p"))); done; echo $n; }
sum_rss() { local p n=0; for p in "${ff_pids[@]}"; do n=$((n + $(rss_kib "$p"))); done; echo $n; }
s2=$(camsim_stats)
f0=$(sum_ticks)
t2=$(date +%s%N)
nap "$BENCH_SECONDS"
f1=$(sum_ticks)
t3=$(date +%s%N)
rss_ff=$(sum_rss)
ff_streams=$(ff_alive)
s3=$(camsim_stats)
drops_ff=$(($(stat_field "$s3" drops) - $(stat_field "$s2" drops)))
stop_pids "${ff_pids[@]}"
ff_pids=()
[ "$ff_streams" = "$M" ] || say "only $ff_streams of $M ffmpeg processes lasted the window"

# 4. The table.
python3 - <<PY
N, M = $N, $M
tck = $clk_tck
cw_streams, ff_streams = $cw_streams, $ff_streams
cw_s, ff_s = $cw_window_ns / 1e9, $((t3 - t2)) / 1e9
cw_cpu, ff_cpu = ($c1 - $c0) / tck, ($f1 - $f0) / tck
rss_cw, rss_base, rss_ff = $rss_cw, $rss_base, $rss_ff
lost, damaged, drops_cw, drops_ff = $lost, $damaged, $drops_cw, $drops_ff

def row(name, streams, cpu, secs, rss_kib_per_cam):
    per_min = cpu / (streams * secs / 60.0) if streams else float("nan")
    core = 100.0 * cpu / secs / streams if streams else float("nan")
    mib = rss_kib_per_cam / 1024.0
    print("%-20s %8d %14.4f %14.3f %14.3f" % (name, streams, per_min, core, mib))
    return per_min, mib

print("ingest benchmark: %d cameras to citywatchd (2 workers), %d ffmpeg processes; "
      "clip 640x360 25 fps H.264 at %d kbit/s over RTSP/TCP from camsim"
      % (N, M, $clip_kbps))
print("windows: citywatchd %.1f s, ffmpeg %.1f s; %d of %d cameras playing %.1f s after the import"
      % (cw_s, ff_s, cw_streams, N, float("$ramp_s")))
print()
print("%-20s %8s %14s %14s %14s" % ("", "streams", "CPU s/str-min", "% core/stream", "RSS MiB/cam"))
cw_rss_per = (rss_cw - rss_base) / cw_streams if cw_streams else float("nan")
ff_rss_per = rss_ff / ff_streams if ff_streams else float("nan")
cw_min, cw_mib = row("citywatchd", cw_streams, cw_cpu, cw_s, cw_rss_per)
ff_min, ff_mib = row("ffmpeg-per-camera", ff_streams, ff_cpu, ff_s, ff_rss_per)
print()
print("citywatchd: %.2f CPU s in %.1f s (%.1f%% of a core), RSS %.1f MiB (%.1f MiB with no camera), %d threads"
      % (cw_cpu, cw_s, 100.0 * cw_cpu / cw_s, rss_cw / 1024.0, rss_base / 1024.0, $threads_cw))
print("ffmpeg x %d: %.2f CPU s in %.1f s, RSS %.1f MiB in all" % (ff_streams, ff_cpu, ff_s, rss_ff / 1024.0))
cpu_ratio = ff_min / cw_min if cw_min > 0 else float("inf")
mem_ratio = ff_mib / cw_mib if cw_mib > 0 else float("inf")
def verdict(ok): return "PASS" if ok else "MISS"
print()
print("ffmpeg/citywatchd CPU    = %8.1fx  (target >= 10x)   %s" % (cpu_ratio, verdict(cpu_ratio >= 10)))
print("ffmpeg/citywatchd memory = %8.1fx  (target >= 100x)  %s" % (mem_ratio, verdict(mem_ratio >= 100)))
ok = cw_streams >= N and $playing_end >= N and lost == 0 and damaged == 0 and drops_cw == 0
print("%d streams, none lost to the client:                %s" % (N, verdict(ok)))
print()
print("citywatchd (camera_health, whole run): lost_packets=%d damaged_units=%d access_units=%d "
      "reconnects=%d playing at end=%d" % (lost, damaged, $aus, $reconnects, $playing_end))
print("camsim drops (frames not sent, client too slow): citywatchd window %d of %d frames, "
      "ffmpeg window %d" % (drops_cw, $frames_cw, drops_ff))
PY
