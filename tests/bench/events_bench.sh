#!/usr/bin/env bash
# events_bench.sh — the sustained durable event rate of the event writer
# (journal with group commit, batched idempotent inserts into the
# partitioned events table) against PostgreSQL's COPY of the same number of
# rows into the same table, in one run; prints the ratio (issue 5 target:
# at least 0.5 of COPY) and the writer's accept-to-commit p50/p99.
#
#   tests/harness/with-pg tests/bench/events_bench.sh [BUILD_DIR]
#
# BUILD_DIR defaults to build (or set EV_LOAD). EVENTS (200000), RATE
# (events a second offered to the writer, 200000) and BATCH (events per
# batch, the writer's default) tune it. The writer's rate counts from the
# first event offered until PostgreSQL has committed the last, so a writer
# that falls behind pays for its backlog; it can never pass RATE, so RATE
# must be well above it for the ratio to measure the writer (the script
# says so when it is not). The machine's other load moves both numbers;
# run it a few times.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=${1:-$root/build}
EV_LOAD=${EV_LOAD:-$build/tests/event_writer/ev_load}
CWCTL=${CWCTL:-$build/ops-console/cwctl}
export RATE EVENTS
EVENTS=${EVENTS:-200000}
RATE=${RATE:-200000}
: "${PGDATABASE:?run this under tests/harness/with-pg}"
[ -x "$EV_LOAD" ] || { echo "events_bench: no ev_load at $EV_LOAD (build first)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cw-evbench.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }
now_ns() { date +%s%N; }

"$CWCTL" db migrate >/dev/null
seconds=$(((EVENTS + RATE - 1) / RATE))

# --- the writer ---------------------------------------------------------------
t0=$(now_ns)
"$EV_LOAD" --journal "$tmp/journal" --run 1 --rate "$RATE" --seconds "$seconds" --drain 600 \
  ${BATCH:+--batch "$BATCH"} \
  >"$tmp/load.out" 2>"$tmp/load.err"
t1=$(now_ns)
read -r _ submitted _ accepted _ committed _ inserted _ _ _ refused _ < <(tail -1 "$tmp/load.out")
latency=$(grep '^commit latency' "$tmp/load.out")
stored=$(q "SELECT count(*) FROM events WHERE id::text LIKE '00000000-0001-%'")
[ "$stored" = "$accepted" ] || { echo "events_bench: $accepted accepted but $stored stored" >&2; exit 1; }

# --- COPY of as many rows -------------------------------------------------------
python3 - "$committed" "$tmp/copy.csv" <<'PY'
import datetime, sys
n, path = int(sys.argv[1]), sys.argv[2]
t = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00")
with open(path, "w") as f:
    for i in range(n):
        f.write('00000000-0002-4000-8000-%012x,%d,load-node,traffic.count,info,%s,"{""line"":""north"",""count"":3}"\n'
                % (i, 1 + i % 50, t))
PY
t2=$(now_ns)
q "\\copy events (id, camera_id, node, kind, severity, start_time, attributes) FROM '$tmp/copy.csv' WITH (FORMAT csv)"
t3=$(now_ns)

awk -v n="$committed" -v offered="$submitted" -v ref="$refused" -v w="$((t1 - t0))" -v c="$((t3 - t2))" \
  -v lat="$latency" 'BEGIN {
  ws = w / 1e9; cs = c / 1e9
  printf "events benchmark: %d events (%d offered at %s/s, %d refused), one run\n", n, offered, ENVIRON["RATE"], ref
  printf "  event writer (journal + batched insert)  %8.2f s  %9.0f events/s\n", ws, n / ws
  printf "  COPY of as many rows                     %8.2f s  %9.0f rows/s\n", cs, n / cs
  printf "  writer/COPY = %.2f (target >= 0.5)  %s\n", (n / ws) / (n / cs), ((n / ws) / (n / cs) >= 0.5 ? "PASS" : "MISS")
  printf "  %s (accepted = journal synced, committed = PostgreSQL acknowledged)\n", lat
  if (n / ws >= 0.9 * ENVIRON["RATE"])
    printf "  note: the writer kept up with the %s/s offered; raise RATE to measure its ceiling\n", ENVIRON["RATE"]
}'
