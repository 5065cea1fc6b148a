#!/usr/bin/env bash
# import_bench.sh — how fast `cwctl camera import` onboards 10,000 cameras,
# measured against PostgreSQL's own COPY of the same rows into the same table.
#
#   tests/harness/with-pg tests/bench/import_bench.sh [BUILD_DIR]
#
# BUILD_DIR defaults to build (or set CWCTL to the program). ROWS (10000) and
# REPEAT (3) tune it. A benchmark, not a test: it fails only when something
# does not work at all, and prints the times, never judges them.
#
# Both sides start from an empty, migrated cameras table (TRUNCATE between
# runs) and the best of REPEAT runs counts. The comparison is deliberately
# unfair to cwctl: it validates every field, seals passwords (libsodium),
# checks names against the table and writes one audit_log row per camera,
# all in one transaction; COPY just loads text into columns.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=${1:-$root/build}
CWCTL=${CWCTL:-$build/ops-console/cwctl}
ROWS=${ROWS:-10000}
REPEAT=${REPEAT:-3}
: "${PGDATABASE:?run this under tests/harness/with-pg}"
[ -x "$CWCTL" ] || { echo "import_bench: no cwctl at $CWCTL (build first, or set CWCTL)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cw-bench.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
export CITYWATCH_KEY_FILE=$tmp/credential.key

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }
now_ns() { date +%s%N; }

# The same cameras twice: cwctl's CSV (with passwords, tags "a,b") and the
# COPY input (no password column, tags as an array literal).
python3 - "$ROWS" "$tmp/cameras.csv" "$tmp/copy.csv" <<'PY'
import csv, sys
rows, cw_path, copy_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
dirs = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
with open(cw_path, "w", newline="") as cw, open(copy_path, "w", newline="") as cp:
    a, b = csv.writer(cw), csv.writer(cp)
    a.writerow(["name", "url", "username", "password", "lat", "lon", "road", "direction", "tags"])
    b.writerow(["name", "url", "username", "lat", "lon", "road", "direction", "tags"])
    for i in range(1, rows + 1):
        url = "rtsp://10.%d.%d.%d:554/Streaming/Channels/101" % (i >> 16, (i >> 8) & 255, i & 255)
        user, pw = ("admin", "cam-pw-%06d" % i) if i % 3 == 0 else ("", "")
        lat, lon = "%.6f" % (52.3 + (i % 1000) / 5000.0), "%.6f" % (13.1 + (i // 1000) / 50.0)
        road, d = "Ring Road %d, km %d" % (i % 40, i % 17), dirs[i % 8]
        tags = ["district%d" % (i % 12), "ptz" if i % 2 else "fixed"]
        a.writerow(["cam-%06d" % i, url, user, pw, lat, lon, road, d, ",".join(tags)])
        b.writerow(["cam-%06d" % i, url, user or None, lat, lon, road, d,
                    "{%s}" % ",".join(sorted(tags))])
PY
with_pw=$(awk -F, 'NR > 1 && $4 != ""' "$tmp/cameras.csv" | wc -l)

"$CWCTL" db migrate >/dev/null

best_import='' best_copy=''
for run in $(seq 1 "$REPEAT"); do
  q 'TRUNCATE cameras CASCADE' >/dev/null
  t0=$(now_ns)
  "$CWCTL" camera import "$tmp/cameras.csv" >/dev/null
  t1=$(now_ns)
  [ "$(q 'SELECT count(*) FROM cameras')" = "$ROWS" ] || { echo "import_bench: cwctl imported the wrong number of rows" >&2; exit 1; }
  q 'TRUNCATE cameras CASCADE' >/dev/null
  t2=$(now_ns)
  psql -X -q -v ON_ERROR_STOP=1 \
    -c "\\copy cameras (name, url, username, lat, lon, road, direction, tags) FROM '$tmp/copy.csv' CSV HEADER"
  t3=$(now_ns)
  [ "$(q 'SELECT count(*) FROM cameras')" = "$ROWS" ] || { echo "import_bench: COPY loaded the wrong number of rows" >&2; exit 1; }
  imp=$((t1 - t0)) cp=$((t3 - t2))
  awk -v r="$run" -v a="$imp" -v b="$cp" \
    'BEGIN { printf "run %d: cwctl camera import %.3f s, COPY %.3f s\n", r, a / 1e9, b / 1e9 }'
  if [ -z "$best_import" ] || [ "$imp" -lt "$best_import" ]; then best_import=$imp; fi
  if [ -z "$best_copy" ] || [ "$cp" -lt "$best_copy" ]; then best_copy=$cp; fi
done

python3 - "$ROWS" "$with_pw" "$best_import" "$best_copy" "$REPEAT" <<'PY'
import sys
rows, with_pw, imp, cp, rep = (int(x) for x in sys.argv[1:])
imp_s, cp_s = imp / 1e9, cp / 1e9
print("rows: %d (%d with a password); best of %d runs" % (rows, with_pw, rep))
print("cwctl camera import: %8.3f s  %9.0f rows/s" % (imp_s, rows / imp_s))
print("COPY (psql \\copy):   %8.3f s  %9.0f rows/s" % (cp_s, rows / cp_s))
print("import/COPY = %.1fx" % (imp_s / cp_s))
PY
