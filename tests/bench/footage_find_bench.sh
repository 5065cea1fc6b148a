#!/usr/bin/env bash
# footage_find_bench.sh — how fast `cwctl footage find` answers on an index of
# 10 million segment rows (issue 4, item 5), against baselines timed in the
# same run.
#
#   tests/harness/with-pg tests/bench/footage_find_bench.sh [BUILD_DIR]
#
# BUILD_DIR defaults to build (or set CWCTL to the program). Knobs: CAMERAS
# (1000) x SEGMENTS (10000 one-minute segments each: ~6.9 days, 7 day
# partitions), LOOKUPS (200), SEQ_LOOKUPS (20), SEED (1). A benchmark, not a
# test: it fails only when something does not work at all.
#
# The index is made server-side (generate_series), one INSERT per day
# partition, then ANALYZE. About 1% of segments end 10 s early, so finds
# also compute gaps. Then, for LOOKUPS random (camera, 1-hour window) pairs:
#   find        `cwctl footage find --json`, wall time per command
#   server      the same finds, the statement's own time as auto_explain
#               reports it (no process start, no connection)
#   status      `cwctl status`, a trivial one-query command: what any
#               cwctl command costs (process start, config, connect)
#   no index    the find with index scans off (PGOPTIONS), SEQ_LOOKUPS of
#               them: what the primary key's index buys
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=${1:-$root/build}
CWCTL=${CWCTL:-$build/ops-console/cwctl}
CAMERAS=${CAMERAS:-1000}
SEGMENTS=${SEGMENTS:-10000}
LOOKUPS=${LOOKUPS:-200}
SEQ_LOOKUPS=${SEQ_LOOKUPS:-20}
SEED=${SEED:-1}
: "${PGDATABASE:?run this under tests/harness/with-pg}"
[ -x "$CWCTL" ] || {
  echo "footage_find_bench: no cwctl at $CWCTL (build first, or set CWCTL)" >&2
  exit 1
}

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }
now_ns() { date +%s%N; }
t0_iso=2026-01-05T00:00:00Z

"$CWCTL" db migrate >/dev/null
q "INSERT INTO cameras (name, url)
   SELECT 'bench-' || i, 'rtsp://10.9.' || (i >> 8) || '.' || (i & 255) || '/s'
   FROM generate_series(1, $CAMERAS) i" >/dev/null

echo "building the index: $CAMERAS cameras x $SEGMENTS one-minute segments ..." >&2
start=$(now_ns)
days=$(( (SEGMENTS + 1439) / 1440 ))
for d in $(seq 0 $((days - 1))); do
  q "SELECT segments_partition_ensure(('$t0_iso'::timestamptz AT TIME ZONE 'UTC')::date + $d)" \
    >/dev/null
  # Minutes [d*1440, (d+1)*1440) of every camera, in key order.
  q "INSERT INTO segments (camera_id, start_time, end_time, node, path, bytes, codec, width,
                           height)
     SELECT c, t, t + CASE WHEN (c * 7919 + m) % 97 = 0 THEN interval '50 s'
                           ELSE interval '60 s' END,
            'node-' || (c % 4),
            c || '/' || to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD/HH24') || '/' || c || '-' ||
              to_char(t AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS') || '.000Z.mp4',
            7000000 + (c * 31 + m) % 1000000, 'h264', 1920, 1080
     FROM generate_series(1, $CAMERAS) c,
          generate_series($((d * 1440)), $(( (d + 1) * 1440 < SEGMENTS ? (d + 1) * 1440 - 1 : SEGMENTS - 1 ))) m,
          LATERAL (SELECT '$t0_iso'::timestamptz + m * interval '1 minute' AS t) x" >/dev/null
  echo "  day $((d + 1)) of $days" >&2
done
q "ANALYZE segments" >/dev/null
built=$(now_ns)
rows=$(q "SELECT count(*) FROM segments")
parts=$(q "SELECT count(*) FROM pg_inherits WHERE inhparent = 'segments'::regclass")
size=$(q "SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid)))
          FROM pg_inherits WHERE inhparent = 'segments'::regclass")
[ "$rows" = $((CAMERAS * SEGMENTS)) ] || {
  echo "footage_find_bench: expected $((CAMERAS * SEGMENTS)) rows, have $rows" >&2
  exit 1
}

python3 - "$CWCTL" "$CAMERAS" "$SEGMENTS" "$LOOKUPS" "$SEQ_LOOKUPS" "$SEED" "$t0_iso" \
  "$rows" "$parts" "$size" "$(( (built - start) / 1000000 ))" <<'PY'
import datetime, json, os, random, re, statistics, subprocess, sys, time

(cwctl, cameras, segments, lookups, seq_lookups, seed, t0_iso, rows, parts, size,
 build_ms) = sys.argv[1:]
cameras, segments, lookups, seq_lookups = int(cameras), int(segments), int(lookups), int(seq_lookups)
rng = random.Random(int(seed))
t0 = datetime.datetime.fromisoformat(t0_iso.replace("Z", "+00:00"))
span_min = segments - 60

def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")

queries = []
for _ in range(lookups):
    start = t0 + datetime.timedelta(minutes=rng.randrange(span_min), seconds=rng.randrange(60))
    queries.append((rng.randrange(1, cameras + 1), iso(start), iso(start + datetime.timedelta(hours=1))))

def find_args(q):
    cam, frm, to = q
    return [cwctl, "footage", "find", "--camera", str(cam), "--from", frm, "--to", to, "--json"]

def timed(args, env=None):
    t = time.perf_counter()
    p = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ms = (time.perf_counter() - t) * 1000
    if p.returncode != 0:
        sys.exit("footage_find_bench: %s failed: %s" % (" ".join(args), p.stderr.decode()))
    return ms, p

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))]

