# shellcheck shell=bash
# Shared by the interop tests: free loopback ports, servers started in the
# background and stopped on every way out, and the checks on pull_decode's
# JSON line.

INTEROP_TMP=$(mktemp -d /tmp/cw-interop.XXXXXX)
chmod 755 "$INTEROP_TMP"
_interop_pids=()

# shellcheck disable=SC2317  # reached through trap only
interop_cleanup() {
  local p
  for p in "${_interop_pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${_interop_pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$INTEROP_TMP"
}
trap interop_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# A TCP port nobody listens on now (the kernel picks it).
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_server NAME LOG CMD... : runs CMD in the background, remembered for clean-up.
start_server() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  _interop_pids+=($!)
}

# wait_for_line FILE TEXT SECONDS
wait_for_line() {
  local i
  for i in $(seq 1 $(($3 * 10))); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "--- $1 ---" >&2
  cat "$1" >&2
  fail "no '$2' in $1 within $3 s"
}

# check_pull JSON_FILE EXPECTED_CODEC EXPECTED_TRANSPORT SECONDS
# Every unit decoded, none damaged, the right picture and rate.
check_pull() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
path, codec, transport, secs = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
d = json.loads(open(path).read().strip().splitlines()[-1])
problems = []
def want(cond, what):
    if not cond:
        problems.append(what)
want(d["playing"], "playing")
want(d["codec"] == codec, f"codec {codec}")
want(transport == "any" or d["transport"] == transport, f"transport {transport}")
want(d["decode_errors"] == 0, "no decode errors")
want(d["damaged"] == 0, "no damaged units")
want(d["lost"] == 0, "no lost packets")
want((d["width"], d["height"]) == (640, 360), "640x360")
want(24 <= d["fps"] <= 26, "24..26 fps")
# The servers' encoders take a few seconds to start (x265 on a loaded
# machine more): half the wall time at 25 fps is what a stream must show;
# the fps check above is what proves nothing was skipped.
want(d["decoded"] >= secs * 25 * 0.5, f"at least {secs * 25 * 0.5:.0f} pictures decoded")
if problems:
    sys.exit(f"{path}: expected {', '.join(problems)}; got {json.dumps(d)}")
print(f"ok {path}: {d['codec']} over {d['transport']}, {d['decoded']} decoded, "
      f"{d['width']}x{d['height']} at {d['fps']} fps")
PY
}
