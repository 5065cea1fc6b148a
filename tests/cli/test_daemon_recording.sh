#!/usr/bin/env bash
# citywatchd records what it pulls: H.264 and H.265 cameras from the
# simulator into keyframe-aligned fragmented MP4 segments, every one indexed
# and checked with ffprobe; a kill -9 mid-segment is repaired and indexed at
# the next start; the quota deletes the oldest footage but never footage
# under legal hold; retention by age follows each camera's own setting; and
# a full disk (a small tmpfs of the test's own) stops recording with an
# error on the camera, which recovers by itself when space returns.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"
: "${CITYWATCHD:?}" "${CAMSIM:?}"
command -v ffprobe >/dev/null || fail "ffprobe is needed to check the segments"

pids=()
small=
# shellcheck disable=SC2317  # reached through trap only
stop_all() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -z "$small" ] || umount "$small" 2>/dev/null || true
  rm -rf -- "$CW_TMP"
}
trap stop_all EXIT

ffmpeg -v error -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -g 25 -bf 0 -c:v libx264 \
  -bsf:v h264_mp4toannexb -f h264 "$CW_TMP/clip.h264"
ffmpeg -v error -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -c:v libx265 \
  -x265-params log-level=none:keyint=25:bframes=0 -f hevc "$CW_TMP/clip.h265"

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$CAMSIM" --port "$port" --clip "h264=$CW_TMP/clip.h264" --clip "h265=$CW_TMP/clip.h265" \
  --mount cam264:h264:normal --mount cam265:h265:normal >"$CW_TMP/camsim.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "listening" "$CW_TMP/camsim.log" && break; sleep 0.1; done
grep -q "listening" "$CW_TMP/camsim.log" || { cat "$CW_TMP/camsim.log" >&2; fail "camsim did not start"; }

expect_ok "$CWCTL" db migrate
expect_ok "$CWCTL" camera add --name cam264 --url "rtsp://127.0.0.1:$port/cam264"
expect_ok "$CWCTL" camera add --name cam265 --url "rtsp://127.0.0.1:$port/cam265"
id264=$(sql "SELECT id FROM cameras WHERE name = 'cam264'")
id265=$(sql "SELECT id FROM cameras WHERE name = 'cam265'")

footage=$CW_TMP/footage
# write_conf ROOT QUOTA [NODE]
write_conf() {
  cat >"$CW_TMP/node.conf" <<CONF
[node]
name = ${3:-rec-node}
[ingest]
workers = 1
health_interval = 0.5
camera_poll_interval = 0.3
backoff_min = 0.2
backoff_max = 1
[events]
journal_dir = $CW_TMP/events
snapshot_dir = $CW_TMP/snapshots
[recording]
root = $1
segment_seconds = 3
fragment_ms = 500
retention_interval = 0.5
quota = $2
CONF
}

daemon=
start_daemon() {
  "$CITYWATCHD" -c "$CW_TMP/node.conf" >>"$CW_TMP/daemon.log" 2>&1 &
  daemon=$!
  pids+=("$daemon")
}
stop_daemon() {
  kill -TERM "$daemon"
  local rc=0
  wait "$daemon" || rc=$?
  [ "$rc" = 0 ] || { tail -30 "$CW_TMP/daemon.log" >&2; fail "citywatchd exited $rc after SIGTERM"; }
  _cw_pass
}
# wait_sql SQL-RETURNING-t/f SECONDS WHAT
wait_sql() {
  local i
  for i in $(seq 1 $(($2 * 10))); do
    [ "$(sql "$1")" = t ] && { _cw_pass; return 0; }
    sleep 0.1
  done
  tail -30 "$CW_TMP/daemon.log" >&2
  LAST_CMD=
  fail "$3 within $2 s"
}
segments_of() { sql "SELECT count(*) FROM segments WHERE camera_id = $1"; }
# check_footage ROOT [--decode]: runs footage_check.py over every row.
check_footage() {
  sql "SELECT coalesce(json_agg(s), '[]') FROM segments s" >"$CW_TMP/rows.json"
  OUT=$(python3 "$here/footage_check.py" "$@" <"$CW_TMP/rows.json")
  LAST_CMD="footage_check.py $*"
  expect_json 'd["missing"] == []' "no row without its file"
  expect_json 'd["unindexed"] == []' "no file without its row"
  expect_json 'd["partial"] == []' "no .part file left"
  expect_json 'd["bad"] == []' "every segment passes ffprobe's checks"
}

