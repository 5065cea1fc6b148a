#!/usr/bin/env bash
# cwctl footage find|hold|release|retention against an index the test
# writes through segments_add (no media needed: find reads only the index).
# Human and JSON output, time and usage errors (exit 2 naming the flag),
# unknown cameras, a camera removed from the registry whose footage is
# still found, holds and releases audited in the hash chain, and per-camera
# retention.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/../cli/lib.sh"

expect_ok "$CWCTL" db migrate
expect_ok "$CWCTL" camera add --name foot-1 --url rtsp://10.7.0.1/s
id=$(sql "SELECT id FROM cameras WHERE name = 'foot-1'")
expect_ok "$CWCTL" camera add --name foot-gone --url rtsp://10.7.0.2/s
gone=$(sql "SELECT id FROM cameras WHERE name = 'foot-gone'")

# segment CAM START END [CODEC]: one row through the index's own entry point.
segment() {
  local cam=$1 start=$2 end=$3 codec=${4:-h264}
  sql "SELECT segments_add(json_build_array(json_build_object(
         'camera_id', $cam, 'start_time', '$start', 'end_time', '$end', 'node', 'node-a',
         'path', '$cam/' || md5('$start') || '.mp4', 'bytes', 1000, 'codec', '$codec',
         'width', 640, 'height', 360)))" >/dev/null
}
# 10:00-10:01, 10:01-10:02 (continuous), a gap, 10:05-10:06 (H.265).
segment "$id" 2026-05-01T10:00:00Z 2026-05-01T10:01:00Z
segment "$id" 2026-05-01T10:01:00Z 2026-05-01T10:02:00Z
segment "$id" 2026-05-01T10:05:00Z 2026-05-01T10:06:00Z h265
segment "$gone" 2026-05-01T10:00:00Z 2026-05-01T10:01:00Z

F=(--from 2026-05-01T09:59:00Z --to 2026-05-01T10:08:00Z)

# --- find, for a person --------------------------------------------------------
expect_ok "$CWCTL" footage find --camera "$id" "${F[@]}"
lines=$(printf '%s\n' "$OUT" | grep -E '^(SEGMENT|GAP) ' | awk '{print $1 " " $2 " " $3}')
expect_eq "segments and gaps in time order" \
  "GAP 2026-05-01T09:59:00.000000Z 2026-05-01T10:00:00.000000Z
SEGMENT 2026-05-01T10:00:00.000000Z 2026-05-01T10:01:00.000000Z
SEGMENT 2026-05-01T10:01:00.000000Z 2026-05-01T10:02:00.000000Z
GAP 2026-05-01T10:02:00.000000Z 2026-05-01T10:05:00.000000Z
SEGMENT 2026-05-01T10:05:00.000000Z 2026-05-01T10:06:00.000000Z
GAP 2026-05-01T10:06:00.000000Z 2026-05-01T10:08:00.000000Z" "$lines"
expect_stdout_contains "covered 180.0 s of 540.0 s (33.3%) in 3 segments; 3 gaps, 360.0 s"
expect_stdout_contains "h265 640x360"
# The same camera by name, and a zone other than Z.
expect_ok "$CWCTL" footage find --camera foot-1 --from 2026-05-01T12:00:00+02:00 \
  --to 2026-05-01T12:02:00+02:00
expect_stdout_contains "covered 120.0 s of 120.0 s (100.0%) in 2 segments; 0 gaps"

# --- find, as JSON ------------------------------------------------------------
expect_ok "$CWCTL" footage find --camera "$id" "${F[@]}" --json
expect_json "d['camera_id'] == $id and d['from'] == '2026-05-01T09:59:00.000000Z'"
expect_json "d['covered_seconds'] == 180.0"
expect_json "[s['start'] for s in d['segments']] == ['2026-05-01T10:00:00.000000Z',
  '2026-05-01T10:01:00.000000Z', '2026-05-01T10:05:00.000000Z']"
expect_json "([(g['from'][11:19], g['to'][11:19]) for g in d['gaps']] ==
  [('09:59:00', '10:00:00'), ('10:02:00', '10:05:00'), ('10:06:00', '10:08:00')])"
expect_json "(d['segments'][2]['codec'] == 'h265' and d['segments'][0]['node'] == 'node-a'
  and d['segments'][0]['bytes'] == 1000 and d['segments'][0]['repaired'] is False)"
# A range in the gap: no segments, one gap over all of it.
expect_ok "$CWCTL" footage find --camera "$id" --from 2026-05-01T10:03:00Z \
  --to 2026-05-01T10:04:00Z --json
expect_json "d['segments'] == [] and len(d['gaps']) == 1 and d['covered_seconds'] == 0"

# --- what the command line gets wrong: exit 2, naming the flag ----------------
expect_fail 2 "cwctl: --from: '2026-05-01T10:00:00' is not an ISO 8601 date-time with a zone" \
  "$CWCTL" footage find --camera "$id" --from 2026-05-01T10:00:00 --to 2026-05-01T11:00:00Z
expect_fail 2 "cwctl: --to: 'tomorrow' is not an ISO 8601" \
  "$CWCTL" footage find --camera "$id" --from 2026-05-01T10:00:00Z --to tomorrow
expect_fail 2 "cwctl: --to: must be after --from" \
  "$CWCTL" footage find --camera "$id" --from 2026-05-01T10:00:00Z --to 2026-05-01T10:00:00Z
