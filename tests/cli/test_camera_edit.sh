#!/usr/bin/env bash
# cwctl camera edit|enable|disable|rm: each field changes alone, renames keep
# names unique regardless of case, and every change writes exactly one
# audit_log row with before and after (and no secret).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"

expect_ok "$CWCTL" db migrate

audit_rows() { sql 'SELECT count(*) FROM audit_log'; }
# The newest audit row's column or expression.
last_audit() { sql "SELECT $1 FROM audit_log ORDER BY id DESC LIMIT 1"; }
audit_before=0
mark() { audit_before=$(audit_rows); }
# expect_audit ACTION OBJECT: exactly one new row since mark, from the CLI.
expect_audit() {
  expect_eq "new audit rows after '$LAST_CMD'" "$((audit_before + 1))" "$(audit_rows)"
  expect_eq "audit action" "$1" "$(last_audit action)"
  expect_eq "audit object" "camera:$2" "$(last_audit object)"
  expect_eq "audit actor is the OS user through the CLI" "t" "$(last_audit "actor LIKE 'cli:_%'")"
  expect_eq "audit at is recent" "t" "$(last_audit "at > now() - interval '5 minutes'")"
}
expect_no_audit() {
  expect_eq "audit rows after the failed '$LAST_CMD'" "$audit_before" "$(audit_rows)"
}
field() { sql "SELECT $2 FROM cameras WHERE lower(name) = lower('$1')"; }

pw1=$CW_TMP/pw1 pw2=$CW_TMP/pw2
printf 'Edit-secret-one-%s\n' "$RANDOM" >"$pw1"
printf 'Edit-secret-two-%s\n' "$RANDOM" >"$pw2"

mark
expect_ok "$CWCTL" camera add --name cam-a --url rtsp://10.0.0.1/one --username admin \
  --password-file "$pw1" --lat 1 --lon 2 --road "Old Road" --direction N --tags old
expect_audit camera.add cam-a
expect_eq "camera.add before" "" "$(last_audit 'before')"
expect_eq "camera.add after.name" "cam-a" "$(last_audit "after->>'name'")"
expect_eq "camera.add after.has_password" "true" "$(last_audit "after->>'has_password'")"
expect_ok "$CWCTL" camera add --name cam-b --url rtsp://10.0.0.2/two

# --- one field at a time ----------------------------------------------------
# edit_one FLAG VALUE JSON_KEY EXPECTED_AFTER: changes only that field.
edit_one() {
  local flag=$1 value=$2 key=$3 want=$4 old_json
  old_json=$(sql "SELECT camera_public_json(c)::jsonb - 'updated_at' FROM cameras c WHERE name = 'cam-a'")
  mark
  expect_ok "$CWCTL" camera edit cam-a "$flag" "$value"
  expect_audit camera.edit cam-a
  expect_eq "audit before.$key" "$(printf '%s' "$old_json" | python3 -c \
    'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(v if isinstance(v,str) else json.dumps(v))' "$key")" \
    "$(last_audit "CASE jsonb_typeof(before->'$key') WHEN 'string' THEN before->>'$key' ELSE (before->'$key')::text END")"
  expect_eq "audit after.$key" "$want" \
    "$(last_audit "CASE jsonb_typeof(after->'$key') WHEN 'string' THEN after->>'$key' ELSE (after->'$key')::text END")"
  # Nothing else changed.
  expect_eq "fields other than $key unchanged by $flag" "{}" "$(sql "
    SELECT coalesce(jsonb_object_agg(k, v), '{}') FROM jsonb_each('$old_json'::jsonb) AS o(k, v)
    WHERE k NOT IN ('$key', 'updated_at')
      AND v IS DISTINCT FROM (SELECT camera_public_json(c)::jsonb FROM cameras c WHERE name = 'cam-a')->k")"
}
edit_one --road "New Road" road "New Road"
edit_one --url rtsp://10.0.0.11:8554/main url "rtsp://10.0.0.11:8554/main"
edit_one --substream-url rtsp://10.0.0.11:8554/sub substream_url "rtsp://10.0.0.11:8554/sub"
edit_one --username operator username "operator"
edit_one --direction sw direction "SW"
edit_one --tags "B,a" tags '["a", "b"]'

mark
expect_ok "$CWCTL" camera edit cam-a --lat -33.5 --lon 151.25
expect_audit camera.edit cam-a
expect_eq "lat, lon after edit" "-33.5|151.25" "$(field cam-a 'lat, lon')"
expect_eq "audit after lat/lon" "-33.5|151.25" "$(last_audit "after->>'lat', after->>'lon'")"
expect_eq "audit before lat/lon" "1|2" "$(last_audit "before->>'lat', before->>'lon'")"

# A new password: sealed again, still never shown.
old_enc=$(field cam-a "encode(password_enc, 'hex')")
mark
expect_ok "$CWCTL" camera edit cam-a --password-file "$pw2"
expect_audit camera.edit cam-a
new_enc=$(field cam-a "encode(password_enc, 'hex')")
if [ -z "$new_enc" ] || [ "$new_enc" = "$old_enc" ]; then
  fail "password_enc did not change on --password-file"
fi
_cw_pass
expect_eq "audit rows holding either password" "0" "$(sql "SELECT count(*) FROM audit_log
  WHERE concat(before, after, details) LIKE '%$(head -n 1 "$pw1")%'
     OR concat(before, after, details) LIKE '%$(head -n 1 "$pw2")%'")"

