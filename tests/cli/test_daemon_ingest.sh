#!/usr/bin/env bash
# citywatchd pulls every enabled camera and follows the registry without a
# restart: a camera added with cwctl plays within seconds, a disabled one
# stops and shows "disabled", an edited URL reconnects, a removed one goes;
# health (state, codec, resolution, fps, bitrate, last frame, reconnects,
# last error) reaches PostgreSQL and cwctl camera list / show / status. The
# cameras are served by gst-rtsp-server (tests/interop/gst_rtsp_server).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"
: "${CITYWATCHD:?}" "${GST_RTSP_SERVER:?}"

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PW='Daemon-camera-pw9'
open_port=$(port)
auth_port=$(port)
pids=()
# shellcheck disable=SC2317  # reached through trap only
stop_all() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf -- "$CW_TMP"
}
trap stop_all EXIT
"$GST_RTSP_SERVER" "$open_port" none >"$CW_TMP/open.log" 2>&1 &
pids+=($!)
"$GST_RTSP_SERVER" "$auth_port" digest cam "$PW" >"$CW_TMP/auth.log" 2>&1 &
pids+=($!)

expect_ok "$CWCTL" db migrate
printf '%s\n' "$PW" >"$CW_TMP/pw"
expect_ok "$CWCTL" camera add --name h264-tcp --url "rtsp://127.0.0.1:$open_port/h264"
expect_ok "$CWCTL" camera add --name h265-udp --url "rtsp://127.0.0.1:$open_port/h265" --transport udp
expect_ok "$CWCTL" camera add --name digest --url "rtsp://127.0.0.1:$auth_port/h264" \
  --username cam --password-file "$CW_TMP/pw"
expect_ok "$CWCTL" camera add --name wrong-pw --url "rtsp://cam:not-it@127.0.0.1:$auth_port/h264"
expect_ok "$CWCTL" camera add --name refused --url "rtsp://127.0.0.1:1/x"
expect_ok "$CWCTL" camera add --name off --url "rtsp://127.0.0.1:$open_port/h264" --disabled

cat >"$CW_TMP/node.conf" <<CONF
[events]
journal_dir = $CW_TMP/events
snapshot_dir = $CW_TMP/snapshots
[recording]
root = $CW_TMP/footage
# Rates are measured here: no decoding beside them (analytics has its own test).
[analytics]
enabled = false
[node]
name = test-node
[ingest]
workers = 2
health_interval = 0.5
camera_poll_interval = 0.3
backoff_min = 0.2
backoff_max = 2
stall_timeout = 3
CONF
"$CITYWATCHD" -c "$CW_TMP/node.conf" >"$CW_TMP/daemon.log" 2>&1 &
daemon=$!
pids+=("$daemon")

