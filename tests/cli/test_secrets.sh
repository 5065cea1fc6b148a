#!/usr/bin/env bash
# A camera password (given in a password file, inside a URL, and inside a
# CSV) and a user password never appear in any output of cwctl or
# citywatchd, in a pg_dump of the database, or in the PostgreSQL server log;
# the stored camera password is sealed under a key file of mode 0600, and a
# different key is refused.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"

SECRET='Zq7-never-print-me'      # camera password
USER_SECRET='Uq4-user-pass-hidden' # a user's password (12+ characters)
SECRET_HEX=$(printf '%s' "$SECRET" | od -An -tx1 | tr -d ' \n')

# In a cluster of our own, log every statement with its parameters, so the
# server log shows whatever reaches the server. (A shared cluster's log is
# not ours to read or to flood.)
server_log=
if [ -z "${CW_TEST_PGHOST:-}" ]; then
  server_log=$(dirname "$PGHOST")/server.log
  [ -f "$server_log" ] || fail "server log of the private cluster not found at $server_log"
  sql "ALTER DATABASE \"$PGDATABASE\" SET log_statement = 'all'" >/dev/null
  sql "ALTER DATABASE \"$PGDATABASE\" SET log_min_error_statement = 'debug5'" >/dev/null
else
  echo "note: shared cluster (CW_TEST_PGHOST): the server log is not checked"
fi

expect_ok "$CWCTL" db migrate

pw=$CW_TMP/camera.pw
printf '%s\n' "$SECRET" >"$pw"
wrong_pw=$CW_TMP/wrong.pw
printf 'another-one\n' >"$wrong_pw"

# --- the key file ------------------------------------------------------------
[ ! -e "$CITYWATCH_KEY_FILE" ] || fail "key file exists before first use"
_cw_pass

# --- password file ----------------------------------------------------------
expect_ok "$CWCTL" camera add --name sec-file --url rtsp://10.5.0.1/s --username admin \
  --password-file "$pw"
expect_eq "key file mode" "600" "$(stat -c %a "$CITYWATCH_KEY_FILE")"
expect_eq "key file owner" "$(id -u)" "$(stat -c %u "$CITYWATCH_KEY_FILE")"
# From standard input too.
expect_ok "$CWCTL" camera add --name sec-stdin --url rtsp://10.5.0.2/s --username admin \
  --password-file - <"$pw"

# --- inside a URL -------------------------------------------------------------
expect_ok "$CWCTL" camera add --name sec-url --url "rtsp://admin:$SECRET@10.5.0.3/s"
expect_ok "$CWCTL" camera add --name sec-sub --url "rtsp://10.5.0.4/main" \
  --substream-url "rtsp://admin:$SECRET@10.5.0.4/sub"
# Some makes take it in the query: it leaves the stored URL for a slot.
expect_ok "$CWCTL" camera add --name sec-query --url "rtsp://10.5.0.7/cam?user=admin&pwd=$SECRET&ch=1"
expect_ok "$CWCTL" camera show sec-query
expect_stdout_contains "pwd=***&ch=1"
expect_eq "stored query URL" "rtsp://10.5.0.7/cam?user=admin&pwd=%7Bpassword%7D&ch=1" \
  "$(sql "SELECT url FROM cameras WHERE name = 'sec-query'")"
# Failing commands that carry the password.
expect_fail 1 "url:" "$CWCTL" camera add --name sec-bad1 --url "rtsp://admin:$SECRET@10.5.0.5:0/s"
expect_fail 1 "url:" "$CWCTL" camera add --name sec-bad2 --url "rtsp://admin:$SECRET@10.5.0.5/a b"
expect_fail 1 "url:" "$CWCTL" camera add --name sec-bad3 --url "http://admin:$SECRET@10.5.0.5/s"
expect_fail 1 "url:" "$CWCTL" camera add --name sec-bad4 --url "rtsp://admin:$SECRET@bad host/s"
expect_fail 1 "url:" "$CWCTL" camera add --name sec-bad5 --url "rtsp://admin:$SECRET@10.5.0.5/s#frag"
expect_fail 1 "url:" "$CWCTL" camera add --name sec-bad6 --url "rtsp://admin:$SECRET@[::1/s"
expect_fail 1 "url:" "$CWCTL" camera add --name sec-bad7 --url "rtsp://admin:$SECRET%ZZ@10.5.0.5/s"
expect_fail 1 "username:" "$CWCTL" camera add --name sec-bad8 --url "rtsp://admin:$SECRET@10.5.0.5/s" \
  --username other
expect_fail 1 "password:" "$CWCTL" camera add --name sec-bad9 --url "rtsp://admin:$SECRET@10.5.0.5/s" \
  --password-file "$wrong_pw"
expect_fail 1 "password:" "$CWCTL" camera add --name sec-bad10 --url "rtsp://admin:another-one@10.5.0.5/s" \
  --password-file "$pw"