# --- continuous recording -------------------------------------------------
write_conf "$footage" 0
start_daemon
wait_sql "SELECT count(*) = 2 FROM camera_health WHERE recording_state = 'recording'" 20 \
  "both cameras recording"
wait_sql "SELECT (SELECT count(*) FROM segments WHERE camera_id = $id264) >= 3
          AND (SELECT count(*) FROM segments WHERE camera_id = $id265) >= 3" 30 \
  "three segments of each camera indexed"
expect_eq "rows of this node" "$(sql 'SELECT count(*) FROM segments')" \
  "$(sql "SELECT count(*) FROM segments WHERE node = 'rec-node'")"
# Up to now: the newest seconds are in a segment still open, and find says so.
expect_ok "$CWCTL" footage find --camera cam264 --from "$(date -u -d '-5 min' +%Y-%m-%dT%H:%M:%SZ)" \
  --to "$(date -u -d '+2 sec' +%Y-%m-%dT%H:%M:%SZ)" --json
expect_json 'd["gaps"][-1]["open"] is True and all(not g["open"] for g in d["gaps"][:-1])' \
  "the gap up to now is marked open while the camera records"
stop_daemon
check_footage "$footage"
expect_json 'all(v == 0 for v in d["gaps"].values())' "one run leaves no gap between segments"
expect_eq "codecs" "h264 h265" \
  "$(sql "SELECT string_agg(DISTINCT codec, ' ' ORDER BY codec) FROM segments")"
expect_eq "resolution" "320x240" \
  "$(sql "SELECT string_agg(DISTINCT width || 'x' || height, ',') FROM segments")"
# Every segment but a camera's last (cut short by the stop) runs 3 s to the
# next keyframe (one a second).
expect_eq "segment lengths of 3 s" "0" \
  "$(sql "SELECT count(*) FROM (SELECT end_time - start_time AS len,
            row_number() OVER (PARTITION BY camera_id ORDER BY start_time DESC) AS rn
          FROM segments) s WHERE rn > 1 AND abs(extract(epoch FROM len) - 3) > 0.1")"
expect_eq "a day partition holds them" "1" \
  "$(sql "SELECT count(*) FROM pg_inherits WHERE inhparent = 'segments'::regclass")"

from=$(sql "SELECT to_char((min(start_time) - interval '10 s') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM segments WHERE camera_id = $id264")
to=$(sql "SELECT to_char(max(end_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM segments WHERE camera_id = $id264")
expect_ok "$CWCTL" footage find --camera "$id264" --from "$from" --to "$to" --json
expect_json "len(d['segments']) == $(segments_of "$id264")" "find lists every segment"
expect_json "len(d['gaps']) == 1 and abs(d['covered_seconds'] - $(sql "SELECT extract(epoch FROM sum(end_time - start_time)) FROM segments WHERE camera_id = $id264")) < 0.1" \
  "find reports the 10 s before recording began as the one gap"

# --- evidence export of what the recorder wrote ---------------------------
# Across a segment boundary, for both codecs: one clip starting on a
# keyframe, whole, verified against its manifest and the database.
printf 'Investigator-pw-1\n' >"$CW_TMP/invpw"
expect_ok "$CWCTL" user add inv --role investigator <"$CW_TMP/invpw"
for cam in cam264 cam265; do
  cid=$(sql "SELECT id FROM cameras WHERE name = '$cam'")
  b_from=$(sql "SELECT to_char((start_time - interval '1.5 s') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM segments WHERE camera_id = $cid ORDER BY start_time OFFSET 1 LIMIT 1")
  b_to=$(sql "SELECT to_char((start_time + interval '1.5 s') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM segments WHERE camera_id = $cid ORDER BY start_time OFFSET 1 LIMIT 1")
  expect_ok "$CWCTL" -c "$CW_TMP/node.conf" footage export --as inv --camera "$cam" --from "$b_from" \
    --to "$b_to" --case CASE-9 --reason "recorder output" -o "$CW_TMP/$cam.mp4" <"$CW_TMP/invpw"
  expect_ok "$CWCTL" footage verify "$CW_TMP/$cam.mp4"
  run ffmpeg -v error -i "$CW_TMP/$cam.mp4" -f null -
  [ "$RC" = 0 ] && [ -z "$ERR" ] || fail "the $cam clip does not decode cleanly"
  _cw_pass
  run ffprobe -v error -select_streams v:0 -show_packets -show_entries packet=flags \
    -of csv=p=0 "$CW_TMP/$cam.mp4"
  expect_eq "$cam clip starts on a keyframe" "K" "$(printf '%s\n' "$OUT" | head -1 | cut -c1)"
  # 3 s asked; the start moves back to the keyframe before (at most 1 s).
  frames=$(printf '%s\n' "$OUT" | wc -l)
  [ "$frames" -ge 75 ] && [ "$frames" -le 101 ] || fail "$cam clip has $frames frames, expected 75..101"
  _cw_pass
