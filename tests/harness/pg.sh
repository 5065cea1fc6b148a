# shellcheck shell=bash
# pg.sh — start and stop a private PostgreSQL server for tests and the quick start.
#
#   source tests/harness/pg.sh
#   cw_pg_start DIR    # initdb into DIR/data (once), start, wait, export PG* for it
#   cw_pg_stop DIR     # stop at once and remove DIR; safe to call twice
#
# Layout under DIR: data/ (the cluster), sock/ (the only way in: a unix
# socket in a folder of mode 0700 owned by the server user; no TCP at all),
# server.log, and .cw-pg (a marker: cw_pg_stop removes only folders that
# cw_pg_start made, so a wrong argument can never rm -rf something else).
#
# Port: 5432 unless CW_PG_PORT says otherwise. Every cluster has a socket
# folder of its own and listens on no TCP port, so the number only names the
# socket file (.s.PGSQL.5432) and never clashes — not with other test
# clusters, not with a system cluster. A fixed, well-known number also means
# PGPORT is always right without anyone having to pass it around.
#
# Knobs (environment):
#   CW_PG_BIN      server binaries   (default /usr/lib/postgresql/15/bin: on a
#                  fresh Debian machine they are not on PATH)
#   CW_PG_PORT     port number       (default 5432, see above)
#   CW_PG_TIMEOUT  seconds to wait for the server to accept connections (60)
#   CW_PG_PROFILE  "test" (default): fsync off and friends, the data may be
#                  lost on a crash; "durable": PostgreSQL's safe defaults,
#                  for the quick start's persistent data folder.
#   CW_PG_GRANT_TRAVERSE=1  when root and DIR's parents are closed to the
#                  server user, add o+x (traverse only, not list) to them.
#
# This file is sourced, so it sets no shell options of its own (that would
# change the caller's shell); every function returns non-zero on failure.

CW_PG_BIN=${CW_PG_BIN:-/usr/lib/postgresql/15/bin}
CW_PG_PORT=${CW_PG_PORT:-5432}
CW_PG_TIMEOUT=${CW_PG_TIMEOUT:-60}
CW_PG_PROFILE=${CW_PG_PROFILE:-test}
# PostgreSQL refuses to run as root; as root we hand the server to this user.
CW_PG_OS_USER=postgres

