#!/usr/bin/env bash
# cwctl camera add: every flag, what show/list/--json print, and every
# rejection: it names the field, exits 1 and inserts nothing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"

expect_ok "$CWCTL" db migrate

pwfile=$CW_TMP/cam.pw
printf 'Pw-add-%s\n' "$RANDOM$RANDOM" >"$pwfile"
password=$(head -n 1 "$pwfile")

# --- all flags --------------------------------------------------------------
expect_ok "$CWCTL" camera add --name Bridge-North --url rtsp://10.1.2.3:554/Streaming/101 \
  --username admin --password-file "$pwfile" --substream-url rtsp://10.1.2.3:554/Streaming/102 \
  --lat 52.520008 --lon 13.404954 --road "Main Street" --direction NE --tags "Bridge,north;ptz"
expect_stdout_contains "added camera Bridge-North"

expect_ok "$CWCTL" camera show Bridge-North
expect_stdout_contains "rtsp://admin:***@10.1.2.3:554/Streaming/101"
expect_stdout_contains "rtsp://admin:***@10.1.2.3:554/Streaming/102"
expect_stdout_contains "admin"
expect_stdout_contains "52.520008, 13.404954"
expect_stdout_contains "Main Street"
expect_stdout_contains "NE"
expect_stdout_contains "bridge,north,ptz"
expect_stdout_lacks "$password"
# Names are looked up regardless of case.
expect_ok "$CWCTL" camera show bridge-NORTH
expect_stdout_contains "Bridge-North"

expect_ok "$CWCTL" camera list
expect_stdout_contains "Bridge-North"
expect_stdout_contains "rtsp://admin:***@10.1.2.3:554/Streaming/101"
expect_stdout_lacks "$password"

expect_ok "$CWCTL" camera show Bridge-North --json
expect_json 'isinstance(d, dict)' "show --json prints one object"
expect_json 'd["name"] == "Bridge-North"'
expect_json 'd["url"] == "rtsp://10.1.2.3:554/Streaming/101"'
expect_json 'd["substream_url"] == "rtsp://10.1.2.3:554/Streaming/102"'
expect_json 'd["username"] == "admin"'
expect_json 'd["has_password"] is True'
expect_json 'abs(d["lat"] - 52.520008) < 1e-9 and abs(d["lon"] - 13.404954) < 1e-9'
expect_json 'd["road"] == "Main Street" and d["direction"] == "NE"'
expect_json 'd["tags"] == ["bridge", "north", "ptz"]'
expect_json 'd["enabled"] is True'
expect_json '"password" not in d and "password_enc" not in d' "no password field"
expect_stdout_lacks "$password"

expect_ok "$CWCTL" camera add --name plain-1 --url rtsp://cam.example:8554/live --disabled
expect_ok "$CWCTL" camera list --json
expect_json 'isinstance(d, list) and len(d) == 2' "list --json is an array of both cameras"
expect_json '[c["name"] for c in d] == ["Bridge-North", "plain-1"]'
expect_json '[c["has_password"] for c in d] == [True, False]'
expect_json '[c["enabled"] for c in d] == [True, False]'
expect_json 'd[1]["username"] is None and d[1]["lat"] is None and d[1]["tags"] == []'
expect_json 'all("password" not in c and "password_enc" not in c for c in d)'
expect_stdout_lacks "$password"
expect_eq "password_enc set for Bridge-North only" "Bridge-North" \
  "$(sql 'SELECT name FROM cameras WHERE password_enc IS NOT NULL')"

# --- names are unique regardless of case ------------------------------------
expect_fail 1 "name:" "$CWCTL" camera add --name BRIDGE-north --url rtsp://10.9.9.9/x
expect_fail 1 "name:" "$CWCTL" camera add --name bridge-north --url rtsp://10.9.9.9/x
expect_fail 1 "name:" "$CWCTL" camera add --name "bad name" --url rtsp://10.9.9.9/x
expect_fail 1 "name:" "$CWCTL" camera add --name "-leading-dash" --url rtsp://10.9.9.9/x
expect_fail 1 "name:" "$CWCTL" camera add --name "$(printf 'n%.0s' $(seq 1 65))" --url rtsp://h/x
expect_fail 1 "name: required" "$CWCTL" camera add --url rtsp://10.9.9.9/x
expect_eq "camera count after rejected names" "2" "$(camera_count)"

