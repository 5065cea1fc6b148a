#!/usr/bin/env bash
# cwctl db migrate: applies every migration once, is a no-op the second
# time, is safe to run concurrently, and refuses a database whose recorded
# migrations do not match this build (changed file, newer database).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"
sql_dir=$here/../../storage/sql

# The rows schema_migrations must hold: one per storage/sql/NNN_name.sql,
# with the file's SHA-256.
expected_rows=
for f in "$sql_dir"/[0-9][0-9][0-9]_*.sql; do
  base=$(basename "$f")
  expected_rows+="$((10#${base%%_*}))|$base|$(sha256sum "$f" | cut -d' ' -f1)"$'\n'
done
expected_rows=${expected_rows%$'\n'}
n_migrations=$(printf '%s\n' "$expected_rows" | wc -l)
last_name=$(printf '%s\n' "$expected_rows" | tail -n 1 | cut -d'|' -f2)
migration_rows() { sql 'SELECT version, name, sha256 FROM schema_migrations ORDER BY version'; }

# --- first run applies everything, second run is a no-op ------------------
expect_ok "$CWCTL" db migrate
expect_stdout_contains "applied $n_migrations migration"
expect_eq "schema_migrations after the first migrate" "$expected_rows" "$(migration_rows)"
first_applied_at=$(sql "SELECT string_agg(applied_at::text, ' ') FROM schema_migrations")

expect_ok "$CWCTL" db migrate
expect_stdout_contains "up to date"
expect_stdout_contains "$last_name"
expect_eq "schema_migrations after the second migrate" "$expected_rows" "$(migration_rows)"
expect_eq "applied_at untouched by the second migrate" "$first_applied_at" \
  "$(sql "SELECT string_agg(applied_at::text, ' ') FROM schema_migrations")"
expect_eq "applied_by names the OS user" "t" \
  "$(sql "SELECT bool_and(applied_by LIKE 'cli:%') FROM schema_migrations")"

for t in schema_migrations cameras users sessions audit_log; do
  expect_eq "table $t exists" "t" "$(sql "SELECT to_regclass('public.$t') IS NOT NULL")"
done

# --- three migrators at once on an empty database --------------------------
sql 'DROP SCHEMA public CASCADE; CREATE SCHEMA public' >/dev/null
expect_eq "database emptied" "0" \
  "$(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
pids=()
for i in 1 2 3; do
  "$CWCTL" db migrate >"$CW_TMP/par$i.out" 2>"$CW_TMP/par$i.err" &
  pids+=($!)
done
for i in 1 2 3; do
  RC=0
  wait "${pids[$((i - 1))]}" || RC=$?
  OUT=$(cat "$CW_TMP/par$i.out") ERR=$(cat "$CW_TMP/par$i.err")
  LAST_CMD="$CWCTL db migrate (parallel run $i of 3)"
  [ "$RC" = 0 ] || fail "expected every one of three concurrent migrates to exit 0"
  _cw_pass
done
applied_total=$(cat "$CW_TMP"/par*.out | grep -c '^applied' || true)
expect_eq "concurrent migrates: how many applied something" "1" "$applied_total"
expect_eq "schema_migrations after concurrent migrates" "$expected_rows" "$(migration_rows)"

# --- a migration changed after it was applied -----------------------------
first_name=$(printf '%s\n' "$expected_rows" | head -n 1 | cut -d'|' -f2)
sql "UPDATE schema_migrations SET sha256 = 'x' WHERE version = 1" >/dev/null
expect_fail 1 "$first_name" "$CWCTL" db migrate
expect_stderr_contains "checksum"
if [ -n "${CITYWATCHD:-}" ]; then
  expect_fail 1 "$first_name" "$CITYWATCHD" --check
fi
sql "UPDATE schema_migrations SET sha256 = '$(sha256sum "$sql_dir/$first_name" | cut -d' ' -f1)'
     WHERE version = 1" >/dev/null
expect_ok "$CWCTL" db migrate
expect_stdout_contains "up to date"

# --- a database newer than this build --------------------------------------
newer=$((n_migrations + 1))
sql "INSERT INTO schema_migrations (version, name, sha256, applied_by)
     VALUES ($newer, 'from_the_future.sql', 'f00d', 'test')" >/dev/null
expect_fail 1 "newer than this build" "$CWCTL" db migrate
expect_stderr_contains "from_the_future.sql"
if [ -n "${CITYWATCHD:-}" ]; then
  expect_fail 1 "newer than this build" "$CITYWATCHD" --check
fi
# Nothing was changed by the refused run.
expect_eq "rows after the refused migrate" \
  "$expected_rows"$'\n'"$newer|from_the_future.sql|f00d" "$(migration_rows)"

done_ok