expect_fail 2 "cwctl: --camera: required" \
  "$CWCTL" footage find --from 2026-05-01T10:00:00Z --to 2026-05-01T11:00:00Z
expect_fail 2 "cwctl: --case: required" "$CWCTL" footage hold --camera "$id" "${F[@]}"
expect_fail 2 "unknown footage command 'lookup'" "$CWCTL" footage lookup
expect_fail 2 "Unknown option --frm" "$CWCTL" footage find --camera "$id" --frm x
expect_ok "$CWCTL" footage find --help
expect_stdout_contains "footage find --camera N --from T --to T [--json]"
expect_ok "$CWCTL" footage hold --help
expect_stdout_contains "--case=CASE"

# --- unknown cameras, and a removed one with footage -----------------------------
expect_fail 1 "cwctl: camera 999999: no such camera" \
  "$CWCTL" footage find --camera 999999 "${F[@]}"
expect_fail 1 "cwctl: --camera: no camera named 'nope'" \
  "$CWCTL" footage find --camera nope "${F[@]}"
expect_ok "$CWCTL" camera rm foot-gone
expect_ok "$CWCTL" footage find --camera "$gone" "${F[@]}" --json
expect_json "len(d['segments']) == 1" "a removed camera's footage is still found"

# --- legal hold ---------------------------------------------------------------
audit_before=$(sql "SELECT count(*) FROM audit_log")
expect_ok "$CWCTL" footage hold --camera "$id" --from 2026-05-01T10:00:00Z \
  --to 2026-05-01T10:30:00Z --case CASE-17
expect_stdout_contains "held camera $id"
expect_stdout_contains "for case CASE-17"
expect_eq "hold row" "1" "$(sql "SELECT count(*) FROM footage_holds
  WHERE camera_id = $id AND case_id = 'CASE-17' AND released_at IS NULL
  AND created_by LIKE 'cli:%'")"
expect_eq "hold audited" "1" "$(sql "SELECT count(*) FROM audit_log
  WHERE action = 'footage.hold' AND object = 'camera:$id' AND actor LIKE 'cli:%'
  AND details->>'case' = 'CASE-17' AND details->>'from' = '2026-05-01T10:00:00.000000Z'
  AND details->>'to' = '2026-05-01T10:30:00.000000Z'")"
expect_fail 1 "camera 999999: no such camera" "$CWCTL" footage hold --camera 999999 "${F[@]}" \
  --case CASE-17
# Release of nothing: another case, or a range that does not hold the hold.
expect_fail 1 "no active hold for case 'CASE-18'" "$CWCTL" footage release --camera "$id" \
  --from 2026-05-01T00:00:00Z --to 2026-05-02T00:00:00Z --case CASE-18
expect_fail 1 "no active hold for case 'CASE-17'" "$CWCTL" footage release --camera "$id" \
  --from 2026-05-01T10:10:00Z --to 2026-05-02T00:00:00Z --case CASE-17
expect_ok "$CWCTL" footage release --camera "$id" --from 2026-05-01T00:00:00Z \
  --to 2026-05-02T00:00:00Z --case CASE-17
expect_stdout_contains "released 1 hold of case CASE-17"
expect_eq "hold released" "1" "$(sql "SELECT count(*) FROM footage_holds
  WHERE case_id = 'CASE-17' AND released_at IS NOT NULL AND released_by LIKE 'cli:%'")"
expect_eq "release audited" "1" "$(sql "SELECT count(*) FROM audit_log
  WHERE action = 'footage.release' AND object = 'camera:$id' AND details->>'case' = 'CASE-17'")"
expect_fail 1 "no active hold for case 'CASE-17'" "$CWCTL" footage release --camera "$id" \
  --from 2026-05-01T00:00:00Z --to 2026-05-02T00:00:00Z --case CASE-17
expect_eq "audit rows: one hold, one release" "$((audit_before + 2))" \
  "$(sql "SELECT count(*) FROM audit_log")"
expect_ok "$CWCTL" audit verify
expect_stdout_contains "hash chain verified"

# --- retention ----------------------------------------------------------------
expect_ok "$CWCTL" footage retention --camera foot-1 --days 9
expect_stdout_contains "camera $id: footage kept 9 days"
expect_eq "retention set" "9" "$(sql "SELECT retention_days FROM cameras WHERE id = $id")"
expect_ok "$CWCTL" camera show foot-1
expect_stdout_contains "9 days"
expect_ok "$CWCTL" footage retention --camera "$id" --days default
expect_eq "retention back to the default" "" \
  "$(sql "SELECT retention_days FROM cameras WHERE id = $id")"
expect_eq "retention audited" "2" "$(sql "SELECT count(*) FROM audit_log
  WHERE action = 'camera.retention' AND object = 'camera:foot-1'")"
expect_fail 2 "cwctl: --days: '0' is not a number of days" \
  "$CWCTL" footage retention --camera "$id" --days 0
expect_fail 2 "cwctl: --days: '3651'" "$CWCTL" footage retention --camera "$id" --days 3651
expect_fail 2 "cwctl: --days: required" "$CWCTL" footage retention --camera "$id"
expect_fail 1 "camera $gone: no such camera" \
  "$CWCTL" footage retention --camera "$gone" --days 5
expect_ok "$CWCTL" audit verify

done_ok
