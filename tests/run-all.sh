#!/usr/bin/env bash
# tests/run-all.sh — the project's one test command (README, .ci/run).
#
#   bash tests/run-all.sh [MESON TEST ARGS...]   e.g. --suite harness
#
# Installs missing packages, builds into build-test/ with AddressSanitizer
# and UBSan, starts one shared PostgreSQL cluster for the whole run (each test
# gets a fresh database of it through tests/harness/with-pg), runs meson
# test, and ends with the line
#   tests: N passed, M failed[, K skipped]
# Exits non-zero if a test failed or none ran.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"
# shellcheck source=tests/harness/bootstrap.sh
. tests/harness/bootstrap.sh
# shellcheck source=tests/harness/pg.sh
. tests/harness/pg.sh

cw_ensure_packages

# b_lundef=false: the sanitizer runtimes leave symbols undefined in shared
# objects on purpose.
cw_meson_setup build-test -Db_sanitize=address,undefined -Db_lundef=false
if ! meson compile -C build-test; then
  echo "run-all: the build failed; no test ran" >&2
  exit 1
fi

pg_dir=$(mktemp -d /tmp/cw-test-pg.XXXXXX)
meson_pid=
# shellcheck disable=SC2317  # reached through trap only
stop_pg() { cw_pg_stop "$pg_dir" || true; }
# shellcheck disable=SC2317
on_signal() {
  trap '' INT TERM HUP
  # meson test stops its tests when told to; wait for that before the
  # cluster they use goes away.
  if [ -n "$meson_pid" ]; then
    kill -TERM "$meson_pid" 2>/dev/null || true
    wait "$meson_pid" 2>/dev/null || true
  fi
  stop_pg
  trap - EXIT
  exit "$1"
}
trap stop_pg EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP
cw_pg_start "$pg_dir"
export CW_TEST_PGHOST=$PGHOST CW_TEST_PGPORT=$PGPORT CW_TEST_PGUSER=$PGUSER
# Only with-pg hands out a database: a test that forgot it must fail to
# connect, not quietly share the maintenance database with every other test.
unset PGHOST PGPORT PGUSER PGDATABASE

# Leaks fail the test, like any other sanitizer finding; abort_on_error makes
# ASan findings a crash meson reports, halt_on_error makes UBSan's fatal.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
# Known leaks that are not ours are listed, with the reason, in lsan.supp;
# the slow unwinder lets LSan see that they start in a library constructor.
export LSAN_OPTIONS="suppressions=$PWD/tests/harness/lsan.supp:fast_unwind_on_malloc=0"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# A stale log from an earlier run must not be counted if meson dies early.
testlog=build-test/meson-logs/testlog.json
rm -f "$testlog"
status=0
# In the background so that a signal reaches on_signal at once rather than
# when the whole test run is over; "<&0" keeps stdin (else /dev/null).
meson test -C build-test --print-errorlogs --num-processes 2 "$@" <&0 &
meson_pid=$!
wait "$meson_pid" || status=$?
meson_pid=

stop_pg
# One line per test; EXPECTEDFAIL is a pass (the test says so), anything but
# OK, EXPECTEDFAIL and SKIP (FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS) a failure.
# /usr/bin/python3 (meson's own) rather than whatever python3 PATH finds first.
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
counts=$("$py" - "$testlog" <<'PY'
import json, sys
passed = failed = skipped = 0
try:
    lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
except FileNotFoundError:
    lines = []
for line in lines:
    if not line.strip():
        continue
    result = json.loads(line).get("result")
    if result in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif result == "SKIP":
        skipped += 1
    else:
        failed += 1
print(passed, failed, skipped)
PY
) || { echo "run-all: cannot read $testlog" >&2; exit 1; }
read -r passed failed skipped <<<"$counts"

# Every fuzz target also runs under libFuzzer for a bounded time (the replay
# of its corpus is already among the meson tests): one test per target.
# CW_FUZZ_SECONDS=0 skips this; a run of chosen meson suites skips it too.
fuzz_secs=${CW_FUZZ_SECONDS:-15}
if [ "$fuzz_secs" -gt 0 ] && [ $# -eq 0 ]; then
  fuzz_out=$(mktemp /tmp/cw-fuzz-run.XXXXXX)
  # A fixed seed: every run explores the same inputs first, so a result
  # here is one a developer can reproduce (and a longer local run with the
  # same seed covers what CI will try).
  CW_FUZZ_ARGS=${CW_FUZZ_ARGS:--seed=1} bash tests/fuzz/run.sh "$fuzz_secs" >"$fuzz_out" 2>&1 || true
  cat "$fuzz_out"
  fuzz_ok=$(grep -c 'nothing found$' "$fuzz_out" || true)
  fuzz_bad=$(grep -c ' FOUND ' "$fuzz_out" || true)
  if [ $((fuzz_ok + fuzz_bad)) -eq 0 ]; then
    echo "run-all: the fuzzers did not run" >&2
    fuzz_bad=1
  fi
  passed=$((passed + fuzz_ok))
  failed=$((failed + fuzz_bad))
  rm -f "$fuzz_out"
fi

summary="tests: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary+=", $skipped skipped"
if [ $((passed + failed)) -eq 0 ]; then
  echo "run-all: no test ran" >&2
  status=1
fi
[ "$failed" -eq 0 ] || status=1
echo "$summary"
exit "$status"