done

# --- kill -9 mid-segment --------------------------------------------------
before=$(segments_of "$id264")
start_daemon
# Into a segment by more than two fragments, and not about to close it.
part=
for _ in $(seq 1 200); do
  part=$(find "$footage/$id264" -name '*.part' -size +20k 2>/dev/null | head -1)
  [ -n "$part" ] && break
  sleep 0.1
done
[ -n "$part" ] || fail "no segment being written after 20 s"
sleep 0.8
kill -KILL "$daemon"
wait "$daemon" 2>/dev/null || true
[ -e "$part" ] || fail "the killed daemon left no .part file ($part)"
_cw_pass
start_daemon
wait_sql "SELECT count(*) > 0 FROM segments WHERE camera_id = $id264 AND repaired" 20 \
  "the segment cut by kill -9 repaired and indexed"
wait_sql "SELECT count(*) > $before + 2 FROM segments WHERE camera_id = $id264" 20 \
  "recording carries on after the restart"
stop_daemon
expect_eq "the .part is gone" "no" "$([ -e "$part" ] && echo yes || echo no)"
expect_eq "the repaired file" "${part#"$footage/"}" \
  "$(sql "SELECT path || '.part' FROM segments WHERE camera_id = $id264 AND repaired")"
check_footage "$footage" --decode

# --- legal hold and quota -------------------------------------------------
oldest=$(sql "SELECT path FROM segments WHERE camera_id = $id264 ORDER BY start_time LIMIT 1")
hold_from=$(sql "SELECT to_char(min(start_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM segments WHERE camera_id = $id264")
hold_to=$(sql "SELECT to_char((min(start_time) + interval '1 s') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM segments WHERE camera_id = $id264")
expect_ok "$CWCTL" footage hold --camera "$id264" --from "$hold_from" --to "$hold_to" --case CASE-17
write_conf "$footage" 1M
start_daemon
wait_sql "SELECT sum(bytes) <= 1048576 AND count(*) FILTER (WHERE path = '$oldest') = 1 FROM segments" 30 \
  "the quota of 1 MiB enforced, the held segment kept"
sleep 3
expect_eq "still within the quota while recording" "t" \
  "$(sql "SELECT sum(bytes) <= 1048576 + (SELECT max(bytes) * 2 FROM segments) FROM segments")"
stop_daemon
grep -q "recording: quota: deleted [0-9]* segments" "$CW_TMP/daemon.log" ||
  fail "no log line says what the quota deleted"
_cw_pass
grep -q "recording: stopped: [0-9]* segments closed" "$CW_TMP/daemon.log" ||
  fail "no summary line when recording stopped"
_cw_pass
check_footage "$footage"
expect_eq "the held segment's file" "yes" "$([ -f "$footage/$oldest" ] && echo yes || echo no)"

# --- retention by age, per camera -----------------------------------------
# Two segments from 40 days ago: cam264 keeps the default 30 days, cam265
# is set to keep 60.
expect_ok "$CWCTL" footage retention --camera "$id265" --days 60
old_us=$(($(date +%s) - 40 * 86400))000000
for cam in "$id264" "$id265"; do
  src=$(sql "SELECT path FROM segments WHERE camera_id = $cam AND NOT repaired ORDER BY start_time DESC LIMIT 1")
  rel=$(python3 -c '
import datetime, sys
cam, us = int(sys.argv[1]), int(sys.argv[2])
t = datetime.datetime.fromtimestamp(us / 1e6, datetime.timezone.utc)
print("%d/%s/%s/%d-%s.%03dZ.mp4" % (cam, t.strftime("%Y-%m-%d"), t.strftime("%H"), cam,
      t.strftime("%Y%m%dT%H%M%S"), t.microsecond // 1000))' "$cam" "$old_us")
  mkdir -p "$(dirname "$footage/$rel")"
  cp "$footage/$src" "$footage/$rel"
  sql "SELECT segments_add(json_build_array(json_build_object('camera_id', $cam,
       'start_time', to_timestamp($old_us / 1e6), 'end_time', to_timestamp($old_us / 1e6) + (SELECT end_time - start_time FROM segments WHERE path = '$src'),
       'node', 'rec-node', 'path', '$rel', 'bytes', $(stat -c %s "$footage/$src"), 'codec', (SELECT codec FROM segments WHERE path = '$src'))))" >/dev/null
  eval "old_$cam=\$rel"
