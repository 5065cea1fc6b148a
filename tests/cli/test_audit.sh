#!/usr/bin/env bash
# The audit log: append-only in the database, and `cwctl audit verify`
# finds a row changed or deleted behind the triggers' back, by its id.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"

# Some history: five audited changes.
make_history() {
  expect_ok "$CWCTL" db migrate
  expect_ok "$CWCTL" camera add --name aud-1 --url rtsp://10.6.0.1/s --road "First Road"
  expect_ok "$CWCTL" camera add --name aud-2 --url rtsp://10.6.0.2/s
  expect_ok "$CWCTL" user add aud-admin --role admin <<<"a long enough password"
  expect_ok "$CWCTL" camera rm aud-2
  expect_ok "$CWCTL" camera add --name aud-3 --url rtsp://10.6.0.3/s
  expect_eq "audit rows of the history" "5" "$(sql 'SELECT count(*) FROM audit_log')"
}
# Superuser only: switch the append-only trigger off around one statement.
behind_the_back() {
  sql "BEGIN;
       ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
       $1;
       ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update;
       COMMIT" >/dev/null
}

make_history
expect_ok "$CWCTL" audit verify
expect_stdout_contains "5 rows"
expect_eq "ids run 1..5" "1,2,3,4,5" "$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM audit_log")"
expect_eq "each row chains to the one before" "t" "$(sql "
  SELECT bool_and(a.prev_hash = b.hash) FROM audit_log a JOIN audit_log b ON b.id = a.id - 1")"

# --- the database refuses changes ------------------------------------------------
sql_fails "append-only" "UPDATE audit_log SET actor = 'someone else' WHERE id = 2"
sql_fails "append-only" "UPDATE audit_log SET after = '{}'"
sql_fails "append-only" "DELETE FROM audit_log WHERE id = 3"
sql_fails "append-only" "DELETE FROM audit_log"
sql_fails "append-only" "TRUNCATE audit_log"
# A forged hash on insert is replaced by the chained one.
sql "INSERT INTO audit_log (actor, action, object, prev_hash, hash, id, at)
     VALUES ('forger', 'camera.add', 'camera:x', '\\x00', '\\x00', 1, '2000-01-01')" >/dev/null
expect_eq "forged insert got the next id, a real time and a chained hash" "6|t|t" "$(sql "
  SELECT id, at > now() - interval '1 hour',
         prev_hash = (SELECT hash FROM audit_log WHERE id = 5)
  FROM audit_log WHERE actor = 'forger'")"
expect_ok "$CWCTL" audit verify
expect_stdout_contains "6 rows"

# --- a row edited behind the trigger's back ---------------------------------------
behind_the_back "UPDATE audit_log SET after = jsonb_set(after, '{road}', '\"Forged Road\"') WHERE id = 1"
expect_eq "the edit went through" "Forged Road" "$(sql "SELECT after->>'road' FROM audit_log WHERE id = 1")"
sql_fails "append-only" "UPDATE audit_log SET actor = 'x' WHERE id = 1"   # trigger is back
expect_fail 1 "audit_log row 1" "$CWCTL" audit verify
expect_stderr_contains "changed"

behind_the_back "UPDATE audit_log SET after = jsonb_set(after, '{road}', '\"First Road\"') WHERE id = 1"
expect_ok "$CWCTL" audit verify   # restored exactly: intact again
behind_the_back "UPDATE audit_log SET actor = 'cli:someone-else' WHERE id = 4"
expect_fail 1 "audit_log row 4" "$CWCTL" audit verify
behind_the_back "UPDATE audit_log SET action = 'camera.add' WHERE id = 4"
expect_fail 1 "audit_log row 4" "$CWCTL" audit verify

# --- a fresh database: delete a middle row ----------------------------------------
sql 'DROP SCHEMA public CASCADE; CREATE SCHEMA public' >/dev/null 2>&1
expect_eq "schema emptied" "0" "$(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
make_history
expect_ok "$CWCTL" audit verify
behind_the_back "DELETE FROM audit_log WHERE id = 3"
expect_eq "rows left" "1,2,4,5" "$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM audit_log")"
expect_fail 1 "audit_log row 4" "$CWCTL" audit verify
expect_stderr_contains "missing"

done_ok
