#!/usr/bin/env bash
# citywatchd refuses a database that is behind (saying what to run), refuses
# a bad configuration file (naming file, section and key), and runs until
# SIGTERM, then exits 0.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"
: "${CITYWATCHD:?CITYWATCHD must name the citywatchd program (meson sets it)}"

# --- empty database --------------------------------------------------------
expect_fail 1 "cwctl db migrate" "$CITYWATCHD" --check
expect_eq "no tables created by the refused start" "0" \
  "$(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"

# --- migrated --------------------------------------------------------------
expect_ok "$CWCTL" db migrate
expect_ok "$CITYWATCHD" --check
expect_stderr_contains "schema at migration"
expect_ok "$CITYWATCHD" --check --node test-node-1
expect_stderr_contains "test-node-1"

# --- behind: the newest migration's row is missing -------------------------
last=$(sql 'SELECT max(version) FROM schema_migrations')
saved=$(sql "SELECT format('(%s, %L, %L, %L)', version, name, sha256, applied_by)
             FROM schema_migrations WHERE version = $last")
sql "DELETE FROM schema_migrations WHERE version = $last" >/dev/null
expect_fail 1 "cwctl db migrate" "$CITYWATCHD" --check
sql "INSERT INTO schema_migrations (version, name, sha256, applied_by) VALUES $saved" >/dev/null
expect_ok "$CITYWATCHD" --check

# --- configuration errors --------------------------------------------------
conf=$CW_TMP/bad-key.conf
printf '# a comment\n[database]\nconninfo =\n\n[log]\nlevle = debug\n' >"$conf"
expect_fail 1 "$conf:6: [log] levle:" "$CITYWATCHD" -c "$conf" --check
expect_stderr_contains "unknown key"

conf=$CW_TMP/bad-section.conf
printf '[database]\nconninfo =\n[camera]\nurl = rtsp://h/\n' >"$conf"
expect_fail 1 "$conf:3: [camera]" "$CITYWATCHD" -c "$conf" --check
expect_stderr_contains "unknown section"

conf=$CW_TMP/bad-type.conf
printf '[log]\nlevel = loud\n' >"$conf"
expect_fail 1 "$conf:2: [log] level:" "$CITYWATCHD" -c "$conf" --check

expect_fail 1 "$CW_TMP/missing.conf" "$CITYWATCHD" -c "$CW_TMP/missing.conf" --check
expect_fail 2 "unexpected argument" "$CITYWATCHD" --check extra-word

# --- a good config file, and [database] conninfo from it -------------------
conf=$CW_TMP/good.conf
printf '[database]\nconninfo = host=%s port=%s user=%s dbname=%s\n[log]\nlevel = debug\n[node]\nname = from-config\n' \
  "$PGHOST" "$PGPORT" "$PGUSER" "$PGDATABASE" >"$conf"
expect_ok env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$CITYWATCHD" -c "$conf" --check
expect_stderr_contains "from-config"

# --- runs until SIGTERM ----------------------------------------------------
log=$CW_TMP/daemon.log
printf '[recording]\nroot = %s/footage\n[events]\njournal_dir = %s/events\nsnapshot_dir = %s/snapshots\n' "$CW_TMP" "$CW_TMP" "$CW_TMP" \
  >"$CW_TMP/run.conf"
"$CITYWATCHD" -c "$CW_TMP/run.conf" --node sigterm-node >"$log" 2>&1 &
pid=$!
running=0
for _ in $(seq 1 100); do
  if grep -q "running" "$log"; then
    running=1
    break
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
LAST_CMD="$CITYWATCHD --node sigterm-node (in the background)"
OUT=$(cat "$log") ERR=
if [ "$running" != 1 ]; then
  kill -KILL "$pid" 2>/dev/null || true
  fail "expected a 'running' log line within 10 s"
fi
_cw_pass
kill -0 "$pid" 2>/dev/null || fail "citywatchd exited on its own after logging 'running'"
_cw_pass
kill -TERM "$pid"
RC=0
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  fail "citywatchd still running 10 s after SIGTERM"
fi
wait "$pid" || RC=$?
OUT=$(cat "$log")
cat "$log" >>"$CW_ALL_OUTPUT"
[ "$RC" = 0 ] || fail "expected citywatchd to exit 0 after SIGTERM"
_cw_pass
expect_stdout_contains "shutting down"

done_ok
