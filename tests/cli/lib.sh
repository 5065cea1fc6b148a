# shellcheck shell=bash
# lib.sh — helpers for the cwctl / citywatchd integration tests in tests/cli/.
#
# Sourced by every test_*.sh, which runs under tests/harness/with-pg (so PG*
# name a fresh database of its own) with CWCTL and CITYWATCHD naming the
# programs under test.
#
# What sourcing gives a test:
#   CW_TMP               a private folder, removed when the script exits
#   CITYWATCH_KEY_FILE   $CW_TMP/credential.key (created by cwctl on first use)
#   CW_ALL_OUTPUT        a file collecting the stdout and stderr of every
#                        command run through the helpers below (and nothing
#                        else: no command lines), for "never printed" checks
#
#   run CMD...                      run it; sets RC, OUT (stdout), ERR (stderr)
#   expect_ok CMD...                run it; it must exit 0
#   expect_fail CODE SUBSTR CMD...  run it; it must exit CODE with SUBSTR in stderr
#   expect_stdout_contains S        the last command's stdout holds S
#   expect_stdout_lacks S           ... does not hold S
#   expect_stderr_contains S        the last command's stderr holds S
#   expect_stderr_lacks S
#   expect_eq WHAT EXPECTED GOT     plain comparison, WHAT says what it is
#   expect_json PYEXPR [DESC]       the last stdout is JSON and PYEXPR (over d) holds
#   sql QUERY                       psql, unaligned, tuples only; stops on error
#   sql_fails SUBSTR QUERY          the query must fail with SUBSTR in the error
#   camera_count                    SELECT count(*) FROM cameras
#   fail MESSAGE                    report and exit 1
#   done_ok                         print the summary line (call at the end)
#
# Every expect_* counts as one check; the first failing one prints what was
# expected and what came, and the script exits 1 at once.
#
# Commands get stdin from whatever the helper call has: write
#   expect_ok "$CWCTL" user add bob --role admin <<<"a long password"
# (a redirection, not a pipe: a pipe would run the helper in a subshell).

set -euo pipefail

: "${CWCTL:?CWCTL must name the cwctl program (meson sets it)}"
: "${PGDATABASE:?run this under tests/harness/with-pg}"

CW_TEST_NAME=$(basename "$0" .sh)
CW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cw-cli.XXXXXX")
# shellcheck disable=SC2317  # reached through trap only
_cw_cleanup() { rm -rf -- "$CW_TMP"; }
trap _cw_cleanup EXIT

export CITYWATCH_KEY_FILE=$CW_TMP/credential.key
CW_ALL_OUTPUT=$CW_TMP/all-output.log
: >"$CW_ALL_OUTPUT"
# Messages are compared as text: keep them in English and bytes stable.
export LC_ALL=C.UTF-8
# psql must not read a user's ~/.psqlrc or page its output.
export PSQL_PAGER='' PAGER=cat

CHECKS=0
RC=0
OUT=
ERR=
LAST_CMD=

_cw_excerpt() {
  # At most 40 lines of a captured stream, indented; "(empty)" for none.
  if [ -z "$1" ]; then
    echo "    (empty)"
  else
    printf '%s\n' "$1" | head -n 40 | sed 's/^/    | /'
    local n
    n=$(printf '%s\n' "$1" | wc -l)
    [ "$n" -le 40 ] || echo "    ... ($((n - 40)) more lines)"
  fi
}

fail() {
  {
    echo
    echo "FAIL: $CW_TEST_NAME, check $((CHECKS + 1)): $1"
    if [ -n "$LAST_CMD" ]; then
      echo "  last command: $LAST_CMD"
      echo "  exit status: $RC"
      echo "  stdout:"
      _cw_excerpt "$OUT"
      echo "  stderr:"
      _cw_excerpt "$ERR"
    fi
  } >&2
  exit 1
}

_cw_pass() { CHECKS=$((CHECKS + 1)); }

run() {
  LAST_CMD=$(printf '%q ' "$@")
  LAST_CMD=${LAST_CMD% }
  RC=0
  "$@" >"$CW_TMP/.stdout" 2>"$CW_TMP/.stderr" || RC=$?
  OUT=$(cat "$CW_TMP/.stdout")
  ERR=$(cat "$CW_TMP/.stderr")
  cat "$CW_TMP/.stdout" "$CW_TMP/.stderr" >>"$CW_ALL_OUTPUT"
}

expect_ok() {
  run "$@"
  [ "$RC" = 0 ] || fail "expected exit 0"
  _cw_pass
}

expect_fail() {
  local code=$1 want=$2
  shift 2
  run "$@"
  [ "$RC" = "$code" ] || fail "expected exit $code with stderr containing '$want'"
  case $ERR in
    *"$want"*) ;;
    *) fail "expected stderr to contain '$want' (exit status $RC was right)" ;;
  esac
  _cw_pass
}

expect_stdout_contains() {
  case $OUT in
    *"$1"*) ;;
    *) fail "expected stdout to contain '$1'" ;;
  esac
  _cw_pass
}

expect_stdout_lacks() {
  case $OUT in
    *"$1"*) fail "expected stdout NOT to contain '$1'" ;;
  esac
  _cw_pass
}

expect_stderr_contains() {
  case $ERR in
    *"$1"*) ;;
    *) fail "expected stderr to contain '$1'" ;;
  esac
  _cw_pass
}

expect_stderr_lacks() {
  case $ERR in
    *"$1"*) fail "expected stderr NOT to contain '$1'" ;;
  esac
  _cw_pass
}

expect_eq() {
  local what=$1 want=$2 got=$3
  if [ "$want" != "$got" ]; then
    LAST_CMD=
    fail "$what: expected '$want', got '$got'"
  fi
  _cw_pass
}

# expect_json PYEXPR [DESCRIPTION]: d is the parsed stdout of the last command.
expect_json() {
  local expr=$1 desc=${2:-$1} res
  res=$(printf '%s' "$OUT" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception as e:
    print("stdout is not JSON: %s" % e); sys.exit(0)
try:
    ok = eval(sys.argv[1], {"d": d, "json": json})
except Exception as e:
    print("%s: %r" % (type(e).__name__, e)); sys.exit(0)
print("ok" if ok else "false")
' "$expr")
  [ "$res" = ok ] || fail "JSON check '$desc' ($expr): $res"
  _cw_pass
}

sql() {
  local out rc=0
  out=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1" 2>"$CW_TMP/.sqlerr") || rc=$?
  if [ "$rc" != 0 ]; then
    LAST_CMD=
    fail "SQL failed: $1"$'\n'"$(cat "$CW_TMP/.sqlerr")"
  fi
  printf '%s\n' "$out"
}

sql_fails() {
  local want=$1 query=$2 err rc=0
  err=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$query" 2>&1) || rc=$?
  if [ "$rc" = 0 ]; then
    LAST_CMD=
    fail "expected the query to fail with '$want': $query"
  fi
  case $err in
    *"$want"*) ;;
    *)
      LAST_CMD=
      fail "expected the query to fail with '$want', got: $err"
      ;;
  esac
  _cw_pass
}

camera_count() { sql 'SELECT count(*) FROM cameras'; }

done_ok() {
  echo "ok: $CW_TEST_NAME ($CHECKS checks)"
}
