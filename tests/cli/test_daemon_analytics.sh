#!/usr/bin/env bash
# citywatchd analysing a camera (issue 6, items 2 and 3): a synthetic road
# scene with a 5 s blackout (tests/scenes/scenegen), served in a loop by the
# camera simulator. `cwctl camera analytics` refuses a bad configuration
# naming the member and stores a good one; the node's analytics pool then
# reports per-interval counts and the blackout as an event with its end
# filled in when the picture returns, an alert and a snapshot; counts reach
# the per-minute counts table; camera health shows the analysis rate.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"
: "${CITYWATCHD:?}" "${CAMSIM:?}" "${SCENEGEN:?}"

pids=()
# shellcheck disable=SC2317  # reached through trap only
stop_all() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf -- "$CW_TMP"
}
trap stop_all EXIT

scene=$CW_TMP/scene
"$SCENEGEN" --scenario blackout --seconds 30 --size 320x180 --out "$scene" >/dev/null 2>&1 ||
  fail "scenegen could not render the blackout scene"
ffmpeg -v error -i "$scene/blackout.mp4" -c copy -bsf:v h264_mp4toannexb -f h264 "$scene/clip.h264"
# Counts every 10 s rather than every minute: the test has no minutes to wait.
python3 - "$scene/blackout.config.json" "$CW_TMP/analytics.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["thresholds"] = {"count_interval_s": 10}
json.dump(c, open(sys.argv[2], "w"))
PY

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$CAMSIM" --port "$port" --fps 10 --clip "h264=$scene/clip.h264" --mount road:h264:normal \
  >"$CW_TMP/camsim.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "listening" "$CW_TMP/camsim.log" && break; sleep 0.1; done

expect_ok "$CWCTL" db migrate
expect_ok "$CWCTL" camera add --name road --url "rtsp://127.0.0.1:$port/road"

# --- the configuration: checked before it is stored ------------------------
printf '{"lines": [{"id": "L1", "from": [0.1, 0.5], "to": [1.5, 0.5]}]}\n' >"$CW_TMP/bad.json"
# A line end outside the frame, named with the file and the member.
expect_fail 1 "$CW_TMP/bad.json: lines[0].to: expected [x, y] with 0 <= x, y <= 1" \
  "$CWCTL" camera analytics --check "$CW_TMP/bad.json"
expect_fail 1 "lines[0].to" "$CWCTL" camera analytics road --set "$CW_TMP/bad.json"
printf '{"zones": [{"id": "z", "kind": "no_parking", "polygon": [[0,0],[1,0],[1,1]]}]}\n' \
  >"$CW_TMP/bad2.json"
expect_fail 1 "zones[0].kind" "$CWCTL" camera analytics --check "$CW_TMP/bad2.json"
expect_eq "nothing stored by the refusals" "{}" \
  "$(sql "SELECT analytics::text FROM cameras WHERE name = 'road'")"
expect_ok "$CWCTL" camera analytics --check "$CW_TMP/analytics.json"
expect_stdout_contains "2 lines, 4 lanes, 2 zones"
expect_ok "$CWCTL" camera analytics road --set "$CW_TMP/analytics.json"
expect_ok "$CWCTL" camera analytics road
expect_stdout_contains '"count_interval_s": 10'
expect_eq "the change audited" "1" \
  "$(sql "SELECT count(*) FROM audit_log WHERE action = 'camera.analytics' AND object = 'camera:road'")"

cat >"$CW_TMP/node.conf" <<CONF
[events]
journal_dir = $CW_TMP/events
snapshot_dir = $CW_TMP/snapshots
[recording]
enabled = false
[analytics]
threads = 1
[ingest]
workers = 1
health_interval = 0.5
camera_poll_interval = 0.5
CONF
"$CITYWATCHD" -c "$CW_TMP/node.conf" >"$CW_TMP/daemon.log" 2>&1 &
daemon=$!
pids+=("$daemon")

# wait_sql SECONDS WHAT SQL: SQL returns t within SECONDS.
wait_sql() {
  local i
  for i in $(seq 1 $(($1 * 5))); do
    [ "$(sql "$3")" = t ] && { _cw_pass; return 0; }
    sleep 0.2
  done
  tail -20 "$CW_TMP/daemon.log" >&2
  fail "$2 within $1 s"
}
cam=$(sql "SELECT id FROM cameras WHERE name = 'road'")
# The clip loops every 30 s; its blackout is at 9.5..14.3 s of each pass.
wait_sql 90 "a blackout event whose end is filled in" \
  "SELECT count(*) >= 1 FROM events WHERE camera_id = $cam AND kind = 'camera.tamper.blackout'
   AND end_time IS NOT NULL AND end_time > start_time"
expect_eq "the blackout lasted about as long as the clip's (4.8 s, give or take the 3 s hold)" "t" \
  "$(sql "SELECT bool_and(extract(epoch FROM end_time - start_time) BETWEEN 1 AND 9)
          FROM events WHERE camera_id = $cam AND kind = 'camera.tamper.blackout' AND end_time IS NOT NULL")"
expect_eq "one row per blackout: the end updates its start's row" "0" \
  "$(sql "SELECT count(*) FROM events WHERE camera_id = $cam AND kind = 'camera.tamper.blackout'
          AND end_time IS NULL AND start_time < now() - interval '20 seconds'")"
expect_eq "an alert for it" "t" \
  "$(sql "SELECT count(*) >= 1 FROM alerts WHERE camera_id = $cam AND kind = 'camera.tamper.blackout'")"
path=$(sql "SELECT snapshot FROM events WHERE camera_id = $cam AND kind = 'camera.tamper.blackout'
            AND snapshot IS NOT NULL ORDER BY start_time LIMIT 1")
[ -n "$path" ] || fail "the blackout event has no snapshot"
for _ in $(seq 1 50); do [ -s "$CW_TMP/snapshots/$path" ] && break; sleep 0.1; done
expect_eq "its snapshot decodes" "mjpeg,320,180" \
  "$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height \
       -of csv=p=0 "$CW_TMP/snapshots/$path" 2>&1)"
wait_sql 30 "counts for both lines" \
  "SELECT count(DISTINCT attributes->>'line') = 2 FROM events
   WHERE camera_id = $cam AND kind = 'traffic.count'"
expect_eq "the counts table holds each count event" "t" \
  "$(sql "SELECT (SELECT count(*) FROM traffic_counts WHERE camera_id = $cam) =
                 (SELECT count(*) FROM events WHERE camera_id = $cam AND kind = 'traffic.count')")"
expect_eq "vehicles counted" "t" \
  "$(sql "SELECT sum(forward + reverse) > 0 FROM traffic_counts WHERE camera_id = $cam")"
expect_eq "no traffic incident on this scene" "0" \
  "$(sql "SELECT count(*) FROM events WHERE camera_id = $cam
          AND kind IN ('traffic.stopped_vehicle', 'traffic.wrong_way', 'traffic.congestion')")"
expect_eq "camera health shows the analysis" "t" \
  "$(sql "SELECT analytics_fps > 0 AND analytics_state = 'analysing' FROM camera_health WHERE camera_id = $cam")"

kill -TERM "$daemon"
rc=0
wait "$daemon" || rc=$?
expect_eq "daemon exit status" 0 "$rc"
done_ok
