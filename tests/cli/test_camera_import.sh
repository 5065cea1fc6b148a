#!/usr/bin/env bash
# cwctl camera import FILE.csv: RFC 4180 input, every bad row reported as
# FILE:LINE: field: reason, all or nothing (also at row 9,999 of 10,000),
# one audit row per camera, and --dry-run imports nothing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"

expect_ok "$CWCTL" db migrate

audit_rows() { sql 'SELECT count(*) FROM audit_log'; }
header='name,url,username,password,lat,lon,road,direction,tags'

# expect_import_fails FILE "LINE: field:"...: exit 1, every "FILE:LINE: field:"
# given is in stderr, and neither cameras nor audit_log changed.
expect_import_fails() {
  local file=$1 cams audits want
  shift
  cams=$(camera_count) audits=$(audit_rows)
  expect_fail 1 "nothing imported" "$CWCTL" camera import "$file"
  for want in "$@"; do
    expect_stderr_contains "$file:$want"
  done
  expect_eq "cameras after the refused import of $(basename "$file")" "$cams" "$(camera_count)"
  expect_eq "audit rows after the refused import of $(basename "$file")" "$audits" "$(audit_rows)"
}

# --- a good file: RFC 4180 quoting, CRLF line ends --------------------------
good=$CW_TMP/good.csv
{
  printf '%s\r\n' "$header"
  printf '%s\r\n' 'imp-1,rtsp://10.2.0.1/s1,admin,"pw,with""quote",52.1,13.1,"Main St, North",N,"a,b"'
  printf '%s\r\n' 'imp-2,rtsp://10.2.0.2:8554/s1,,,,,"The ""Big"" Junction",se,'
  printf '%s\r\n' '"IMP-3","rtsp://cam:p%40ss@10.2.0.3/s1",,,-1.5,-2.5,Ring Road,W,x;y'
  printf '%s\r\n' 'imp-4,rtsp://10.2.0.4/s1,,,,,,,'
} >"$good"
expect_ok "$CWCTL" camera import --dry-run "$good"
expect_stdout_contains "4 cameras would be imported"
expect_eq "cameras after --dry-run" "0" "$(camera_count)"
expect_eq "audit rows after --dry-run" "0" "$(audit_rows)"

expect_ok "$CWCTL" camera import "$good"
expect_stdout_contains "imported 4 cameras"
expect_eq "cameras after the good import" "4" "$(camera_count)"
expect_eq "imp-1" 'rtsp://10.2.0.1/s1|admin|t|52.1|13.1|Main St, North|N|{a,b}' \
  "$(sql "SELECT url, username, password_enc IS NOT NULL, lat, lon, road, direction, tags
          FROM cameras WHERE name = 'imp-1'")"
expect_eq "imp-2" 'rtsp://10.2.0.2:8554/s1||f|||The "Big" Junction|SE|{}' \
  "$(sql "SELECT url, username, password_enc IS NOT NULL, lat, lon, road, direction, tags
          FROM cameras WHERE name = 'imp-2'")"
expect_eq "IMP-3 (credentials moved out of the URL)" 'rtsp://10.2.0.3/s1|cam|t|-1.5|-2.5|Ring Road|W|{x,y}' \
  "$(sql "SELECT url, username, password_enc IS NOT NULL, lat, lon, road, direction, tags
          FROM cameras WHERE name = 'IMP-3'")"
expect_eq "imp-4" 'rtsp://10.2.0.4/s1||f|||||{}|t' \
  "$(sql "SELECT url, username, password_enc IS NOT NULL, lat, lon, road, direction, tags, enabled
          FROM cameras WHERE name = 'imp-4'")"
expect_eq "audit rows of the good import" "4|4" \
  "$(sql "SELECT count(*), count(*) FILTER (WHERE details->>'import' = '$good')
          FROM audit_log WHERE action = 'camera.add' AND actor LIKE 'cli:%'")"

# Columns in any order, the optional ones, a byte-order mark, LF line ends
# and no final line end.
good2=$CW_TMP/good2.csv
{
  printf '\xef\xbb\xbf'
  printf '%s\n' 'tags,direction,road,lon,lat,password,username,url,name,substream_url,enabled'
  printf '%s\n' ',,,,,,,rtsp://10.3.0.1/a,ord-1,rtsp://10.3.0.1/b,false'
  printf '%s' 'ptz,E,"Quay ""7""",4.5,50.25,,,rtsps://10.3.0.2:322/a,ord-2,,yes'
} >"$good2"
expect_ok "$CWCTL" camera import "$good2"
expect_stdout_contains "imported 2 cameras"
expect_eq "ord-1" 'rtsp://10.3.0.1/a|rtsp://10.3.0.1/b|f' \
  "$(sql "SELECT url, substream_url, enabled FROM cameras WHERE name = 'ord-1'")"
