#!/usr/bin/env bash
# Proves that with-pg leaves nothing behind, however its command ends:
#   own cluster:    command fails; with-pg gets SIGTERM; with-pg gets SIGINT
#                   → postmaster gone, folder removed, COMMAND killed.
#   shared cluster: the same three endings → database dropped, cluster fine.
# Plus: exit status passes through; no COMMAND is a usage error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
with_pg=$here/with-pg
# shellcheck source=tests/harness/pg.sh
. "$here/pg.sh"

work=$(mktemp -d /tmp/cw-teardown.XXXXXX)
shared=
# shellcheck disable=SC2317  # reached through trap only
finish() {
  if [ -n "$shared" ]; then cw_pg_stop "$shared" || true; fi
  rm -rf -- "$work"
}
trap finish EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# The command every case runs: records where its server is, its postmaster
# and its own pid, then either exits 1 or waits to be killed.
# shellcheck disable=SC2016  # expanded by the inner shell
recorder='
  rec=$1 mode=$2
  echo "$PGHOST" >"$rec/host"
  echo "$PGDATABASE" >"$rec/db"
  head -n 1 "$(dirname "$PGHOST")/data/postmaster.pid" >"$rec/postmaster" 2>/dev/null || true
  echo $$ >"$rec/child"
  psql -XAtqc "create table proof (x int)" >/dev/null
  touch "$rec/ready"
  if [ "$mode" = fail ]; then exit 1; fi
  exec sleep 300
'

wait_for_file() {
  local f=$1 i
  for i in $(seq 1 600); do
    [ -e "$f" ] && return 0
    sleep 0.1
  done
  return 1
}

gone() { # PID [TENTHS]: true once PID has exited (a zombie counts as exited)
  local pid=$1 i
  for i in $(seq 1 "${2:-50}"); do
    [ -d "/proc/$pid" ] || return 0
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 0
    sleep 0.1
  done
  return 1
}

# Runs one case: $1 = label, $2 = fail|TERM|INT, $3 = expected exit status.
# Leaves the records in $work/$1.
run_case() {
  local label=$1 how=$2 want=$3 rec=$work/$1 rc=0 wp
  mkdir -p "$rec"
  if [ "$how" = fail ]; then
    "$with_pg" bash -c "$recorder" recorder "$rec" fail >"$rec/out" 2>&1 || rc=$?
  else
    # A background job of a script starts with SIGINT ignored (and so may
    # this script, depending on who started it); an ignored signal cannot be
    # trapped, and the SIGINT case would prove nothing. env restores it.
    env --default-signal=INT "$with_pg" bash -c "$recorder" recorder "$rec" wait >"$rec/out" 2>&1 &
    wp=$!
    if ! wait_for_file "$rec/ready"; then
      fail "$label: command never started"
      cat "$rec/out" >&2
    fi
    kill -s "$how" "$wp"
    # Clean-up takes a second or two; give up (and say so) long before the
    # command's own 300 s would end it.
    if ! gone "$wp" 300; then
      fail "$label: with-pg still runs 30 s after SIG$how"
      kill -KILL "$wp" 2>/dev/null || true
    fi
    wait "$wp" || rc=$?
  fi
  if [ "$rc" != "$want" ]; then
    fail "$label: with-pg exited $rc, want $want"
    cat "$rec/out" >&2
  fi
  if [ -s "$rec/child" ] && ! gone "$(cat "$rec/child")"; then
    fail "$label: command (pid $(cat "$rec/child")) still runs"
  fi
}

check_own_cluster_gone() {
  local label=$1 rec=$work/$1 host pm dir
  host=$(cat "$rec/host" 2>/dev/null) || { fail "$label: no PGHOST recorded"; return; }
  pm=$(cat "$rec/postmaster" 2>/dev/null) || pm=
  dir=$(dirname "$host")
  case $host in /tmp/cw-pg.*/sock) ;; *) fail "$label: PGHOST $host is not a private cluster" ;; esac
  if [ -z "$pm" ]; then
    fail "$label: no postmaster pid recorded"
  elif ! gone "$pm"; then
    fail "$label: postmaster $pm still runs"
  fi
  if [ -e "$dir" ]; then
    fail "$label: cluster folder $dir still exists"
  fi
  if pgrep -f -- "$dir/data" >/dev/null; then
    fail "$label: a process still names $dir/data"
  fi
}

check_db_dropped() {
  local label=$1 rec=$work/$1 db n
  db=$(cat "$rec/db" 2>/dev/null) || { fail "$label: no PGDATABASE recorded"; return; }
  n=$(psql -XAtq -d postgres -c "select count(*) from pg_database where datname = '$db'") ||
    { fail "$label: the shared cluster does not answer"; return; }
  [ "$n" = 0 ] || fail "$label: database $db still exists"
}

# --- own, throw-away cluster ----------------------------------------------
(
  unset CW_TEST_PGHOST CW_TEST_PGPORT CW_TEST_PGUSER
  run_case own-fail fail 1
  run_case own-term TERM 143
  run_case own-int INT 130
  exit "$failures"
) || failures=$((failures + $?))
for c in own-fail own-term own-int; do
  check_own_cluster_gone "$c"
done

# --- shared cluster, as tests/run-all.sh sets it up -------------------------
shared=$(mktemp -d /tmp/cw-shared.XXXXXX)
cw_pg_start "$shared"
export CW_TEST_PGHOST=$PGHOST CW_TEST_PGPORT=$PGPORT CW_TEST_PGUSER=$PGUSER
(
  run_case shared-fail fail 1
  run_case shared-term TERM 143
  run_case shared-int INT 130
  exit "$failures"
) || failures=$((failures + $?))
for c in shared-fail shared-term shared-int; do
  check_db_dropped "$c"
  [ "$(cat "$work/$c/host" 2>/dev/null)" = "$CW_TEST_PGHOST" ] ||
    fail "$c: command did not get the shared PGHOST"
done

# --- exit status and usage ---------------------------------------------------
rc=0
"$with_pg" sh -c 'exit 7' >/dev/null 2>&1 || rc=$?
[ "$rc" = 7 ] || fail "exit status 7 came back as $rc"
rc=0
"$with_pg" true >/dev/null 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "exit status 0 came back as $rc"
rc=0
"$with_pg" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "no COMMAND: exit $rc, want 2"

# Each database name is unique even for back-to-back runs.
# shellcheck disable=SC2016  # expanded by the inner shell
a=$("$with_pg" sh -c 'echo "$PGDATABASE"')
# shellcheck disable=SC2016
b=$("$with_pg" sh -c 'echo "$PGDATABASE"')
if [ -z "$a" ] || [ "$a" = "$b" ]; then fail "database names repeat: '$a' '$b'"; fi

# cw_pg_stop twice is fine; a folder it did not make is left alone.
cw_pg_stop "$shared" || fail "cw_pg_stop failed"
[ ! -e "$shared" ] || fail "cw_pg_stop left $shared"
cw_pg_stop "$shared" || fail "second cw_pg_stop failed"
shared=
mkdir "$work/not-ours"
if cw_pg_stop "$work/not-ours" 2>/dev/null; then fail "cw_pg_stop removed a folder it did not make"; fi
[ -d "$work/not-ours" ] || fail "cw_pg_stop removed a folder it did not make"

if [ "$failures" -gt 0 ]; then
  echo "teardown: $failures failure(s)" >&2
  exit 1
fi
echo "teardown: all cases passed"
