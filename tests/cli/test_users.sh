#!/usr/bin/env bash
# cwctl user add|list: every role, wrong roles, short passwords, names
# unique regardless of case, Argon2id hashes that never leave the database,
# and a user.add audit row.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"

expect_ok "$CWCTL" db migrate
users() { sql 'SELECT count(*) FROM users'; }

# --- every role -------------------------------------------------------------
roles=(operator investigator engineer admin auditor)
for r in "${roles[@]}"; do
  expect_ok "$CWCTL" user add "u-$r" --role "$r" <<<"correct horse battery $r"
  expect_stdout_contains "u-$r"
  expect_eq "role of u-$r" "$r" "$(sql "SELECT role FROM users WHERE name = 'u-$r'")"
done
expect_eq "users after adding one per role" "5" "$(users)"
# A CRLF line end is not part of the password; a name with '@' and '.' is fine.
expect_ok "$CWCTL" user add jane.doe@city.example --role operator <<<$'twelve-chars-ok\r'

# --- wrong roles ------------------------------------------------------------
for r in superuser '' Admin ' admin' 'admin ' OPERATOR root; do
  expect_fail 1 "role:" "$CWCTL" user add "bad-role-x" --role "$r" <<<"a fine long password"
done
expect_fail 1 "role:" "$CWCTL" user add bad-role-x <<<"a fine long password"
expect_eq "users after wrong roles" "6" "$(users)"

# --- passwords --------------------------------------------------------------
expect_fail 1 "password:" "$CWCTL" user add short-pw --role operator <<<"elevenchars"
expect_fail 1 "password:" "$CWCTL" user add empty-pw --role operator <<<""
expect_fail 1 "password:" "$CWCTL" user add no-input --role operator </dev/null
# Twelve characters, counted as characters, not bytes.
expect_ok "$CWCTL" user add twelve-pw --role operator <<<"exactly12chr"
expect_ok "$CWCTL" user add utf8-pw --role operator <<<"ääääääääääää"
expect_fail 1 "password:" "$CWCTL" user add utf8-short --role operator <<<"äääääääääää"
expect_eq "users after the password checks" "8" "$(users)"

# --- names --------------------------------------------------------------------
expect_fail 1 "name:" "$CWCTL" user add U-ADMIN --role admin <<<"another long password"
expect_fail 1 "name:" "$CWCTL" user add u-Operator --role auditor <<<"another long password"
expect_fail 1 "name:" "$CWCTL" user add 'bad name' --role admin <<<"another long password"
expect_fail 1 "name:" "$CWCTL" user add '.dot' --role admin <<<"another long password"
expect_fail 2 "" "$CWCTL" user add --role admin <<<"another long password"
expect_eq "users after bad names" "8" "$(users)"

# --- what is stored ---------------------------------------------------------
expect_eq "hashes that are not Argon2id" "0" \
  "$(sql "SELECT count(*) FROM users WHERE password_hash NOT LIKE '\$argon2id\$%'")"
expect_eq "hashes holding a password" "0" \
  "$(sql "SELECT count(*) FROM users WHERE password_hash LIKE '%correct horse%'
          OR password_hash LIKE '%battery%'")"
expect_eq "distinct hashes (salted)" "8" "$(sql 'SELECT count(DISTINCT password_hash) FROM users')"

# --- listings show no hash --------------------------------------------------
expect_ok "$CWCTL" user list
for r in "${roles[@]}"; do
  expect_stdout_contains "u-$r"
done
expect_stdout_lacks 'argon2'
expect_stdout_lacks 'correct horse'
expect_ok "$CWCTL" user list --json
expect_json 'isinstance(d, list) and len(d) == 8'
expect_json 'sorted(u["role"] for u in d if u["name"].startswith("u-")) == sorted(["operator", "investigator", "engineer", "admin", "auditor"])'
expect_json 'all(set(u) <= {"id", "name", "role", "created_at", "disabled"} for u in d)' \
  "no other keys than id, name, role, created_at, disabled"
expect_json 'all(u["disabled"] is False for u in d)'
expect_stdout_lacks 'argon2'
expect_stdout_lacks 'hash'

# --- audit ----------------------------------------------------------------------
expect_eq "user.add audit rows" "8" "$(sql "SELECT count(*) FROM audit_log WHERE action = 'user.add'")"
expect_eq "user.add audit row for u-admin" "user:u-admin|u-admin|admin|t" \
  "$(sql "SELECT object, after->>'name', after->>'role', actor LIKE 'cli:_%'
          FROM audit_log WHERE action = 'user.add' AND object = 'user:u-admin'")"
expect_eq "audit rows holding a hash or password" "0" \
  "$(sql "SELECT count(*) FROM audit_log WHERE concat(before, after, details) LIKE '%argon2%'
          OR concat(before, after, details) LIKE '%correct horse%'")"
expect_ok "$CWCTL" audit verify

done_ok