expect_fail 1 "name:" "$CWCTL" camera add --name SEC-URL --url "rtsp://admin:$SECRET@10.5.0.6/s"
expect_fail 1 "lat:" "$CWCTL" camera add --name sec-bad11 --url "rtsp://admin:$SECRET@10.5.0.6/s" \
  --lat 99 --lon 0

# --- listings -------------------------------------------------------------------
expect_ok "$CWCTL" camera list
expect_stdout_contains "rtsp://admin:***@10.5.0.1/s"
expect_ok "$CWCTL" camera list --json
for n in sec-file sec-stdin sec-url sec-sub sec-query; do
  expect_ok "$CWCTL" camera show "$n"
  expect_stdout_contains "set (encrypted)"
  expect_ok "$CWCTL" camera show "$n" --json
  expect_json 'd["has_password"] is True'
done

# --- edits ------------------------------------------------------------------------
expect_ok "$CWCTL" camera add --name sec-edit --url rtsp://10.5.0.7/s
expect_ok "$CWCTL" camera edit sec-edit --username admin --password-file "$pw"
expect_ok "$CWCTL" camera edit sec-edit --url "rtsp://admin:$SECRET@10.5.0.8/s"
expect_fail 1 "url:" "$CWCTL" camera edit sec-edit --url "rtsp://admin:$SECRET@10.5.0.8:99999/s"
expect_fail 1 "no camera named" "$CWCTL" camera edit no-such --password-file "$pw"
expect_ok "$CWCTL" camera show sec-edit

# --- CSV ----------------------------------------------------------------------------
csv=$CW_TMP/secrets.csv
{
  echo 'name,url,username,password,lat,lon,road,direction,tags'
  echo "csv-1,rtsp://10.5.1.1/s,admin,$SECRET,,,,,"
  echo "csv-2,rtsp://admin:$SECRET@10.5.1.2/s,,,,,,,"
  echo "csv-3,\"rtsp://admin:$SECRET@10.5.1.3/s\",admin,\"$SECRET\",1,2,,,"
} >"$csv"
bad_csv=$CW_TMP/secrets-bad.csv
{
  echo 'name,url,username,password,lat,lon,road,direction,tags'
  echo "bad-1,rtsp://10.5.2.1/s,admin,$SECRET,north,,,,"
  echo "bad-2,rtsp://admin:$SECRET@10.5.2.2:0/s,,,,,,,"
  echo "bad-3,rtsp://10.5.2.3/s,,$SECRET,,,,,"
  echo "bad-4,rtsp://10.5.2.4/s,admin,\"$SECRET\"trailing,,,,,"
  echo "bad-5,rtsp://10.5.2.5/s,admin,x$SECRET\"x,,,,,"
  echo "bad-6,rtsp://admin:$SECRET@10.5.2.6/s,admin,different,,,,,"
  echo "bad-7,rtsp://10.5.2.7/s,admin,$SECRET,,,,,,extra"
  echo "bad-8,rtsp://admin:$SECRET@10.5.2.8/s,,,,,,,"
  echo "BAD-8,rtsp://admin:$SECRET@10.5.2.9/s,,,,,,,"
  printf 'bad-10,rtsp://10.5.2.11/s,admin,%s\x00,,,,,\n' "$SECRET"
  printf 'bad-11,rtsp://10.5.2.12/s,admin,%s\xff,,,,,\n' "$SECRET"
  echo "bad-9,\"rtsp://admin:$SECRET@10.5.2.10/s,,,,,,,"
} >"$bad_csv"
expect_fail 1 "nothing imported" "$CWCTL" camera import "$bad_csv"
expect_fail 1 "nothing imported" "$CWCTL" camera import --dry-run "$bad_csv"
expect_ok "$CWCTL" camera import --dry-run "$csv"
expect_ok "$CWCTL" camera import "$csv"
expect_fail 1 "nothing imported" "$CWCTL" camera import "$csv"   # names taken now

# --- users ----------------------------------------------------------------------------
expect_ok "$CWCTL" user add sec-admin --role admin <<<"$USER_SECRET"
expect_fail 1 "name:" "$CWCTL" user add SEC-ADMIN --role admin <<<"$USER_SECRET"
expect_fail 1 "role:" "$CWCTL" user add sec-other --role root <<<"$USER_SECRET"
expect_fail 1 "password:" "$CWCTL" user add sec-short --role operator <<<"Uq4-short"
expect_ok "$CWCTL" user list
expect_ok "$CWCTL" user list --json

# --- the daemon, at its most talkative ------------------------------------------------------
conf=$CW_TMP/debug.conf
printf '[log]\nlevel = debug\n[security]\nkey_file = %s\n' "$CITYWATCH_KEY_FILE" >"$conf"
expect_ok "$CITYWATCHD" -c "$conf" --check
expect_ok "$CWCTL" -c "$conf" camera list
expect_ok "$CWCTL" audit verify

