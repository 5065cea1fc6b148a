#!/usr/bin/env bash
# Recording through database outages, on a PostgreSQL server of the test's
# own (stopped and started by the test): citywatchd keeps recording while
# the database is down, indexes what it recorded meanwhile once it is back
# (every file its row, no row twice), and after a kill -9 during an outage
# the next start indexes the files closed during it and the one cut short.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/harness/pg.sh
. "$here/../harness/pg.sh"
: "${CITYWATCHD:?}" "${CAMSIM:?}"

pg=$(mktemp -d /tmp/cw-outage-pg.XXXXXX)
rmdir "$pg" # cw_pg_start makes it, and marks it as its own
pids=()
# shellcheck disable=SC2317  # reached through trap only
stop_all() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  cw_pg_stop "$pg" || true
  rm -rf -- "$CW_TMP"
}
trap stop_all EXIT

# Our own server: the shared one of the test run must not be stopped.
# Durable settings: with synchronous_commit off, a stopped server forgets
# commits it had already acknowledged, and no client could do better.
export CW_PG_PROFILE=durable
cw_pg_start "$pg" >/dev/null || fail "could not start a PostgreSQL server of our own"
_cw_pass

ffmpeg -v error -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -g 25 -bf 0 -c:v libx264 \
  -bsf:v h264_mp4toannexb -f h264 "$CW_TMP/clip.h264"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$CAMSIM" --port "$port" --clip "h264=$CW_TMP/clip.h264" --mount cam:h264:normal \
  >"$CW_TMP/camsim.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "listening" "$CW_TMP/camsim.log" && break; sleep 0.1; done
grep -q "listening" "$CW_TMP/camsim.log" || fail "camsim did not start"

expect_ok "$CWCTL" db migrate
expect_ok "$CWCTL" camera add --name cam --url "rtsp://127.0.0.1:$port/cam"
footage=$CW_TMP/footage
cat >"$CW_TMP/node.conf" <<CONF
[node]
name = outage-node
[ingest]
workers = 1
health_interval = 0.5
camera_poll_interval = 0.3
[events]
journal_dir = $CW_TMP/events
snapshot_dir = $CW_TMP/snapshots
[recording]
root = $footage
segment_seconds = 2
fragment_ms = 500
retention_interval = 0.5
quota = 0
CONF

daemon=
start_daemon() {
  "$CITYWATCHD" -c "$CW_TMP/node.conf" >>"$CW_TMP/daemon.log" 2>&1 &
  daemon=$!
  pids+=("$daemon")
}
files() { find "$footage" -name '*.mp4' | wc -l; }
rows() { sql "SELECT count(*) FROM segments"; }
# wait_until SHELL-CONDITION SECONDS WHAT
wait_until() {
  local i
  for i in $(seq 1 $(($2 * 10))); do
    eval "$1" && { _cw_pass; return 0; }
    sleep 0.1
  done
  tail -20 "$CW_TMP/daemon.log" >&2
  LAST_CMD=
  fail "$3 within $2 s"
}
check_footage() {
  sql "SELECT coalesce(json_agg(s), '[]') FROM segments s" >"$CW_TMP/rows.json"
  OUT=$(python3 "$here/footage_check.py" "$footage" "$@" <"$CW_TMP/rows.json")
  LAST_CMD="footage_check.py $*"
  expect_json 'd["missing"] == [] and d["unindexed"] == [] and d["partial"] == [] and d["bad"] == []' \
    "every file indexed once, every row's file whole"
}

start_daemon
wait_until '[ "$(rows)" -ge 2 ]' 20 "two segments indexed"

# --- an outage while running -------------------------------------------------
cw_pg_stop_server "$pg"
down_files=$(files)
wait_until '[ "$(files)" -ge $((down_files + 3)) ]' 20 \
  "three more segments recorded while the database is down"
kill -0 "$daemon" 2>/dev/null || fail "citywatchd died with the database"
grep -q "recording carries on" "$CW_TMP/daemon.log" || fail "no log line says the index waits"
_cw_pass
cw_pg_start "$pg" >/dev/null || fail "could not start the server again"
wait_until '[ "$(rows)" -ge $((down_files + 3)) ]' 30 "the outage's segments indexed once it is back"

# --- kill -9 during an outage ------------------------------------------------
cw_pg_stop_server "$pg"
down_files=$(files)
wait_until '[ "$(files)" -ge $((down_files + 2)) ]' 20 "segments recorded during the second outage"
wait_until '[ -n "$(find "$footage" -name "*.part" -size +10k)" ]' 10 "a segment being written"
kill -KILL "$daemon"
wait "$daemon" 2>/dev/null || true
cw_pg_start "$pg" >/dev/null || fail "could not start the server again"
start_daemon
wait_until '[ "$(sql "SELECT count(*) FROM segments WHERE repaired")" -ge 1 ]' 30 \
  "the segment cut by kill -9 repaired and indexed"
wait_until '[ "$(rows)" -ge "$(files)" ]' 30 "every closed file indexed after the restart"
kill -TERM "$daemon"
rc=0
wait "$daemon" || rc=$?
expect_eq "citywatchd exit status after SIGTERM" 0 "$rc"
check_footage --decode
expect_json 'd["gaps"]["1"] <= 1' "no gap but the one the kill made"
expect_eq "rows of this node" "$(sql 'SELECT count(*) FROM segments')" \
  "$(sql "SELECT count(*) FROM segments WHERE node = 'outage-node'")"

done_ok