_cw_pg_is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a command as the user that owns the server. From / because initdb and
# pg_ctl complain when the caller's working folder (e.g. /root) is closed to
# that user.
_cw_pg_as_server() {
  if _cw_pg_is_root; then
    (cd / && runuser -u "$CW_PG_OS_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

# Hands a path to the server user (no-op when we are not root: then we are
# the server user).
_cw_pg_own() {
  if _cw_pg_is_root; then
    chown "$CW_PG_OS_USER:" "$@"
  fi
}

# The server user must be able to walk down to DIR. When root, check each
# parent as that user, because a folder such as /root (0700) silently breaks
# initdb with a confusing message.
_cw_pg_check_reachable() {
  local dir=$1 p parents=()
  _cw_pg_is_root || return 0
  # From / down: a closed folder makes every folder below it look closed too.
  p=$dir
  while [ "$p" != / ]; do
    p=$(dirname "$p")
    parents=("$p" "${parents[@]}")
  done
  for p in "${parents[@]}"; do
    if ! runuser -u "$CW_PG_OS_USER" -- test -x "$p" 2>/dev/null; then
      if [ "${CW_PG_GRANT_TRAVERSE:-0}" = 1 ]; then
        echo "pg.sh: letting user $CW_PG_OS_USER traverse $p (chmod o+x)" >&2
        chmod o+x "$p" || return 1
      else
        echo "pg.sh: user $CW_PG_OS_USER cannot reach $dir (no search permission on $p);" \
          "put DIR under /tmp, or chmod o+x $p" >&2
        return 1
      fi
    fi
  done
}

# Settings are (re)written at every start into a file of their own that
# postgresql.conf includes, so a data folder that moved with its repository
# still gets the right socket folder.
_cw_pg_write_settings() {
  local data=$1 sock=$2 conf=$1/citywatch-harness.conf
  {
    echo "# Written by tests/harness/pg.sh at every start; edits are lost."
    echo "listen_addresses = ''"            # no TCP: the private socket is the only way in
    echo "port = $CW_PG_PORT"
    echo "unix_socket_directories = '$sock'"
    echo "unix_socket_permissions = 0700"
    echo "log_line_prefix = '%m [%p] %q%u@%d '"
    if [ "$CW_PG_PROFILE" = test ]; then
      # Throw-away clusters: durability buys nothing, speed buys test time.
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
      echo "wal_level = minimal"
      echo "max_wal_senders = 0"
      echo "checkpoint_timeout = 1h"
      echo "max_wal_size = 1GB"
      echo "shared_buffers = 32MB"         # several clusters may run at once
      echo "max_connections = 200"         # tests run in parallel on one shared cluster
      echo "max_parallel_workers_per_gather = 0"  # plans, timings stay stable
    fi
  } >"$conf" || return 1
  _cw_pg_own "$conf" || return 1
  if ! grep -q "^include_if_exists = 'citywatch-harness.conf'" "$data/postgresql.conf"; then
    echo "include_if_exists = 'citywatch-harness.conf'" >>"$data/postgresql.conf" || return 1
  fi
}

_cw_pg_log_tail() {
  local log=$1
  if [ -f "$log" ]; then
    echo "---- last lines of $log ----" >&2
    tail -n 40 "$log" >&2
    echo "----" >&2
  fi
}

_cw_pg_running() {
  _cw_pg_as_server "$CW_PG_BIN/pg_ctl" status -D "$1/data" >/dev/null 2>&1
}

# cw_pg_start DIR: makes DIR if needed, initialises DIR/data unless it holds
# a cluster already, starts the server unless it runs already, waits until it
# accepts connections, then exports PGHOST PGPORT PGUSER PGDATABASE.
cw_pg_start() {
  local dir=${1:?usage: cw_pg_start DIR}
  local data sock log sockfile deadline

  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd -P) || return 1
  data=$dir/data sock=$dir/sock log=$dir/server.log

  # A unix socket path has at most 107 bytes; past that the server fails with
  # an unhelpful message.
  sockfile=$sock/.s.PGSQL.$CW_PG_PORT
  if [ "${#sockfile}" -gt 107 ]; then
    echo "pg.sh: socket path too long (${#sockfile} > 107 bytes): $sockfile" >&2
    return 1
  fi
  _cw_pg_check_reachable "$dir" || return 1

  touch "$dir/.cw-pg" || return 1
  # DIR: the server user writes its log here; others may pass through to
  # nothing but the sock/ folder, which is closed to them anyway.
  chmod 0711 "$dir" && _cw_pg_own "$dir" || return 1
  mkdir -p "$sock" && chmod 0700 "$sock" && _cw_pg_own "$sock" || return 1
  if [ ! -e "$log" ]; then
    touch "$log" && _cw_pg_own "$log" || return 1
  fi

  if [ ! -s "$data/PG_VERSION" ]; then
    local initdb_args=(-D "$data" --auth=trust -U postgres -E UTF8 --locale=C)
    # --no-sync saves seconds per test cluster; data meant to last is synced.
    [ "$CW_PG_PROFILE" = durable ] || initdb_args+=(--no-sync)
    if ! _cw_pg_as_server "$CW_PG_BIN/initdb" "${initdb_args[@]}" >"$dir/initdb.log" 2>&1; then
      echo "pg.sh: initdb failed in $data:" >&2
      cat "$dir/initdb.log" >&2
      return 1
    fi
  fi
  _cw_pg_write_settings "$data" "$sock" || return 1

  if ! _cw_pg_running "$dir"; then
    if ! _cw_pg_as_server "$CW_PG_BIN/pg_ctl" start -D "$data" -l "$log" -s -w \
      -t "$CW_PG_TIMEOUT" >/dev/null 2>&1; then
      echo "pg.sh: the server in $data did not start" >&2
      _cw_pg_log_tail "$log"
      return 1
    fi
  fi

  # pg_ctl -w waits for the postmaster; pg_isready proves a client gets in
  # through the socket we are about to export.
  deadline=$((SECONDS + CW_PG_TIMEOUT))
  until "$CW_PG_BIN/pg_isready" -q -h "$sock" -p "$CW_PG_PORT" -U postgres -d postgres -t 2; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "pg.sh: the server in $data does not accept connections after ${CW_PG_TIMEOUT}s" >&2
      _cw_pg_log_tail "$log"
      return 1
    fi
    sleep 0.2
  done

  export PGHOST=$sock PGPORT=$CW_PG_PORT PGUSER=postgres PGDATABASE=postgres
  # Either would send clients somewhere other than the socket just exported.
  unset PGHOSTADDR PGSERVICE
}

# cw_pg_stop_server DIR: stops the server (immediate: nothing in a test
# cluster is worth a checkpoint), keeps the files. Safe when nothing runs.
cw_pg_stop_server() {
  local dir=${1:?usage: cw_pg_stop_server DIR}
  local data=$dir/data pid i
  [ -f "$data/postmaster.pid" ] || return 0
  pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null) || pid=
  _cw_pg_as_server "$CW_PG_BIN/pg_ctl" stop -D "$data" -m immediate -s -w -t 30 >/dev/null 2>&1 || true
  # Should pg_ctl have failed (binaries gone, pid file damaged), do not leave
  # a postmaster behind: kill it if it is still a postgres process.
  case $pid in '' | *[!0-9]*) return 0 ;; esac
  for i in $(seq 1 50); do
    [ -d "/proc/$pid" ] || return 0
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] || return 0
    if [ "$i" = 25 ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.1
  done
  echo "pg.sh: postmaster $pid of $data is still there" >&2
  return 1
}

# cw_pg_stop DIR: stops the server and removes DIR. Calling it again, or on a
# DIR that is gone already, does nothing.
cw_pg_stop() {
  local dir=${1:?usage: cw_pg_stop DIR}
  [ -d "$dir" ] || return 0
  if [ ! -e "$dir/.cw-pg" ]; then
    echo "pg.sh: refusing to remove $dir: cw_pg_start did not make it" >&2
    return 1
  fi
  cw_pg_stop_server "$dir" || true
  rm -rf -- "$dir"
}