# --- what is stored ---------------------------------------------------------------------
# These queries name the passwords themselves: keep them out of the server log.
sql_unlogged() { PGOPTIONS="-c log_statement=none -c log_min_error_statement=panic" sql "$1"; }
expect_eq "cameras with a sealed password" \
  "csv-1,csv-2,csv-3,sec-edit,sec-file,sec-query,sec-stdin,sec-sub,sec-url" \
  "$(sql_unlogged "SELECT string_agg(name, ',' ORDER BY name) FROM cameras WHERE password_enc IS NOT NULL
          AND password_key_id IS NOT NULL AND length(password_enc) > length('$SECRET')")"
expect_eq "sealed values holding the password bytes" "0" \
  "$(sql_unlogged "SELECT count(*) FROM cameras
          WHERE position(convert_to('$SECRET', 'UTF8') IN password_enc) > 0
             OR position('$SECRET_HEX' IN encode(password_enc, 'hex')) > 0")"
expect_eq "sealed values that repeat (nonces must differ)" "0" \
  "$(sql_unlogged "SELECT count(*) - count(DISTINCT password_enc) FROM cameras WHERE password_enc IS NOT NULL")"
expect_eq "rows holding the password in plain text" "0" \
  "$(sql_unlogged "SELECT (SELECT count(*) FROM cameras c WHERE c::text LIKE '%$SECRET%')
               + (SELECT count(*) FROM audit_log a WHERE a::text LIKE '%$SECRET%')
               + (SELECT count(*) FROM users u WHERE u::text LIKE '%$USER_SECRET%')")"

# --- nothing printed, dumped or logged ------------------------------------------------
dump=$CW_TMP/dump.sql
pg_dump_bin=${CW_PG_BIN:-/usr/lib/postgresql/15/bin}/pg_dump
[ -x "$pg_dump_bin" ] || pg_dump_bin=pg_dump
"$pg_dump_bin" --no-owner -f "$dump" "$PGDATABASE" || fail "pg_dump failed"
grep -q "COPY public.cameras" "$dump" || fail "the dump holds no cameras table"
grep -q "sec-file" "$dump" || fail "the dump holds no camera rows"
_cw_pass
[ -s "$CW_ALL_OUTPUT" ] || fail "no command output was collected"
grep -q 'rtsp://admin:\*\*\*@' "$CW_ALL_OUTPUT" || fail "collected output lacks the redacted URLs"
_cw_pass

places=("command output:$CW_ALL_OUTPUT" "pg_dump:$dump")
if [ -n "$server_log" ]; then
  # Prove the log is the right one and recorded our statements.
  grep -q "$PGDATABASE" "$server_log" || fail "server log $server_log has no line of this database"
  grep -q "INSERT INTO cameras" "$server_log" || fail "server log $server_log has no statements"
  _cw_pass
  places+=("server log:$server_log")
fi
for place in "${places[@]}"; do
  what=${place%%:*} file=${place#*:}
  for s in "$SECRET" "$USER_SECRET" "$SECRET_HEX"; do
    if grep -F -n -- "$s" "$file" >"$CW_TMP/hits"; then
      LAST_CMD=
      fail "the password '$s' appears in the $what ($file):"$'\n'"$(head -n 10 "$CW_TMP/hits")"
    fi
    _cw_pass
  done
done

# --- a different key is refused ------------------------------------------------------------
other_key=$CW_TMP/other.key
expect_fail 1 "credential key" env CITYWATCH_KEY_FILE="$other_key" \
  "$CWCTL" camera add --name sec-otherkey --url rtsp://10.5.3.1/s --username admin --password-file "$pw"
expect_eq "mode of the new, unused key file" "600" "$(stat -c %a "$other_key")"
expect_fail 1 "credential key" env CITYWATCH_KEY_FILE="$other_key" \
  "$CWCTL" camera edit sec-file --password-file "$pw"
printf '%s\n' 'name,url,username,password,lat,lon,road,direction,tags' \
  'ok-otherkey,rtsp://10.5.3.2/s,admin,pw,,,,,' >"$CW_TMP/otherkey.csv"
expect_fail 1 "credential key" env CITYWATCH_KEY_FILE="$other_key" \
  "$CWCTL" camera import "$CW_TMP/otherkey.csv"
expect_eq "cameras added under the other key" "0" \
  "$(sql "SELECT count(*) FROM cameras WHERE name IN ('sec-otherkey', 'ok-otherkey')")"
# Without a password the key is not needed.
expect_ok env CITYWATCH_KEY_FILE="$other_key" \
  "$CWCTL" camera add --name nokey-needed --url rtsp://10.5.3.3/s
# A key file others may read is refused.
cp "$CITYWATCH_KEY_FILE" "$CW_TMP/loose.key"
chmod 644 "$CW_TMP/loose.key"
expect_fail 1 "chmod 600" env CITYWATCH_KEY_FILE="$CW_TMP/loose.key" \
  "$CWCTL" camera add --name sec-loose --url rtsp://10.5.3.4/s --username admin --password-file "$pw"
# Nor did these print it.
if grep -F -q -- "$SECRET" "$CW_ALL_OUTPUT"; then
  fail "the password appears in the output of the wrong-key commands"
fi
_cw_pass

done_ok
