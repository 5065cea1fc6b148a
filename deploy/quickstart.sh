#!/usr/bin/env bash
# deploy/quickstart.sh — citywatch on this machine, from a clone, in one go:
#
#   bash deploy/quickstart.sh
#
# Installs missing packages, builds into build/, starts (or reuses) a private
# PostgreSQL whose data lives in var/pg of this clone, creates the `citywatch`
# database, writes var/citywatch.conf, applies the schema and registers a few
# demo cameras. Run it again at any time: each step keeps what is there.
#
# Knobs: CWCTL names another cwctl (default build/ops-console/cwctl).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"
# shellcheck source=tests/harness/bootstrap.sh
. tests/harness/bootstrap.sh
# shellcheck source=tests/harness/pg.sh
. tests/harness/pg.sh

var=$root/var
pg_dir=$var/pg
conf=$var/citywatch.conf
db_name=citywatch

say() { printf '==> %s\n' "$*"; }

say "packages"
cw_ensure_packages

say "build (build/)"
# The project's default buildtype (debugoptimized: -O2 with asserts and
# symbols) is what we ship; sanitizers belong to build-test/ only.
cw_meson_setup build -Dbuildtype=debugoptimized -Db_sanitize=none
meson compile -C build
cwctl=${CWCTL:-$root/build/ops-console/cwctl}
if [ ! -x "$cwctl" ]; then
  echo "quickstart: $cwctl was not built" >&2
  exit 1
fi

say "PostgreSQL (var/pg)"
mkdir -p "$var"
# The data must survive a crash of this machine: PostgreSQL's safe settings,
# not the test harness's fast ones. When root, the server runs as postgres,
# which must be able to reach var/pg inside this clone: pg.sh hands var/pg to
# it and, if a parent folder is closed to it, opens that folder for traversal
# only (o+x: no listing, no reading).
CW_PG_PROFILE=durable CW_PG_GRANT_TRAVERSE=1 cw_pg_start "$pg_dir"

if [ "$(psql -XAtq -c "select 1 from pg_database where datname = '$db_name'")" != 1 ]; then
  "$CW_PG_BIN/createdb" -T template0 -E UTF8 "$db_name"
fi
export PGDATABASE=$db_name