# Warm the cache the way a running system would be, then measure.
for q in queries[:20]:
    timed(find_args(q))

find_ms, segs, gaps = [], [], []
for q in queries:
    ms, p = timed(find_args(q))
    d = json.loads(p.stdout)
    find_ms.append(ms)
    segs.append(len(d["segments"]))
    gaps.append(len(d["gaps"]))

status_ms = [timed([cwctl, "status"])[0] for _ in range(lookups)]

# The statement alone: auto_explain hands its duration (and, once, its
# plan) back as a notice on stderr.
env = dict(os.environ)
env["PGOPTIONS"] = ("-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0"
                    " -c auto_explain.log_level=notice")
server_ms, plan = [], None
for q in queries:
    _, p = timed(find_args(q), env)
    err = p.stderr.decode()
    m = [float(x) for x in re.findall(r"duration: ([0-9.]+) ms\s+plan:\s*Query Text: SELECT s\.camera_id", err)]
    if not m:
        sys.exit("footage_find_bench: no auto_explain duration in: %s" % err[:2000])
    server_ms.append(m[0])
    if plan is None:
        plan = err

seq_env = dict(os.environ)
seq_env["PGOPTIONS"] = "-c enable_indexscan=off -c enable_bitmapscan=off -c enable_indexonlyscan=off"
seq_ms = [timed(find_args(q), seq_env)[0] for q in queries[:seq_lookups]]

print("footage find benchmark: %s segment rows (%d cameras x %d), %s day partitions, %s on disk;"
      " built in %.1f s" % (format(int(rows), ","), cameras, segments, parts, size,
                            int(build_ms) / 1000))
print("lookups: %d random (camera, 1-hour window); %.1f segments and %.2f gaps each on average"
      % (lookups, statistics.mean(segs), statistics.mean(gaps)))
print()
print("%-44s %6s %9s %9s" % ("", "runs", "p50 ms", "p99 ms"))
rowfmt = "%-44s %6d %9.2f %9.2f"
print(rowfmt % ("cwctl footage find --json (wall)", len(find_ms), pct(find_ms, 50), pct(find_ms, 99)))
print(rowfmt % ("  its statement in the server (auto_explain)", len(server_ms), pct(server_ms, 50),
                pct(server_ms, 99)))
print(rowfmt % ("cwctl status (wall, baseline)", len(status_ms), pct(status_ms, 50), pct(status_ms, 99)))
print(rowfmt % ("cwctl footage find, index scans off (wall)", len(seq_ms), pct(seq_ms, 50),
                pct(seq_ms, 99)))
print()
print("find / status (p50)          = %.2fx" % (pct(find_ms, 50) / pct(status_ms, 50)))
print("find - status (p50)          = %.2f ms" % (pct(find_ms, 50) - pct(status_ms, 50)))
print("no index / find (p50)        = %.1fx" % (pct(seq_ms, 50) / pct(find_ms, 50)))
print()
print("plan of the first lookup:")
for line in plan.splitlines():
    if line.strip():
        print("  " + line)
PY