done
old264_var=old_$id264 old265_var=old_$id265
old264=${!old264_var} old265=${!old265_var}
write_conf "$footage" 0
start_daemon
wait_sql "SELECT count(*) = 0 FROM segments WHERE path = '$old264'" 20 \
  "cam264's 40-day-old segment deleted (30 days kept)"
expect_eq "cam265's 40-day-old segment kept (60 days)" "1" \
  "$(sql "SELECT count(*) FROM segments WHERE path = '$old265'")"
stop_daemon
expect_eq "the expired file" "gone" "$([ -e "$footage/$old264" ] && echo there || echo gone)"
check_footage "$footage"

# --- full disk --------------------------------------------------------------
small=$CW_TMP/small
mkdir -p "$small"
if ! mount -t tmpfs -o size=2m tmpfs "$small" 2>/dev/null; then
  small=
  echo "skipping the share-quota and full-disk parts: cannot mount a tmpfs here (needs root)" >&2
  done_ok
  exit 0
fi
# A quota as a share of the filesystem: half of a 2 MiB tmpfs. Another node
# name, so only this folder's footage counts.
write_conf "$small/footage" 50% pct-node
start_daemon
wait_sql "SELECT count(*) >= 2 FROM segments WHERE node = 'pct-node'" 20 "recording on the tmpfs"
first_pct=$(sql "SELECT path FROM segments WHERE node = 'pct-node' ORDER BY start_time LIMIT 1")
wait_sql "SELECT count(*) = 0 FROM segments WHERE path = '$first_pct'" 40 \
  "the oldest segment deleted once footage passes 50% of the filesystem"
expect_eq "footage within 50% of 2 MiB (plus the segments still open)" "t" \
  "$(sql "SELECT sum(bytes) <= 1048576 + 2 * max(bytes) FROM segments WHERE node = 'pct-node'")"
stop_daemon
sql "SELECT coalesce(json_agg(s), '[]') FROM segments s WHERE node = 'pct-node'" >"$CW_TMP/rows.json"
OUT=$(python3 "$here/footage_check.py" "$small/footage" <"$CW_TMP/rows.json")
expect_json 'd["missing"] == [] and d["bad"] == [] and d["partial"] == [] and d["unindexed"] == []' \
  "the share quota leaves every row with its file and no file without its row"
umount "$small"
mount -t tmpfs -o size=3m tmpfs "$small"

# Leave about 600 KiB: a few segments, then no space.
avail=$(df --output=avail -k "$small" | tail -1)
fallocate -l $(((avail - 600) * 1024)) "$small/filler" 2>/dev/null ||
  dd if=/dev/zero of="$small/filler" bs=1K count=$((avail - 600)) status=none
write_conf "$small/footage" 0
full_since=$(sql "SELECT now()")
start_daemon
wait_sql "SELECT count(*) >= 1 FROM camera_health WHERE recording_state = 'error'
          AND recording_error LIKE '%No space left on device%'" 60 \
  "a camera's recording stops with 'No space left on device' on its health"
grep -q "recording stopped: .*No space left on device" "$CW_TMP/daemon.log" ||
  fail "no log line says recording stopped for lack of space"
_cw_pass
expect_ok "$CWCTL" camera list --json
expect_json 'any((c["health"] or {}).get("recording_error") and "No space left" in c["health"]["recording_error"] for c in d)' \
  "camera list shows the recording error"
rm -f "$small/filler"
recovered_at=$(sql "SELECT now()")
wait_sql "SELECT count(*) = 2 FROM camera_health WHERE recording_state = 'recording'" 30 \
  "recording resumes once space returns"
wait_sql "SELECT count(*) = 2 FROM (SELECT camera_id FROM segments WHERE start_time > '$recovered_at'
          GROUP BY camera_id) s" 30 "new segments of both cameras after the space came back"
stop_daemon
expect_eq "footage of the full disk indexed" "t" \
  "$(sql "SELECT count(*) > 0 FROM segments WHERE node = 'rec-node' AND indexed_at > '$full_since'")"
sql "SELECT coalesce(json_agg(s), '[]') FROM segments s WHERE indexed_at > '$full_since'" >"$CW_TMP/rows.json"
OUT=$(python3 "$here/footage_check.py" "$small/footage" --decode <"$CW_TMP/rows.json")
expect_json 'd["missing"] == [] and d["bad"] == [] and d["partial"] == [] and d["unindexed"] == []' \
  "what was recorded on the full disk is whole, indexed and decodes"
umount "$small"
small=

done_ok
