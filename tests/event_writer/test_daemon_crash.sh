#!/usr/bin/env bash
# citywatchd itself killed with -9 while it produces events (issue 5, item
# 6), on a PostgreSQL server of the test's own. 100 simulated cameras that
# drop every second keep the daemon emitting camera.offline and camera.online;
# the database is stopped, every camera then goes dark (the simulator is
# stopped), and the daemon is killed with -9 while those events wait in its
# journal. After the database, the cameras and the daemon are back:
# - everything that was accepted (committed before the kill, or held by the
#   journal at the kill) is in the events table exactly once;
# - the offline alerts the dead daemon left behind are resolved by the new
#   one when the cameras play again (camera.online with after_start);
# - the journal, once drained, holds nothing the table lacks.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/../cli/lib.sh"
# shellcheck source=tests/harness/pg.sh
. "$here/../harness/pg.sh"
: "${CITYWATCHD:?}" "${CWCTL:?}" "${CAMSIM:?}" "${JOURNAL_IDS:?}"
command -v ffmpeg >/dev/null || fail "ffmpeg is needed to make the clip"

FLAP=100 STEADY=6
pg=$(mktemp -d /tmp/cw-evcrash-pg.XXXXXX)
rmdir "$pg" # cw_pg_start makes it, and marks it as its own
camsim= daemon=
# shellcheck disable=SC2317  # reached through trap only
stop_all() {
  [ -z "$daemon" ] || kill -KILL "$daemon" 2>/dev/null || true
  [ -z "$camsim" ] || kill -KILL "$camsim" 2>/dev/null || true
  wait 2>/dev/null || true
  cw_pg_stop "$pg" || true
  rm -rf -- "$CW_TMP"
}
trap stop_all EXIT
# Durable: a stopped server must not forget what it acknowledged.
export CW_PG_PROFILE=durable
cw_pg_start "$pg" >/dev/null || fail "could not start a PostgreSQL server of our own"
expect_ok "$CWCTL" db migrate

ffmpeg -v error -f lavfi -i testsrc2=size=160x120:rate=10 -t 2 -g 10 -c:v libx264 \
  -bsf:v h264_mp4toannexb -f h264 "$CW_TMP/clip.h264"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mounts=() csv=$CW_TMP/cameras.csv
echo 'name,url,username,password,lat,lon,road,direction,tags' >"$csv"
for i in $(seq 1 $FLAP); do
  mounts+=(--mount "f$i:h264:drop:1")
  echo "flap$i,rtsp://127.0.0.1:$port/f$i,,,,,,," >>"$csv"
done
for i in $(seq 1 $STEADY); do
  mounts+=(--mount "s$i:h264:normal")
  echo "steady$i,rtsp://127.0.0.1:$port/s$i,,,,,,," >>"$csv"
done
expect_ok "$CWCTL" camera import "$csv"

start_camsim() {
  "$CAMSIM" --port "$port" --clip "h264=$CW_TMP/clip.h264" "${mounts[@]}" \
    >"$CW_TMP/camsim.log" 2>&1 &
  camsim=$!
  for _ in $(seq 1 100); do grep -q "listening" "$CW_TMP/camsim.log" && return 0; sleep 0.1; done
  cat "$CW_TMP/camsim.log" >&2
  fail "camsim did not start"
}
cat >"$CW_TMP/node.conf" <<CONF
[events]
journal_dir = $CW_TMP/events
snapshot_dir = $CW_TMP/snapshots
[recording]
enabled = false
[analytics]
enabled = false
[node]
metrics_file = $CW_TMP/node.prom
[ingest]
workers = 2
health_interval = 0.5
camera_poll_interval = 0.5
backoff_min = 1
backoff_max = 1
stall_timeout = 2
rtsp_timeout = 2
CONF
start_daemon() {
  "$CITYWATCHD" -c "$CW_TMP/node.conf" >>"$CW_TMP/daemon.log" 2>&1 &
  daemon=$!
}
steady_sql="SELECT c.id FROM cameras c WHERE c.name LIKE 'steady%'"
# wait_sql SECONDS WHAT SQL: SQL returns t within SECONDS.
wait_sql() {
  local i
  for i in $(seq 1 $(($1 * 5))); do
    [ "$(sql "$3" 2>/dev/null)" = t ] && { _cw_pass; return 0; }
    sleep 0.2
  done
  tail -20 "$CW_TMP/daemon.log" >&2
  fail "$2 within $1 s"
}

start_camsim
start_daemon
t0=$SECONDS
wait_sql 40 "every steady camera playing" \
  "SELECT count(*) = $STEADY FROM camera_health WHERE state = 'playing' AND camera_id IN ($steady_sql)"
wait_sql 60 "300 events from the dropping cameras" "SELECT count(*) >= 300 FROM events"
n1=$(sql "SELECT count(*) FROM events")
echo "before the outage: $n1 events in $((SECONDS - t0)) s"

