#!/usr/bin/env bash
# cwctl alerts list|ack|resolve over alerts opened by events the script adds
# through events_add (JSON, handed to events_add_rows like the event
# writer's batches): the table for
# people and --json, filters, the lifecycle with its audit rows and the hash
# chain, refusals (exit 1 naming the alert) and bad usage (exit 2). Also
# checks storage/EVENTS.md against event_kinds: kinds, severities, alerting,
# lasting.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/../cli/lib.sh"
: "${EVENTS_MD:=$here/../../storage/EVENTS.md}"

expect_ok "$CWCTL" db migrate
expect_ok "$CWCTL" camera add --name bridge-north --url rtsp://10.9.0.1/s
cam=$(sql "SELECT id FROM cameras WHERE name = 'bridge-north'")

# event KIND START [CAMERA] [ID]: one event through events_add; prints how many were new.
event() {
  local kind=$1 start=$2 camera=${3:-$cam} id=${4:-}
  [ -n "$id" ] || id=$(python3 -c 'import uuid; print(uuid.uuid4())')
  sql "SELECT events_add(json_build_array(json_build_object(
         'id', '$id', 'camera_id', $camera, 'node', 'node-a', 'kind', '$kind',
         'start_time', '$start', 'attributes', json_build_object('test', true))))"
}

# --- EVENTS.md and event_kinds agree ------------------------------------------
[ -f "$EVENTS_MD" ] || fail "no $EVENTS_MD"
doc=$(python3 - "$EVENTS_MD" <<'EOF'
import re, sys
rows = []
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.match(r"^\|\s*`([a-z][a-z0-9_.]*)`\s*\|\s*(\w+)\s*\|\s*(yes|no)\s*\|\s*(yes|no)\s*\|", line)
    if m and "." in m.group(1):
        rows.append("%s|%s|%s|%s" % (m.group(1), m.group(2),
                    "t" if m.group(3) == "yes" else "f", "t" if m.group(4) == "yes" else "f"))
print("\n".join(sorted(rows)))
EOF
)
db=$(sql "SELECT kind || '|' || severity || '|' || alerting::text::char || '|' || lasting::text::char
          FROM event_kinds ORDER BY kind COLLATE \"C\"")
[ "$(printf '%s\n' "$doc" | wc -l)" -ge 16 ] || fail "EVENTS.md: fewer than 16 kinds parsed: $doc"
expect_eq "kinds in EVENTS.md (kind|severity|alerting|lasting) = event_kinds" "$db" "$doc"

# --- alerts from events ---------------------------------------------------------
expect_eq "new events" 1 "$(event camera.offline 2026-06-01T10:00:00Z)"
expect_eq "new events" 1 "$(event camera.offline 2026-06-01T10:01:00Z)"
expect_eq "new events" 1 "$(event traffic.congestion 2026-06-01T10:02:00Z)"
expect_eq "new events" 1 "$(event traffic.count 2026-06-01T10:03:00Z)"
# The same event again: nothing new, the alert's count unchanged.
fixed=5b1c1e5e-0000-4000-8000-00000000c0de
expect_eq "new events" 1 "$(event camera.tamper.frozen 2026-06-01T10:04:00Z "$cam" $fixed)"
expect_eq "retried event" 0 "$(event camera.tamper.frozen 2026-06-01T10:04:00Z "$cam" $fixed)"
offline=$(sql "SELECT id FROM alerts WHERE kind = 'camera.offline'")
congestion=$(sql "SELECT id FROM alerts WHERE kind = 'traffic.congestion'")
frozen=$(sql "SELECT id FROM alerts WHERE kind = 'camera.tamper.frozen'")

expect_ok "$CWCTL" alerts list
expect_stdout_contains "ID     STATE        SEVERITY CAMERA"
expect_stdout_contains "LAST EVENT"
# Columns joined by single spaces ($1 = $1 makes awk rebuild the line).
row=$(printf '%s\n' "$OUT" | awk -v id="$offline" '$1 == id {$1 = $1; print}')
expect_eq "offline alert row" \
  "$offline open critical $cam bridge-north camera.offline 2026-06-01T10:00:00Z 2026-06-01T10:01:00Z 2" \
  "$row"
expect_eq "three alerts, newest first" "$frozen $congestion $offline" \
  "$(printf '%s\n' "$OUT" | awk 'NR > 1 {print $1}' | xargs)"

