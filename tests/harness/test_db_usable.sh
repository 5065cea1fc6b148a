#!/usr/bin/env bash
# Run under with-pg: the database it hands over is a fresh one of our own,
# reachable through the private socket only, and works.
set -euo pipefail

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

if [ -z "${PGHOST:-}" ] || [ -z "${PGDATABASE:-}" ]; then fail "PGHOST/PGDATABASE not set"; fi
[ "$(q 'select 1')" = 1 ] || fail "select 1 did not answer 1"
[ "$(q 'select current_database()')" = "$PGDATABASE" ] || fail "connected to the wrong database"
case $PGDATABASE in cwtest_*) ;; *) fail "database $PGDATABASE is not a fresh test database" ;; esac
[ "$(q "select count(*) from pg_tables where schemaname = 'public'")" = 0 ] ||
  fail "the fresh database has tables"
[ "$(q 'show listen_addresses')" = "" ] || fail "the server listens on TCP"
[ "$(stat -c %a "$PGHOST")" = 700 ] || fail "socket folder $PGHOST is not private (mode 0700)"
[ "$(q 'select pg_encoding_to_char(encoding) from pg_database where datname = current_database()')" = UTF8 ] ||
  fail "database is not UTF8"

q 'create table t (id int primary key, s text)'
q "insert into t values (1, 'ä')"
[ "$(q 'select s from t where id = 1')" = 'ä' ] || fail "round trip of a row failed"
echo "db-usable: ok ($PGDATABASE on $PGHOST)"
