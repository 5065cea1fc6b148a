#!/usr/bin/env bash
# cwctl footage export: who may export. Only an investigator, proven by
# password (standard input) or bearer token (--token-file or
# CITYWATCH_TOKEN); every other role, a wrong password, an unknown or
# disabled user, and an expired, revoked, foreign or unknown token are
# refused with exit 1 and a footage.export.denied audit row, and neither
# the password nor the token is ever printed or stored. Missing or bad
# flags exit 2.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/../cli/lib.sh"
# shellcheck source=tests/export/footage.sh
. "$here/footage.sh"

expect_ok "$CWCTL" db migrate
for u in inv:investigator op:operator eng:engineer adm:admin aud:auditor dis:investigator; do
  add_user "${u%%:*}" "${u#*:}"
done
sql "UPDATE users SET disabled_at = now() WHERE name = 'dis'" >/dev/null
cam=$(add_camera bridge-west)
make_segments "$CW_TMP/src" 2 1 -c:v libx264 -preset veryfast -bf 0 -g 25
index_segments "$cam" 2026-03-01T10:00:00Z "$CW_TMP/src/seg000.mp4"
out=$CW_TMP/out
mkdir -p "$out"
range=(--camera "$cam" --from 2026-03-01T10:00:00.5Z --to 2026-03-01T10:00:01.5Z
  --case CASE-7 --reason "hit and run")
denied() { sql "SELECT count(*) FROM audit_log WHERE action = 'footage.export.denied'"; }
no_clip() { expect_eq "files in $out after a refusal" "" "$(ls -A "$out")"; }