# GKeyFile reads a backslash as an escape and a conninfo splits on spaces:
# refuse such a path rather than write a file that names another place.
case $root in *[[:space:]\\\'\"]*)
  echo "quickstart: the path of this clone ($root) holds a space, quote or backslash; clone it elsewhere" >&2
  exit 1
  ;;
esac
if [ ! -e "$conf" ]; then
  say "writing var/citywatch.conf"
  cat >"$conf" <<CONF
# Written by deploy/quickstart.sh for this clone; edit freely, the script
# does not overwrite it. Every key: deploy/citywatch.conf.example.

[database]
conninfo = host=$PGHOST port=$PGPORT user=$PGUSER dbname=$db_name

[security]
# Made (mode 0600) by cwctl the first time a camera password is stored.
key_file = $var/credential.key
CONF
fi
# Configurations written before events existed get their section once.
if ! grep -q '^\[events\]' "$conf"; then
  printf '\n[events]\njournal_dir = %s/events\n' "$var" >>"$conf"
fi
# ... and snapshots, which came later, under the same section.
if ! grep -q '^snapshot_dir' "$conf"; then
  sed -i "/^\[events\]/a snapshot_dir = $var/snapshots" "$conf"
fi
# Configurations written before recording existed get its section once.
if ! grep -q '^\[recording\]' "$conf"; then
  cat >>"$conf" <<CONF

[recording]
root = $var/footage
# A demo machine's disk is shared with everything else: keep the demo small.
quota = 2G
CONF
fi

# Only the configuration file says where the database is, as it would for an
# operator; the PG* variables pg.sh exported must not stand in for it.
unset PGHOST PGPORT PGUSER PGDATABASE

say "schema"
"$cwctl" -c "$conf" db migrate

say "demo cameras"
# NAME|ROAD|DIRECTION|LAT|LON. The URLs point at the camera simulator's
# default address; until it runs they are simply unreachable cameras.
demo_cameras=(
  "ring-north-km12|A10 Ring|N|52.3889|4.8770"
  "ring-south-km3|A10 Ring|S|52.3383|4.8886"
  "harbour-bridge-east|Harbour Bridge|E|52.3791|4.9120"
  "central-station-west|Station Square|W|52.3789|4.9004"
)
for row in "${demo_cameras[@]}"; do
  IFS='|' read -r name road direction lat lon <<<"$row"
  if "$cwctl" -c "$conf" camera show "$name" >/dev/null 2>&1; then
    echo "camera $name: already registered"
    continue
  fi
  "$cwctl" -c "$conf" camera add --name "$name" --url "rtsp://127.0.0.1:8554/$name" \
    --road "$road" --direction "$direction" --lat "$lat" --lon "$lon"
  echo "camera $name: registered"
done

say "node check"
# The daemon refuses a database whose schema is not its own; prove it would
# start against this one.
"$root/build/daemon/citywatchd" -c "$conf" --check

# start_once NAME COMMAND... : runs COMMAND in the background with its log
# in var/log/NAME.log and its pid in var/run/NAME.pid, unless the pid file
# names a process that still runs that program.
start_once() {
  local name=$1 pidfile=$var/run/$1.pid
  shift
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null &&
    grep -qa "$(basename "$1")" "/proc/$(cat "$pidfile")/cmdline" 2>/dev/null; then
    echo "$name: already running (pid $(cat "$pidfile"))"
    return 0
  fi
  mkdir -p "$var/run" "$var/log"
  setsid "$@" >>"$var/log/$name.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  echo "$name: started (pid $!, log var/log/$name.log)"
}

say "simulated cameras (camera simulator on 127.0.0.1:8554)"
# One 1 Mbit/s 720p clip, made once; every demo camera streams it.
clip=$var/sim/demo.h264
if [ ! -s "$clip" ]; then
  mkdir -p "$var/sim"
  ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=1280x720:rate=25 -t 10 -g 50 -bf 0 \
    -b:v 1M -maxrate 1M -bufsize 1M -c:v libx264 -bsf:v h264_mp4toannexb -f h264 "$clip.tmp"
  mv "$clip.tmp" "$clip"
fi
sim_args=()
for row in "${demo_cameras[@]}"; do
  sim_args+=(--mount "${row%%|*}:h264:normal")
done
start_once camsim "$root/build/tests/camsim/camsim" --port 8554 --clip "h264=$clip" "${sim_args[@]}"

say "node (citywatchd)"
start_once citywatchd "$root/build/daemon/citywatchd" -c "$conf"
# The node reports health every few seconds: wait for the demo cameras.
for _ in $(seq 1 30); do
  status_json=$("$cwctl" -c "$conf" status --json)
  playing=$(printf '%s\n' "$status_json" | sed -n 's/.*"playing" : \([0-9]*\).*/\1/p')
  stale=$(printf '%s\n' "$status_json" | sed -n 's/.*"stale_reports" : \([0-9]*\).*/\1/p')
  # Rows left by an earlier run say "playing" too: only fresh reports count.
  [ "${playing:-0}" -ge "${#demo_cameras[@]}" ] && [ "${stale:-1}" = 0 ] && break
  sleep 1
done
"$cwctl" -c "$conf" status

# ---------------------------------------------------------------------------
# LATER ISSUES ADD HERE, each idempotently (start_once): the ops console
# (HTTP on 127.0.0.1:8080, [http] listen), and their URLs and logs in the
# summary below.
# ---------------------------------------------------------------------------

as_pg=
[ "$(id -u)" -eq 0 ] && as_pg="runuser -u postgres -- "
cat <<DONE

citywatch quick start is ready.

  cameras:          $cwctl -c $conf camera list
  fleet summary:    $cwctl -c $conf status
  node log:         $var/log/citywatchd.log   (simulator: $var/log/camsim.log)
  stop the node:    kill \$(cat $var/run/citywatchd.pid) \$(cat $var/run/camsim.pid)
  footage:          $cwctl -c $conf footage find --camera 1 --from $(date -u -d '-10 min' +%Y-%m-%dT%H:%M:%SZ) --to $(date -u -d '+1 min' +%Y-%m-%dT%H:%M:%SZ)
                    (files under $var/footage)
  alerts:           $cwctl -c $conf alerts list      (events wait in $var/events while the database is away)
  audit log:        $cwctl -c $conf audit verify
  the database:     psql -h $pg_dir/sock -p $CW_PG_PORT -U postgres $db_name
  server log:       $pg_dir/server.log
  stop PostgreSQL:  ${as_pg}$CW_PG_BIN/pg_ctl -D $pg_dir/data stop
  start it again:   bash deploy/quickstart.sh   (keeps data, config and cameras)
DONE