# --- bad URLs ---------------------------------------------------------------
long_url="rtsp://h/$(head -c 3000 /dev/zero | tr '\0' a)"
n=0
for url in 'http://x' 'rtsp://' 'rtsp://h:0/' 'rtsp://h:65536/' 'rtsp://h:abc/' \
  'rtsp://h/a b' $'rtsp://h/a\r\nX: y' "$long_url" 'rtsp://:pw@h/' \
  'rtsps//h/' 'rtsp:/h/p' 'ftp://h/p' 'rtsp://h:-1/' 'rtsp://a@b@h/' \
  'rtsp://h/#fragment' $'rtsp://h/\x01' 'rtsp://u%0D%0AX:p@h/' 'rtsp://h\h/' ''; do
  n=$((n + 1))
  expect_fail 1 "url:" "$CWCTL" camera add --name badurl-$n --url "$url"
  # An empty substream URL means "none", so only the others are errors there.
  [ -z "$url" ] || expect_fail 1 "substream_url:" "$CWCTL" camera add --name badsub-$n \
    --url rtsp://ok/ --substream-url "$url"
done
expect_eq "camera count after rejected URLs" "2" "$(camera_count)"
expect_fail 1 "url: required" "$CWCTL" camera add --name nourl

# --- coordinates, direction, tags, free text -------------------------------
expect_fail 1 "lat:" "$CWCTL" camera add --name geo-1 --url rtsp://h/ --lat 91 --lon 0
expect_fail 1 "lat:" "$CWCTL" camera add --name geo-1 --url rtsp://h/ --lat -90.0001 --lon 0
expect_fail 1 "lon:" "$CWCTL" camera add --name geo-1 --url rtsp://h/ --lat 0 --lon -181
expect_fail 1 "lon:" "$CWCTL" camera add --name geo-1 --url rtsp://h/ --lat 0 --lon 180.5
expect_fail 1 "lat and lon go together" "$CWCTL" camera add --name geo-1 --url rtsp://h/ --lat 10
expect_fail 1 "lat and lon go together" "$CWCTL" camera add --name geo-1 --url rtsp://h/ --lon 10
expect_fail 1 "lat:" "$CWCTL" camera add --name geo-1 --url rtsp://h/ --lat north --lon 1
expect_fail 1 "lat:" "$CWCTL" camera add --name geo-1 --url rtsp://h/ --lat nan --lon 1
expect_fail 1 "lon:" "$CWCTL" camera add --name geo-1 --url rtsp://h/ --lat 1 --lon inf
expect_fail 1 "direction:" "$CWCTL" camera add --name dir-1 --url rtsp://h/ --direction sideways
expect_fail 1 "direction:" "$CWCTL" camera add --name dir-1 --url rtsp://h/ --direction NNE
for tags in 'a!b' 'ok,has space' 'x/y' "quote'd" 'semi;ok,b@d' \
  "$(printf 't%.0s' $(seq 1 33))"; do
  expect_fail 1 "tags:" "$CWCTL" camera add --name tag-1 --url rtsp://h/ --tags "$tags"
done
expect_fail 1 "road:" "$CWCTL" camera add --name road-1 --url rtsp://h/ --road $'Main\nStreet'
expect_fail 1 "road:" "$CWCTL" camera add --name road-1 --url rtsp://h/ \
  --road "$(head -c 129 /dev/zero | tr '\0' r)"
expect_eq "camera count after rejected values" "2" "$(camera_count)"
# The edges are accepted.
expect_ok "$CWCTL" camera add --name geo-edge --url rtsp://h/ --lat -90 --lon 180 --direction nw
expect_ok "$CWCTL" camera show geo-edge --json
expect_json 'd["lat"] == -90 and d["lon"] == 180 and d["direction"] == "NW"'
expect_ok "$CWCTL" camera add --name port-edge --url rtsp://h:65535/a --substream-url rtsps://h:1/b