# The database goes away: what the daemon emits now waits in its journal.
cw_pg_stop_server "$pg"
sleep 5
# Monitoring sees it: the metrics file says the writer is cut off and the
# journal holds events PostgreSQL has not committed.
metric() { awk -v m="$1" '$1 ~ "^"m"[{]" {print $2}' "$CW_TMP/node.prom"; }
expect_eq "metrics: the event writer is disconnected" 0 "$(metric citywatch_events_db_connected)"
[ "$(metric citywatch_events_accepted_total)" -gt "$(metric citywatch_events_committed_total)" ] ||
  fail "metrics: nothing accepted waits for PostgreSQL: $(cat "$CW_TMP/node.prom")"
[ "$(metric citywatch_events_journal_bytes)" -gt 0 ] || fail "metrics: an empty journal"
_cw_pass
# Every camera goes dark; the steady ones' offline events join the journal.
kill -KILL "$camsim"
wait "$camsim" 2>/dev/null || true
camsim=
sleep 3
kill -KILL "$daemon"
wait "$daemon" 2>/dev/null || true
daemon=
grep -q "events wait in the journal" "$CW_TMP/daemon.log" || fail "no log line says events wait"
_cw_pass

"$JOURNAL_IDS" "$CW_TMP/events" >"$CW_TMP/held" || fail "cannot read the journal the daemon left"
held=$(wc -l <"$CW_TMP/held")
[ "$held" -gt 0 ] || fail "the journal held nothing at the kill"
_cw_pass
cw_pg_start "$pg" >/dev/null || fail "could not start the server again"
steady_ids=$(sql "$steady_sql" | tr '\n' ' ')
for id in $steady_ids; do
  grep -q " camera.offline $id\$" "$CW_TMP/held" || fail "the journal lacks camera $id's offline event"
done
_cw_pass
sql "SELECT id FROM events" >"$CW_TMP/stored_at_kill"
echo "at the kill: $(wc -l <"$CW_TMP/stored_at_kill") events stored, $held held by the journal"
{ cut -d' ' -f1 "$CW_TMP/held"; cat "$CW_TMP/stored_at_kill"; } | sort -u >"$CW_TMP/accepted"

# Everything back. The offline alerts must not outlive the crash.
start_camsim
start_daemon
wait_sql 40 "the steady cameras' offline alerts, opened from the journal" \
  "SELECT count(DISTINCT camera_id) = $STEADY FROM alerts
   WHERE kind = 'camera.offline' AND camera_id IN ($steady_sql)"
wait_sql 40 "those alerts resolved by the restarted daemon" \
  "SELECT count(*) = 0 FROM alerts
   WHERE kind = 'camera.offline' AND state <> 'resolved' AND camera_id IN ($steady_sql)"
expect_eq "they say they resolved themselves" "t" \
  "$(sql "SELECT bool_and(auto_resolved) FROM alerts WHERE kind = 'camera.offline' AND camera_id IN ($steady_sql)")"
expect_eq "steady cameras' online events after the restart say so" "t" \
  "$(sql "SELECT count(DISTINCT camera_id) = $STEADY FROM events WHERE kind = 'camera.online'
          AND (attributes->>'after_start')::boolean AND camera_id IN ($steady_sql)")"
sleep 3
kill -TERM "$daemon"
rc=0
wait "$daemon" || rc=$?
daemon=
expect_eq "daemon exit status after SIGTERM" 0 "$rc"

sql "SELECT id FROM events" | sort >"$CW_TMP/stored"
expect_eq "events stored twice" "" "$(uniq -d "$CW_TMP/stored" | head -3)"
expect_eq "accepted events missing from the table" "" \
  "$(comm -23 "$CW_TMP/accepted" "$CW_TMP/stored" | head -3)"
# What the stop's two seconds of grace did not deliver waits in the journal:
# the next start sends it first.
"$JOURNAL_IDS" "$CW_TMP/events" | cut -d' ' -f1 | sort >"$CW_TMP/left"
comm -23 "$CW_TMP/left" "$CW_TMP/stored" >"$CW_TMP/pending"
if [ -s "$CW_TMP/pending" ]; then
  echo "$(wc -l <"$CW_TMP/pending") events left for the next start"
  kill -KILL "$camsim"
  wait "$camsim" 2>/dev/null || true
  camsim=
  start_daemon
  last=$(tail -1 "$CW_TMP/pending")
  wait_sql 30 "the next start delivering what the journal held" \
    "SELECT count(*) = 1 FROM events WHERE id = '$last'"
  kill -TERM "$daemon"
  wait "$daemon" || true
  daemon=
  sql "SELECT id FROM events" | sort >"$CW_TMP/stored"
  expect_eq "events left in the journal but not in the table" "" \
    "$(comm -23 "$CW_TMP/pending" "$CW_TMP/stored" | head -3)"
  expect_eq "events stored twice (after the next start)" "" "$(uniq -d "$CW_TMP/stored" | head -3)"
fi
echo "stored $(wc -l <"$CW_TMP/stored") events; every one of the $(wc -l <"$CW_TMP/accepted") accepted by the killed daemon among them, none twice"
done_ok