# --- roles: only investigators ----------------------------------------------
for u in op:operator eng:engineer adm:admin aud:auditor; do
  name=${u%%:*} role=${u#*:}
  expect_fail 1 "cwctl: --as: $name has role $role; exporting footage needs the investigator role" \
    cw footage export --as "$name" "${range[@]}" -o "$out/c.mp4" <<<"$(password "$name")"
  expect_eq "audit row refusing $name" "$name|camera:$cam|$name|CASE-7" \
    "$(sql "SELECT actor, object, details->>'user', details->>'case' FROM audit_log
            WHERE action = 'footage.export.denied' ORDER BY id DESC LIMIT 1")"
done
no_clip
expect_eq "refusals audited" 4 "$(denied)"

# --- passwords --------------------------------------------------------------
wrong="not the password of inv"
expect_fail 1 "cwctl: --as: unknown user or wrong password for inv" \
  cw footage export --as inv "${range[@]}" -o "$out/c.mp4" <<<"$wrong"
expect_eq "actor of a refused password" "cli:" \
  "$(sql "SELECT left(actor, 4) FROM audit_log ORDER BY id DESC LIMIT 1")"
expect_fail 1 "unknown user or wrong password for nobody" \
  cw footage export --as nobody "${range[@]}" -o "$out/c.mp4" <<<"$wrong"
expect_fail 1 "unknown user or wrong password for inv" \
  cw footage export --as inv "${range[@]}" -o "$out/c.mp4" </dev/null
expect_fail 1 "cwctl: --as: user dis is disabled" \
  cw footage export --as dis "${range[@]}" -o "$out/c.mp4" <<<"$(password dis)"
no_clip
expect_eq "refusals audited" 8 "$(denied)"
expect_eq "audit rows holding a password" 0 \
  "$(sql "SELECT count(*) FROM audit_log WHERE details::text LIKE '%$wrong%'
          OR details::text LIKE '%$(password dis)%'")"
# A user name in another case is the same user.
expect_ok cw footage export --as INV "${range[@]}" -o "$out/by-password.mp4" <<<"$(password inv)"
expect_eq "exported_by" inv "$(sql "SELECT user_name FROM footage_exports")"

# --- bearer tokens ----------------------------------------------------------
token_for() { # token_for USER TOKEN [EXPIRES] [REVOKED] [KIND]
  sql "INSERT INTO sessions (user_id, kind, token_hash, expires_at, revoked_at)
       SELECT id, '${5:-bearer}', sha256(convert_to('$2', 'UTF8')), ${3:-now() + interval '1 hour'},
              ${4:-NULL} FROM users WHERE name = '$1'" >/dev/null
}
tok=tok-inv-$RANDOM$RANDOM-valid
token_for inv "$tok"
printf '%s\n' "$tok" >"$CW_TMP/token"
expect_ok cw footage export --as inv "${range[@]}" -o "$out/by-file.mp4" \
  --token-file "$CW_TMP/token" </dev/null
expect_ok env CITYWATCH_TOKEN="$tok" "$CWCTL" -c "$CONF" footage export --as inv "${range[@]}" \
  -o "$out/by-env.mp4" </dev/null
expect_ok cw footage verify "$out/by-env.mp4"
expect_eq "exports by inv" 3 "$(sql "SELECT count(*) FROM footage_exports WHERE user_name = 'inv'")"

try_token() { # try_token TOKEN USER EXPECTED_STDERR
  printf '%s\n' "$1" >"$CW_TMP/t"
  expect_fail 1 "$3" cw footage export --as "$2" "${range[@]}" -o "$out/t.mp4" \
    --token-file "$CW_TMP/t" </dev/null
}
token_for inv tok-expired "now() - interval '1 second'"
token_for inv tok-revoked "now() + interval '1 hour'" "now()"
token_for inv tok-browser "now() + interval '1 hour'" NULL browser
token_for op tok-operator
try_token tok-expired inv "cwctl: --as: inv's token has expired"
try_token tok-revoked inv "cwctl: --as: inv's token was revoked"
try_token tok-browser inv "the token is not a bearer token of any user"
try_token tok-unknown inv "the token is not a bearer token of any user"
try_token "$tok" eng "cwctl: --as: the token is not eng's"
try_token tok-operator op "cwctl: --as: op has role operator"
sql "UPDATE users SET disabled_at = now() WHERE name = 'inv'" >/dev/null
try_token "$tok" inv "cwctl: --as: user inv is disabled"
sql "UPDATE users SET disabled_at = NULL WHERE name = 'inv'" >/dev/null
: >"$CW_TMP/empty"
expect_fail 1 "--token-file: the token is empty" cw footage export --as inv "${range[@]}" \
  -o "$out/t.mp4" --token-file "$CW_TMP/empty"
expect_fail 1 "--token-file: $CW_TMP/none: No such file or directory" cw footage export --as inv \
  "${range[@]}" -o "$out/t.mp4" --token-file "$CW_TMP/none"
expect_eq "refusals audited" 15 "$(denied)"
expect_eq "clip of refused tokens" "no" "$([ -e "$out/t.mp4" ] && echo yes || echo no)"

# --- nothing secret printed or stored ---------------------------------------
for secret in "$tok" tok-expired tok-operator "$wrong" "$(password inv)"; do
  if grep -qF -- "$secret" "$CW_ALL_OUTPUT"; then
    LAST_CMD=
    fail "'$secret' was printed"
  fi
  expect_eq "audit rows holding '$secret'" 0 \
    "$(sql "SELECT count(*) FROM audit_log WHERE concat(actor, details::text, after::text) LIKE '%$secret%'")"
done
expect_ok "$CWCTL" audit verify

# --- usage ------------------------------------------------------------------
full=(--as inv --camera "$cam" --from 2026-03-01T10:00:00Z --to 2026-03-01T10:00:01Z
  --case C --reason R -o "$out/u.mp4")
for flag in --as --camera --from --to --case --reason -o; do
  args=()
  for ((i = 0; i < ${#full[@]}; i += 2)); do
    [ "${full[i]}" = "$flag" ] || args+=("${full[i]}" "${full[i + 1]}")
  done
  expect_fail 2 "cwctl: $flag: required" cw footage export "${args[@]}" </dev/null
done
expect_fail 2 "cwctl: --from: '10:00' is not an ISO 8601 date-time with a zone" \
  cw footage export "${full[@]}" --from 10:00 </dev/null
expect_fail 2 "cwctl: --from: '2026-03-01T10:00:00' is not an ISO 8601" \
  cw footage export "${full[@]}" --from 2026-03-01T10:00:00 </dev/null
expect_fail 2 "cwctl: --to: must be after --from" \
  cw footage export "${full[@]}" --to 2026-03-01T10:00:00Z </dev/null
expect_fail 2 "cwctl: --case: longer than 128 characters" \
  cw footage export "${full[@]}" --case "$(printf 'c%.0s' {1..129})" </dev/null
expect_fail 2 "cwctl: --reason: longer than 2000 characters" \
  cw footage export "${full[@]}" --reason "$(head -c 2001 /dev/zero | tr '\0' r)" </dev/null
expect_fail 2 "Unknown option --bogus" cw footage export "${full[@]}" --bogus </dev/null
expect_fail 2 "cwctl: expected 1 argument" cw footage verify
expect_fail 2 "cwctl: expected 1 argument" cw footage verify a.mp4 b.mp4
expect_eq "refusals audited after usage errors" 15 "$(denied)"
expect_eq "files after usage errors" "no" "$([ -e "$out/u.mp4" ] && echo yes || echo no)"

done_ok
