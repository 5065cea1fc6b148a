#!/usr/bin/env bash
# cwctl -c FILE: [database] conninfo finds the database without PG*
# variables, --db overrides it, [security] key_file names the key unless
# CITYWATCH_KEY_FILE does, and a bad file is refused as FILE:LINE: [section] key.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"

expect_ok "$CWCTL" db migrate
expect_ok "$CWCTL" camera add --name cfg-cam --url rtsp://10.7.0.1/s

conninfo="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE"
no_pg=(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGSERVICE -u PGHOSTADDR)

# --- [database] conninfo, with no PG* variables --------------------------------
good=$CW_TMP/good.conf
printf '# citywatch test config\n[database]\nconninfo = %s\n\n[log]\nlevel = warning\n' \
  "$conninfo" >"$good"
expect_ok "${no_pg[@]}" "$CWCTL" -c "$good" camera list
expect_stdout_contains "cfg-cam"
expect_ok "${no_pg[@]}" "$CWCTL" --config "$good" camera show cfg-cam --json
expect_json 'd["name"] == "cfg-cam"'
# Options before or after the command words.
expect_ok "${no_pg[@]}" "$CWCTL" camera list -c "$good"
expect_stdout_contains "cfg-cam"
# A URI works as well.
uri=$CW_TMP/uri.conf
printf '[database]\nconninfo = postgresql:///%s?host=%s&port=%s&user=%s\n' \
  "$PGDATABASE" "$PGHOST" "$PGPORT" "$PGUSER" >"$uri"
expect_ok "${no_pg[@]}" "$CWCTL" -c "$uri" camera list
expect_stdout_contains "cfg-cam"

# The config is really what is used: one pointing elsewhere fails even with PG* set.
elsewhere=$CW_TMP/elsewhere.conf
printf '[database]\nconninfo = dbname=cw_no_such_database_%s\n' "$RANDOM" >"$elsewhere"
expect_fail 1 "database:" "$CWCTL" -c "$elsewhere" camera list

# --- --db overrides the config -------------------------------------------------------
expect_ok "${no_pg[@]}" "$CWCTL" -c "$elsewhere" --db "$conninfo" camera list
expect_stdout_contains "cfg-cam"
expect_ok "${no_pg[@]}" "$CWCTL" camera list --db "$conninfo" -c "$elsewhere"
expect_stdout_contains "cfg-cam"
expect_fail 1 "database:" "$CWCTL" -c "$good" --db "dbname=cw_no_such_database_$RANDOM" camera list
expect_ok "${no_pg[@]}" "$CWCTL" --db "$conninfo" camera list
expect_stdout_contains "cfg-cam"

# --- [security] key_file, and CITYWATCH_KEY_FILE over it --------------------------------
printf 'cfg-pw\n' >"$CW_TMP/cam.pw"
keyconf=$CW_TMP/key.conf
printf '[security]\nkey_file = %s\n' "$CW_TMP/from-config.key" >"$keyconf"
expect_ok env -u CITYWATCH_KEY_FILE "$CWCTL" -c "$keyconf" camera add --name cfg-key \
  --url rtsp://10.7.0.2/s --username u --password-file "$CW_TMP/cam.pw"
expect_eq "key file from [security] key_file, mode" "600" "$(stat -c %a "$CW_TMP/from-config.key")"
[ ! -e "$CITYWATCH_KEY_FILE" ] || fail "CITYWATCH_KEY_FILE was created although it was unset"
_cw_pass
# The environment wins: a new key there is a different key, and is refused.
expect_fail 1 "credential key" env CITYWATCH_KEY_FILE="$CW_TMP/env.key" "$CWCTL" -c "$keyconf" \
  camera add --name cfg-key2 --url rtsp://10.7.0.3/s --username u --password-file "$CW_TMP/cam.pw"
[ -e "$CW_TMP/env.key" ] || fail "CITYWATCH_KEY_FILE did not override [security] key_file"
_cw_pass

# --- bad files: FILE:LINE: [section] key: reason, exit 1 -----------------------------
bad=$CW_TMP/unknown-key.conf
printf '[database]\nconninfo = %s\n[log]\n# comment\nlevle = debug\n' "$conninfo" >"$bad"
expect_fail 1 "$bad:5: [log] levle:" "$CWCTL" -c "$bad" camera list
expect_stderr_contains "unknown key"
expect_stdout_lacks "cfg-cam"

bad=$CW_TMP/unknown-section.conf
printf '[database]\nconninfo = %s\n\n[cameras]\nurl = rtsp://h/\n' "$conninfo" >"$bad"
expect_fail 1 "$bad:4: [cameras]" "$CWCTL" -c "$bad" camera list
expect_stderr_contains "unknown section"

bad=$CW_TMP/wrong-type.conf
printf '[log]\nlevel = 3\n' >"$bad"
expect_fail 1 "$bad:2: [log] level:" "$CWCTL" -c "$bad" camera list

bad=$CW_TMP/misplaced-key.conf
printf '[database]\nkey_file = /tmp/x\n' >"$bad"
expect_fail 1 "$bad:2: [database] key_file:" "$CWCTL" -c "$bad" camera list
expect_stderr_contains "[security] key_file"

bad=$CW_TMP/duplicate-key.conf
printf '[log]\nlevel = info\nlevel = debug\n' >"$bad"
expect_fail 1 "$bad:3: [log] level:" "$CWCTL" -c "$bad" camera list

bad=$CW_TMP/bad-escape.conf
printf '[security]\nkey_file = C:\\keys\\k\n' >"$bad"
expect_fail 1 "$bad:2: [security] key_file:" "$CWCTL" -c "$bad" camera list

bad=$CW_TMP/not-ini.conf
printf 'just some text\n' >"$bad"
expect_fail 1 "$bad" "$CWCTL" -c "$bad" camera list

expect_fail 1 "$CW_TMP/missing.conf" "$CWCTL" -c "$CW_TMP/missing.conf" camera list
# The same words from every command, including the ones that change things.
bad=$CW_TMP/unknown-key.conf
expect_fail 1 "$bad:5: [log] levle:" "$CWCTL" -c "$bad" camera add --name never --url rtsp://h/
expect_fail 1 "$bad:5: [log] levle:" "$CWCTL" -c "$bad" db migrate
expect_eq "cameras after the refused commands" "2" "$(camera_count)"

# The documented example loads as all defaults.
example=$here/../../deploy/citywatch.conf.example
expect_ok "$CWCTL" -c "$example" camera list

done_ok