# --no-password clears it.
mark
expect_ok "$CWCTL" camera edit cam-a --no-password
expect_audit camera.edit cam-a
expect_eq "audit before/after has_password" "true|false" \
  "$(last_audit "before->>'has_password', after->>'has_password'")"
expect_eq "password columns cleared" "t|t" "$(field cam-a 'password_enc IS NULL, password_key_id IS NULL')"
expect_ok "$CWCTL" camera show cam-a
expect_stdout_contains "rtsp://operator@10.0.0.11:8554/main"
expect_stdout_lacks "***"
mark
expect_fail 1 "password" "$CWCTL" camera edit cam-a --no-password --password-file "$pw1"
expect_no_audit

# Credentials inside a new URL are moved out of it.
mark
expect_ok "$CWCTL" camera edit cam-a --url 'rtsp://operator:Moved-pw-9@10.0.0.12/x'
expect_audit camera.edit cam-a
expect_eq "url, username, has password" "rtsp://10.0.0.12/x|operator|t" \
  "$(field cam-a 'url, username, password_enc IS NOT NULL')"
expect_eq "audit rows holding the moved password" "0" \
  "$(sql "SELECT count(*) FROM audit_log WHERE concat(before, after, details) LIKE '%Moved-pw-9%'")"

# Bad values are refused with the field named, and change nothing.
snapshot=$(sql "SELECT camera_public_json(c)::jsonb FROM cameras c WHERE name = 'cam-a'")
mark
expect_fail 1 "url:" "$CWCTL" camera edit cam-a --url http://10.0.0.1/
expect_fail 1 "url:" "$CWCTL" camera edit cam-a --url rtsp://h:0/
expect_fail 1 "lat" "$CWCTL" camera edit cam-a --lat 10
expect_fail 1 "lat:" "$CWCTL" camera edit cam-a --lat 100 --lon 0
expect_fail 1 "direction:" "$CWCTL" camera edit cam-a --direction up
expect_fail 1 "tags:" "$CWCTL" camera edit cam-a --tags 'a b'
expect_fail 1 "name:" "$CWCTL" camera edit cam-a --name 'no spaces'
expect_fail 1 "username:" "$CWCTL" camera edit cam-a --username ''
expect_no_audit
expect_eq "camera unchanged by refused edits" "$snapshot" \
  "$(sql "SELECT camera_public_json(c)::jsonb FROM cameras c WHERE name = 'cam-a'")"

# --- rename -----------------------------------------------------------------
mark
expect_ok "$CWCTL" camera edit CAM-A --name cam-renamed
expect_audit camera.edit cam-renamed
expect_eq "audit rename before/after" "cam-a|cam-renamed" \
  "$(last_audit "before->>'name', after->>'name'")"
expect_fail 1 "no camera named" "$CWCTL" camera show cam-a
expect_ok "$CWCTL" camera show cam-renamed
mark
expect_fail 1 "name:" "$CWCTL" camera edit cam-renamed --name CAM-B
expect_fail 1 "name:" "$CWCTL" camera edit cam-renamed --name cam-b
expect_no_audit
expect_eq "cameras after the refused renames" "cam-b,cam-renamed" \
  "$(sql "SELECT string_agg(name, ',' ORDER BY name) FROM cameras")"
# Changing only the case of its own name is allowed.
mark
expect_ok "$CWCTL" camera edit cam-renamed --name Cam-Renamed
expect_audit camera.edit Cam-Renamed

# --- usage and missing cameras ---------------------------------------------
mark
expect_fail 2 "nothing to change" "$CWCTL" camera edit Cam-Renamed
expect_fail 2 "" "$CWCTL" camera edit
expect_fail 1 "no camera named" "$CWCTL" camera edit no-such-cam --road x
expect_fail 1 "no camera named" "$CWCTL" camera enable no-such-cam
expect_fail 1 "no camera named" "$CWCTL" camera disable no-such-cam
expect_fail 1 "no camera named" "$CWCTL" camera rm no-such-cam
expect_no_audit

# --- enable / disable -------------------------------------------------------
mark
expect_ok "$CWCTL" camera disable cam-renamed
expect_audit camera.disable Cam-Renamed
expect_eq "enabled after disable" "f" "$(field cam-renamed enabled)"
expect_eq "audit disable before/after" "true|false" \
  "$(last_audit "before->>'enabled', after->>'enabled'")"
expect_ok "$CWCTL" camera show cam-renamed --json
expect_json 'd["enabled"] is False'
mark
expect_ok "$CWCTL" camera enable cam-renamed
expect_audit camera.enable Cam-Renamed
expect_eq "enabled after enable" "t" "$(field cam-renamed enabled)"
expect_eq "audit enable before/after" "false|true" \
  "$(last_audit "before->>'enabled', after->>'enabled'")"
mark
expect_ok "$CWCTL" camera edit cam-renamed --disabled
expect_audit camera.edit Cam-Renamed
expect_eq "enabled after edit --disabled" "f" "$(field cam-renamed enabled)"

# --- rm ---------------------------------------------------------------------
mark
expect_ok "$CWCTL" camera rm cam-renamed
expect_audit camera.remove Cam-Renamed
expect_eq "audit remove before.name, after" "Cam-Renamed|" \
  "$(last_audit "before->>'name', after")"
expect_fail 1 "no camera named" "$CWCTL" camera show cam-renamed
expect_fail 1 "no camera named" "$CWCTL" camera rm cam-renamed
expect_eq "cameras left" "cam-b" "$(sql "SELECT string_agg(name, ',') FROM cameras")"

# The chain over all of this still verifies.
expect_ok "$CWCTL" audit verify

done_ok