# wait_state NAME STATE SECONDS
wait_state() {
  local i got=
  for i in $(seq 1 $(($3 * 10))); do
    got=$(sql "SELECT coalesce(CASE WHEN NOT c.enabled THEN 'disabled' ELSE h.state END, '')
               FROM cameras c LEFT JOIN camera_health h ON h.camera_id = c.id WHERE c.name = '$1'")
    [ "$got" = "$2" ] && { _cw_pass; return 0; }
    sleep 0.1
  done
  echo "--- daemon log ---" >&2
  tail -30 "$CW_TMP/daemon.log" >&2
  fail "camera $1: expected state $2 within $3 s, last saw '${got}'"
}

wait_state h264-tcp playing 20
wait_state h265-udp playing 20
wait_state digest playing 20
wait_state wrong-pw failed 20
wait_state refused backoff 20
wait_state off disabled 10
# A few health periods, for rates to settle.
sleep 2
expect_eq "h264-tcp stream" "H264|640|360|tcp|test-node" \
  "$(sql "SELECT h.codec, h.width, h.height, h.transport, h.node FROM camera_health h JOIN cameras c ON c.id = h.camera_id WHERE c.name = 'h264-tcp'")"
expect_eq "h265-udp stream" "H265|640|360|udp" \
  "$(sql "SELECT h.codec, h.width, h.height, h.transport FROM camera_health h JOIN cameras c ON c.id = h.camera_id WHERE c.name = 'h265-udp'")"
expect_eq "fps and bitrate plausible" "t|t|t" \
  "$(sql "SELECT bool_and(fps BETWEEN 20 AND 30), bool_and(bitrate_bps > 20000), bool_and(last_frame_at > now() - interval '5 s') FROM camera_health h JOIN cameras c ON c.id = h.camera_id WHERE c.name IN ('h264-tcp', 'h265-udp', 'digest')")"
expect_eq "wrong password: last error" "DESCRIBE: 401 Unauthorized: credentials rejected" \
  "$(sql "SELECT last_error FROM camera_health h JOIN cameras c ON c.id = h.camera_id WHERE c.name = 'wrong-pw'")"
expect_eq "refused: last error" "connect: connection refused" \
  "$(sql "SELECT last_error FROM camera_health h JOIN cameras c ON c.id = h.camera_id WHERE c.name = 'refused'")"
expect_eq "refused: reconnects counted" "t" \
  "$(sql "SELECT reconnects >= 2 FROM camera_health h JOIN cameras c ON c.id = h.camera_id WHERE c.name = 'refused'")"

expect_ok "$CWCTL" camera list
expect_stdout_contains "playing"
expect_stdout_contains "connect: connection refused"
expect_ok "$CWCTL" camera show h265-udp
expect_stdout_contains "stream:        H265 640x360"
expect_ok "$CWCTL" status
expect_stdout_contains "cameras: 6"
expect_stdout_contains "playing      3"
expect_ok "$CWCTL" status --json
expect_json 'd["total"] == 6 and d["by_state"]["playing"] == 3 and d["by_state"]["disabled"] == 1'

# Followed without a restart.
expect_ok "$CWCTL" camera add --name late --url "rtsp://127.0.0.1:$open_port/h265"
wait_state late playing 20
expect_ok "$CWCTL" camera disable h264-tcp
wait_state h264-tcp disabled 10
expect_ok "$CWCTL" camera enable off
wait_state off playing 20
expect_ok "$CWCTL" camera edit refused --url "rtsp://127.0.0.1:$open_port/h264"
wait_state refused playing 20
expect_ok "$CWCTL" camera rm late
expect_eq "removed camera's health row" "0" "$(sql "SELECT count(*) FROM camera_health h WHERE NOT EXISTS (SELECT 1 FROM cameras c WHERE c.id = h.camera_id)")"

# A server that goes away: its cameras leave playing, then come back.
kill -TERM "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
i=0
until [ "$(sql "SELECT count(*) FROM camera_health h JOIN cameras c ON c.id = h.camera_id WHERE c.name IN ('h265-udp', 'off', 'refused') AND h.state <> 'playing'")" = 3 ]; do
  i=$((i + 1))
  [ $i -lt 150 ] || fail "cameras still playing 15 s after their server stopped"
  sleep 0.1
done
_cw_pass
"$GST_RTSP_SERVER" "$open_port" none >"$CW_TMP/open2.log" 2>&1 &
pids[0]=$!
wait_state h265-udp playing 30
wait_state off playing 30

# The daemon never logs a camera password, and stops cleanly.
kill -TERM "$daemon"
wait "$daemon"
expect_eq "daemon exit status" 0 "$?"
if grep -qF "$PW" "$CW_TMP/daemon.log" || grep -qF "not-it" "$CW_TMP/daemon.log"; then
  fail "a camera password appears in the daemon log"
fi
_cw_pass
grep -q "camera wrong-pw (rtsp://cam:\*\*\*@127.0.0.1:$auth_port/h264)" "$CW_TMP/daemon.log" ||
  fail "transitions are not logged with the redacted URL"
_cw_pass
done_ok