expect_ok "$CWCTL" alerts list --json
expect_json "len(d) == 3 and [a['kind'] for a in d] == ['camera.tamper.frozen', 'traffic.congestion', 'camera.offline']" "three, newest first"
expect_json "[a['events'] for a in d] == [1, 1, 2]" "events counted once each"
expect_json "d[2]['state'] == 'open' and d[2]['camera_id'] == $cam and d[2]['camera_name'] == 'bridge-north' and d[2]['severity'] == 'critical'"
expect_ok "$CWCTL" alerts list --json --kind traffic.congestion
expect_json "len(d) == 1 and d[0]['id'] == $congestion"
expect_ok "$CWCTL" alerts list --json --camera bridge-north --limit 2
expect_json "len(d) == 2"
expect_ok "$CWCTL" alerts list --json --camera "$cam" --state resolved
expect_json "d == []"

# --- ack and resolve -------------------------------------------------------------
audit_before=$(sql "SELECT count(*) FROM audit_log")
expect_ok "$CWCTL" alerts ack "$congestion"
expect_stdout_contains "alert $congestion acknowledged by cli:"
expect_fail 1 "alert $congestion: cannot acknowledge an alert that is acknowledged (by cli:" \
  "$CWCTL" alerts ack "$congestion"
expect_ok "$CWCTL" alerts resolve "$congestion" --note "queue cleared by police"
expect_stdout_contains "alert $congestion resolved by cli:"
expect_fail 1 "alert $congestion: cannot resolve an alert that is resolved" \
  "$CWCTL" alerts resolve "$congestion" --note again
expect_fail 1 "alert $congestion: cannot acknowledge an alert that is resolved" \
  "$CWCTL" alerts ack "$congestion"
expect_ok "$CWCTL" alerts resolve "$frozen" --note "bird nest removed"
expect_eq "audit rows, one per change" "alert.ack|t|open|acknowledged|
alert.resolve|t|acknowledged|resolved|queue cleared by police
alert.resolve|t|open|resolved|bird nest removed" \
  "$(sql "SELECT action || '|' || (actor LIKE 'cli:_%')::text::char || '|' || (before->>'state')
          || '|' || (after->>'state') || '|' || coalesce(details->>'note', '')
          FROM audit_log WHERE id > $audit_before ORDER BY id")"
expect_ok "$CWCTL" alerts list --json --state resolved
expect_json "sorted(a['id'] for a in d) == sorted([$congestion, $frozen]) and all(not a['auto_resolved'] for a in d)"
expect_ok "$CWCTL" alerts list
expect_eq "default list: unresolved only" "$offline" \
  "$(printf '%s\n' "$OUT" | awk 'NR > 1 {print $1}' | xargs)"
expect_ok "$CWCTL" alerts list --state all --json
expect_json "len(d) == 3"

# --- the camera comes back ---------------------------------------------------------
expect_eq "new events" 1 "$(event camera.online 2026-06-01T10:30:00Z)"
expect_ok "$CWCTL" alerts list --json --state resolved --kind camera.offline
expect_json "len(d) == 1 and d[0]['resolved_by'] == 'system' and d[0]['auto_resolved'] and 'came back' in d[0]['resolution_note'] and '2026-06-01T10:30:00' in d[0]['resolution_note']"
expect_fail 1 "alert $offline: cannot acknowledge an alert that is resolved (by system at " \
  "$CWCTL" alerts ack "$offline"
# Offline again: a new alert, not the resolved one reopened.
expect_eq "new events" 1 "$(event camera.offline 2026-06-01T11:00:00Z)"
expect_eq "alerts for the camera's offline incidents" "resolved open" \
  "$(sql "SELECT string_agg(state, ' ' ORDER BY id) FROM alerts WHERE kind = 'camera.offline'")"

expect_ok "$CWCTL" audit verify

# --- refusals and usage ----------------------------------------------------------------
expect_fail 1 "alert 999999: no such alert" "$CWCTL" alerts ack 999999
expect_fail 1 "alert 999999: no such alert" "$CWCTL" alerts resolve 999999 --note x
expect_fail 2 "ID: 'abc' is not an alert id" "$CWCTL" alerts ack abc
expect_fail 2 "ID: '0' is not an alert id" "$CWCTL" alerts ack 0
expect_fail 2 "ID: '1x' is not an alert id" "$CWCTL" alerts resolve 1x --note x
expect_fail 2 "expected 1 argument" "$CWCTL" alerts ack
expect_fail 2 "--note: required" "$CWCTL" alerts resolve "$offline"
expect_fail 2 "--state: 'closed' is not open, acknowledged, resolved, unresolved or all" \
  "$CWCTL" alerts list --state closed
expect_fail 2 "--limit: must be 1..100000" "$CWCTL" alerts list --limit 0
expect_fail 2 "unknown alerts command 'close'" "$CWCTL" alerts close 1
expect_fail 1 "--camera: no camera named 'nowhere'" "$CWCTL" alerts list --camera nowhere
expect_eq "refusals changed nothing" "resolved open" \
  "$(sql "SELECT string_agg(state, ' ' ORDER BY id) FROM alerts WHERE kind = 'camera.offline'")"

done_ok