expect_eq "ord-2" 'rtsps://10.3.0.2:322/a||t|50.25|4.5|Quay "7"|E|{ptz}' \
  "$(sql "SELECT url, substream_url, enabled, lat, lon, road, direction, tags
          FROM cameras WHERE name = 'ord-2'")"
expect_eq "cameras after both good imports" "6" "$(camera_count)"

# --- broken quoting ----------------------------------------------------------
f=$CW_TMP/broken-quoting.csv
{
  echo "$header"
  echo 'q-1,rtsp://h/1,,,,,,,'
  echo 'q-2,rtsp://h/2,,,,,Bad "quote" road,,'
  echo 'q-3,rtsp://h/3,,,,,"closed" then text,,'
  echo 'q-4,rtsp://h/4,,,,,,,'
  echo 'q-5,"rtsp://h/5,,,,,,,'
  echo 'q-6,rtsp://h/6,,,,,,,'
} >"$f"
expect_import_fails "$f" "3: row:" "4: row:" "6: row:"

# --- missing columns -------------------------------------------------------
f=$CW_TMP/missing-column.csv
{
  echo 'name,url,username,password,lat,lon,road,tags'
  echo 'm-1,rtsp://h/1,,,,,,'
} >"$f"
expect_import_fails "$f" "1: header: missing column 'direction'"
f=$CW_TMP/short-row.csv
{
  echo "$header"
  echo 's-1,rtsp://h/1,,,,,,,'
  echo 's-2,rtsp://h/2,,,,'
  echo 's-3,rtsp://h/3,,,,,,,'
} >"$f"
expect_import_fails "$f" "3: row:"
expect_stderr_contains "has 6 fields but the header has 9"

# --- extra columns ---------------------------------------------------------
f=$CW_TMP/unknown-column.csv
{
  echo "$header,owner"
  echo 'x-1,rtsp://h/1,,,,,,,,alice'
} >"$f"
expect_import_fails "$f" "1: header: unknown column 'owner'"
f=$CW_TMP/long-row.csv
{
  echo "$header"
  echo 'l-1,rtsp://h/1,,,,,,,'
  echo 'l-2,rtsp://h/2,,,,,,,,surplus'
} >"$f"
expect_import_fails "$f" "3: row:"
f=$CW_TMP/twice-column.csv
{
  echo "$header,name"
  echo 't-1,rtsp://h/1,,,,,,,,t-1'
} >"$f"
expect_import_fails "$f" "1: header: column 'name' appears twice"

# --- wrong types and bad values (every problem in a row is reported) ---------
f=$CW_TMP/wrong-types.csv
{
  echo "$header,enabled"
  echo 'w-1,rtsp://h/1,,,north,13,,,,'
  echo 'w-2,rtsp://h/2,,,52,200,,,,'
  echo 'w-3,rtsp://h/3,,,,,,up,,'
  echo 'w-4,http://h/4,,,,,,,,'
  echo 'w-5,rtsp://h/5,,,,,,,,maybe'
  echo 'w-6,rtsp://h/6,,,,,,,bad tag!,'
  echo 'w 7,rtsp://h:0/7,,,91,0,,,,'
  echo 'w-8,rtsp://h/8,,,10,,,,,'
  echo 'w-9,rtsp://h/9,,secret-without-user,,,,,,'
  echo '"w-10","rtsp://h/10",,,,,"two'
  echo 'lines",,,'
  echo 'w-11,rtsp://h/11,,,1.5.5,0,,,,'
  echo 'w-12,rtsp://h/12,,,,,,,,'
} >"$f"
expect_import_fails "$f" "2: lat:" "3: lon:" "4: direction:" "5: url:" "6: enabled:" \
  "7: tags:" "8: name:" "8: url:" "8: lat:" "9: lon:" "10: username:" "11: road:" "13: lat:"
expect_stderr_lacks "$f:14:"
expect_stderr_lacks "$f:12:"
expect_stderr_lacks "secret-without-user"

