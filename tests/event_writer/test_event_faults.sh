#!/usr/bin/env bash
# The event writer under faults, on a PostgreSQL server of the test's own
# (issue 5, item 6): a steady load of 500 events a second while the server
# is stopped for 60 s and started again; then a producer killed with -9
# mid-load and restarted on the same journal; then a two-host connection
# string whose first host is read-only, the writable one stopped and the
# other made writable under load (items 2 and 6). Afterwards every event that
# was accepted is in the table exactly once (ids compared one by one), and
# the journal is empty.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/../cli/lib.sh"
# shellcheck source=tests/harness/pg.sh
. "$here/../harness/pg.sh"
: "${EV_LOAD:?}" "${CWCTL:?}"

pg=$(mktemp -d /tmp/cw-events-pg.XXXXXX)
pgb=$(mktemp -d /tmp/cw-events-pgb.XXXXXX)
rmdir "$pg" "$pgb" # cw_pg_start makes them, and marks them as its own
load=
# shellcheck disable=SC2317  # reached through trap only
stop_all() {
  [ -z "$load" ] || kill -KILL "$load" 2>/dev/null || true
  umount "$CW_TMP/small" 2>/dev/null || true
  cw_pg_stop "$pg" || true
  cw_pg_stop "$pgb" || true
  rm -rf -- "$CW_TMP"
}
trap stop_all EXIT
# Durable settings: with synchronous_commit off, a stopped server forgets
# commits it had already acknowledged, and no client could do better.
export CW_PG_PROFILE=durable
cw_pg_start "$pg" >/dev/null || fail "could not start a PostgreSQL server of our own"
expect_ok "$CWCTL" db migrate

# ids_between RUN FROM TO: the ids ev_load gives events FROM..TO-1 of RUN.
ids_between() {
  python3 -c 'import sys
r, a, b = map(int, sys.argv[1:])
for n in range(a, b): print("00000000-%04x-4000-8000-%012x" % (r, n))' "$@"
}
# expect_stored RUN COUNT: events 0..COUNT-1 of RUN each stored once.
expect_stored() {
  ids_between "$1" 0 "$2" | sort >"$CW_TMP/want"
  sql "SELECT id FROM events WHERE id::text LIKE '00000000-$(printf %04x "$1")-%' ORDER BY id" >"$CW_TMP/got"
  sort "$CW_TMP/got" | uniq -d >"$CW_TMP/dups"
  expect_eq "run $1: events stored twice" "0" "$(wc -l <"$CW_TMP/dups")"
  missing=$(comm -23 "$CW_TMP/want" <(sort -u "$CW_TMP/got") | wc -l)
  expect_eq "run $1: accepted events missing from the table" "0" "$missing"
}

# --- PostgreSQL stopped for 60 s under load -------------------------------
"$EV_LOAD" --journal "$CW_TMP/j1" --progress "$CW_TMP/p1" --run 1 --rate 500 --seconds 75 \
  --drain 60 >"$CW_TMP/load1.out" 2>"$CW_TMP/load1.err" &
load=$!
sleep 5
cw_pg_stop_server "$pg"
sleep 60
read -r _ acc_down com_down _ <"$CW_TMP/p1"
cw_pg_start "$pg" >/dev/null || fail "could not start the server again"
rc=0
wait "$load" || rc=$?
load=
expect_eq "ev_load exit status (drained)" 0 "$rc"
read -r sub acc com ins <"$CW_TMP/p1"
[ "$acc" -gt "$com_down" ] || fail "nothing waited while the database was down ($acc_down accepted, $com_down committed)"
_cw_pass
expect_eq "every submitted event accepted" "$sub" "$acc"
expect_eq "every accepted event committed" "$acc" "$com"
expect_stored 1 "$acc"
expect_eq "rows inserted = accepted" "$acc" "$ins"
grep -q "events wait in the journal" "$CW_TMP/load1.err" || fail "no log line says events wait"
_cw_pass

# --- kill -9 mid-load, restart on the same journal -------------------------
"$EV_LOAD" --journal "$CW_TMP/j2" --progress "$CW_TMP/p2" --run 2 --rate 500 --seconds 30 \
  --drain 30 >"$CW_TMP/load2.out" 2>"$CW_TMP/load2.err" &
load=$!
sleep 4
kill -KILL "$load"
wait "$load" 2>/dev/null || true
load=
read -r _ acc_killed _ _ <"$CW_TMP/p2"
[ "$acc_killed" -gt 0 ] || fail "nothing accepted before the kill"
_cw_pass
# The restart produces nothing new (--seconds 0): it only drains the journal.
expect_ok "$EV_LOAD" --journal "$CW_TMP/j2" --run 2 --rate 1 --seconds 0 --drain 30
expect_stored 2 "$acc_killed"