# --- credentials inside the URL are moved out of it ------------------------
expect_ok "$CWCTL" camera add --name cred-in-url --url rtsp://admin:S3cr3t@10.0.0.7/p
expect_stdout_lacks "S3cr3t"
expect_ok "$CWCTL" camera show cred-in-url
expect_stdout_contains "rtsp://admin:***@10.0.0.7/p"
expect_stdout_contains "username:      admin"
expect_stdout_contains "set (encrypted)"
expect_stdout_lacks "S3cr3t"
expect_ok "$CWCTL" camera show cred-in-url --json
expect_json 'd["url"] == "rtsp://10.0.0.7/p" and d["username"] == "admin" and d["has_password"]'
expect_stdout_lacks "S3cr3t"
expect_eq "stored url" "rtsp://10.0.0.7/p" "$(sql "SELECT url FROM cameras WHERE name = 'cred-in-url'")"
expect_eq "rows whose url holds '@' or the password" "0" \
  "$(sql "SELECT count(*) FROM cameras WHERE url LIKE '%@%' OR url LIKE '%S3cr3t%'
          OR coalesce(substream_url, '') LIKE '%@%'")"
expect_eq "audit rows mentioning the password" "0" \
  "$(sql "SELECT count(*) FROM audit_log WHERE concat(before, after, details) LIKE '%S3cr3t%'")"
# Percent-encoded credentials are decoded once and stored outside the URL.
expect_ok "$CWCTL" camera add --name cred-encoded --url 'rtsp://op%40site:p%3Aw@10.0.0.8/p'
expect_ok "$CWCTL" camera show cred-encoded --json
expect_json 'd["username"] == "op@site" and d["url"] == "rtsp://10.0.0.8/p" and d["has_password"]'
# A user name only (no password) is moved too.
expect_ok "$CWCTL" camera add --name user-only --url rtsp://viewer@10.0.0.9/p
expect_ok "$CWCTL" camera show user-only --json
expect_json 'd["username"] == "viewer" and d["url"] == "rtsp://10.0.0.9/p" and not d["has_password"]'

# A different --username, or a different password, is an error.
before=$(camera_count)
expect_fail 1 "username:" "$CWCTL" camera add --name cred-clash --url rtsp://admin:S3cr3t@h/p \
  --username operator
expect_fail 1 "password:" "$CWCTL" camera add --name cred-clash --url rtsp://admin:S3cr3t@h/p \
  --password-file "$pwfile"
expect_stderr_lacks "S3cr3t"
expect_stderr_lacks "$password"
expect_fail 1 "substream_url:" "$CWCTL" camera add --name cred-clash --url rtsp://admin:x@h/p \
  --substream-url rtsp://other:x@h/s
# Same user name given twice is fine.
expect_ok "$CWCTL" camera add --name cred-same --url rtsp://admin:S3cr3t@h/p --username admin
# A password needs a user name.
expect_fail 1 "username:" "$CWCTL" camera add --name pw-no-user --url rtsp://h/p \
  --password-file "$pwfile"
expect_fail 1 "password-file:" "$CWCTL" camera add --name pw-missing --url rtsp://h/p \
  --username u --password-file "$CW_TMP/no-such-file"
: >"$CW_TMP/empty.pw"
expect_fail 1 "password-file:" "$CWCTL" camera add --name pw-empty --url rtsp://h/p \
  --username u --password-file "$CW_TMP/empty.pw"
expect_eq "camera count after rejected credentials" "$((before + 1))" "$(camera_count)"

# --- usage errors exit 2 ----------------------------------------------------
expect_fail 2 "" "$CWCTL" camera add --name u1 --url rtsp://h/ --no-such-flag
expect_fail 2 "" "$CWCTL" camera add --name u1 --url rtsp://h/ stray-argument
expect_fail 2 "" "$CWCTL" camera frobnicate
expect_fail 1 "no camera named" "$CWCTL" camera show no-such-camera

done_ok