# --- duplicate names inside the file (regardless of case) ------------------
f=$CW_TMP/dup-in-file.csv
{
  echo "$header"
  echo 'Dup-1,rtsp://h/1,,,,,,,'
  echo 'other,rtsp://h/2,,,,,,,'
  echo 'dup-1,rtsp://h/3,,,,,,,'
  echo 'DUP-1,rtsp://h/4,,,,,,,'
} >"$f"
expect_import_fails "$f" "4: name:" "5: name:"
expect_stderr_contains "line 2"
expect_stderr_lacks "$f:2:"

# --- duplicate names against the table -------------------------------------
f=$CW_TMP/dup-in-table.csv
{
  echo "$header"
  echo 'fresh-1,rtsp://h/1,,,,,,,'
  echo 'IMP-1,rtsp://h/2,,,,,,,'
  echo 'fresh-2,rtsp://h/3,,,,,,,'
  echo 'ord-2,rtsp://h/4,,,,,,,'
} >"$f"
expect_import_fails "$f" "3: name:" "5: name:"
expect_stderr_lacks "$f:2:"
expect_eq "fresh-1 not imported" "0" "$(sql "SELECT count(*) FROM cameras WHERE name LIKE 'fresh-%'")"

# --- empty input -----------------------------------------------------------
: >"$CW_TMP/empty.csv"
expect_import_fails "$CW_TMP/empty.csv" "1: header:"
echo "$header" >"$CW_TMP/header-only.csv"
expect_import_fails "$CW_TMP/header-only.csv" "1: row:"
expect_fail 1 "" "$CWCTL" camera import "$CW_TMP/no-such-file.csv"
expect_fail 2 "" "$CWCTL" camera import
expect_eq "cameras after all refused imports" "6" "$(camera_count)"

# --- 10,000 rows, one bad value at line 9,999 ------------------------------
big=$CW_TMP/ten-thousand.csv
python3 - "$big" <<'PY'
import sys
with open(sys.argv[1], "w", newline="") as f:
    f.write("name,url,username,password,lat,lon,road,direction,tags\r\n")
    dirs = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
    for i in range(1, 10001):  # rows on physical lines 2..10001
        line = i + 1
        lat = "999" if line == 9999 else "%.6f" % (40 + (i % 1000) / 1000.0)
        user, pw = ("admin", "Pw-%05d" % i) if i % 3 == 0 else ("", "")
        f.write('bulk-%05d,rtsp://10.%d.%d.%d:554/stream,%s,%s,%s,%.6f,"Road %d, lane %d",%s,"bulk,z%d"\r\n'
                % (i, i // 65536, (i // 256) % 256, i % 256, user, pw, lat, -3 - (i % 100) / 100.0,
                   i % 50, i % 4, dirs[i % 8], i % 10))
PY
expect_eq "lines in the big file" "10001" "$(wc -l <"$big")"
expect_import_fails "$big" "9999: lat:"
expect_eq "problem lines for the big file" "1" "$(printf '%s\n' "$ERR" | grep -c "^$big:[0-9]")"
expect_fail 1 "$big:9999: lat:" "$CWCTL" camera import --dry-run "$big"
sed -i '9999s/,999,/,45.5,/' "$big"
expect_ok "$CWCTL" camera import --dry-run "$big"
expect_stdout_contains "10000 cameras would be imported"
expect_eq "cameras after the big --dry-run" "6" "$(camera_count)"
audits=$(audit_rows)
expect_ok "$CWCTL" camera import "$big"
expect_stdout_contains "imported 10000 cameras"
expect_eq "cameras after the big import" "10006" "$(camera_count)"
expect_eq "bulk cameras with a password" "3333" \
  "$(sql "SELECT count(*) FROM cameras WHERE name LIKE 'bulk-%' AND password_enc IS NOT NULL")"
expect_eq "the row from line 9999" "bulk-09998|45.5|{bulk,z8}" \
  "$(sql "SELECT name, lat, tags FROM cameras WHERE name = 'bulk-09998'")"
expect_eq "camera.add audit rows of the big import" "10000" \
  "$(sql "SELECT count(*) FROM audit_log WHERE action = 'camera.add' AND details->>'import' = '$big'")"
expect_eq "audit rows added by the big import" "$((audits + 10000))" "$(audit_rows)"
expect_eq "audit rows of the big import holding a password" "0" \
  "$(sql "SELECT count(*) FROM audit_log WHERE concat(before, after, details) LIKE '%Pw-0%'")"
# Importing the same file again: every name is taken now.
expect_import_fails "$big" "2: name:" "10001: name:"
expect_ok "$CWCTL" audit verify

done_ok