# --- the journal's filesystem fills while the database is down -------------
small=$CW_TMP/small
mkdir -p "$small"
if mount -t tmpfs -o size=256k tmpfs "$small" 2>/dev/null; then
  cw_pg_stop_server "$pg"
  run "$EV_LOAD" --journal "$small/j" --run 3 --rate 2000 --seconds 3 --drain 0
  read -r _ sub3 _ acc3 _ _ _ _ _ _ _ ref3 _ < <(printf '%s\n' "$OUT" | tail -1)
  [ "$ref3" -gt 0 ] && [ "$acc3" -gt 0 ] && [ "$((acc3 + ref3))" -le "$sub3" ] ||
    fail "a full journal filesystem: $sub3 submitted, $acc3 accepted, $ref3 refused"
  _cw_pass
  case $ERR in *"No space left on device"*) ;; *) fail "no log line names the full filesystem" ;; esac
  _cw_pass
  cw_pg_start "$pg" >/dev/null || fail "could not start the server again"
  expect_ok "$EV_LOAD" --journal "$small/j" --run 3 --rate 1 --seconds 0 --drain 30
  expect_stored 3 "$acc3"
  expect_eq "no refused event of run 3 stored" "$acc3" \
    "$(sql "SELECT count(*) FROM events WHERE id::text LIKE '00000000-0003-%'")"
  umount "$small"
else
  echo "skipping the full-filesystem part: cannot mount a tmpfs here (needs root)" >&2
fi

# --- two hosts, the first read-only; the writable one fails over ----------
# libpq's multi-host strings with target_session_attrs=read-write, as a node
# sees a primary and a standby: the writer must pass over the read-only host,
# and when the writable one goes away and the other becomes writable (a
# promotion, here by configuration), carry on there without losing an event.
host_a=$PGHOST
cw_pg_start "$pgb" >/dev/null || fail "could not start the second server"
host_b=$PGHOST
expect_ok "$CWCTL" db migrate
sql "ALTER SYSTEM SET default_transaction_read_only = on" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
export PGHOST=$host_a
# sqlb SQL: on the second host, writable for this session whatever it is.
sqlb() { PGHOST=$host_b PGOPTIONS="-c default_transaction_read_only=off" sql "$@"; }
run4="SELECT id FROM events WHERE id::text LIKE '00000000-0004-%'"
PGHOST="$host_b,$host_a" PGTARGETSESSIONATTRS=read-write \
  "$EV_LOAD" --journal "$CW_TMP/j4" --progress "$CW_TMP/p4" --run 4 --rate 500 --seconds 30 \
  --drain 60 >"$CW_TMP/load4.out" 2>"$CW_TMP/load4.err" &
load=$!
sleep 6
on_a=$(sql "SELECT count(*) FROM ($run4) e")
[ "$on_a" -gt 0 ] || fail "nothing reached the writable second host of \"$host_b,$host_a\""
_cw_pass
expect_eq "events on the read-only first host" 0 "$(sqlb "SELECT count(*) FROM ($run4) e")"
cw_pg_stop_server "$pg"
sleep 2
sqlb "ALTER SYSTEM SET default_transaction_read_only = off" >/dev/null
sqlb "SELECT pg_reload_conf()" >/dev/null
rc=0
wait "$load" || rc=$?
load=
expect_eq "ev_load exit status (drained into the other host)" 0 "$rc"
read -r sub4 acc4 com4 _ <"$CW_TMP/p4"
expect_eq "every submitted event accepted (two hosts)" "$sub4" "$acc4"
expect_eq "every accepted event committed (two hosts)" "$acc4" "$com4"
on_b=$(sqlb "SELECT count(*) FROM ($run4) e")
[ "$on_b" -gt 0 ] || fail "nothing reached the host that became writable"
_cw_pass
cw_pg_start "$pg" >/dev/null || fail "could not start the first server again"
export PGHOST=$host_a
ids_between 4 0 "$acc4" | sort >"$CW_TMP/want4"
{ sql "$run4"; sqlb "$run4"; } | sort -u >"$CW_TMP/got4"
expect_eq "run 4: accepted events on neither host" "" "$(comm -23 "$CW_TMP/want4" "$CW_TMP/got4" | head -3)"
echo "two hosts: $acc4 events accepted, $on_a on the first writable host by the stop, $on_b on the one made writable"

# --- a restart sends what its journal still holds: nothing is added twice --
before=$(sql "SELECT count(*) FROM events")
expect_ok "$EV_LOAD" --journal "$CW_TMP/j1" --run 1 --rate 1 --seconds 0 --drain 30
expect_stdout_contains "inserted 0 "
expect_eq "rows after resending a journal" "$before" "$(sql "SELECT count(*) FROM events")"
done_ok
