#!/usr/bin/env bash
# export_bench.sh — evidence export throughput: `cwctl footage export` of a
# camera's whole footage (MINUTES of 1080p25 H.264 at 4 Mbit/s, in 60 s
# fragmented-MP4 segments as the recorder writes them) against a plain copy
# of the same bytes (`cat` of the segment files into one file, then that
# file fsynced), in the same run on the same filesystem.
#
#   tests/harness/with-pg tests/bench/export_bench.sh [BUILD_DIR]
#
# BUILD_DIR defaults to build (or set CWCTL). MINUTES (12) and REPEAT (3)
# tune it. Both sides read warm files (one untimed run of each first) and
# the best of REPEAT runs counts. The export does more than the copy: it
# demuxes and remuxes every packet, hashes every source file and the clip
# with SHA-256, writes the index first (faststart: the clip is written
# twice), fsyncs, and records the export in PostgreSQL. A benchmark, not a
# test: it fails only when something does not work at all.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=${1:-$root/build}
CWCTL=${CWCTL:-$build/ops-console/cwctl}
MINUTES=${MINUTES:-12}
REPEAT=${REPEAT:-3}
: "${PGDATABASE:?run this under tests/harness/with-pg}"
[ -x "$CWCTL" ] || { echo "export_bench: no cwctl at $CWCTL (build first, or set CWCTL)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/cw-export-bench.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
export CITYWATCH_KEY_FILE=$tmp/credential.key
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }
now_ns() { date +%s%N; }
say() { echo "export_bench: $*" >&2; }

footage=$tmp/footage
mkdir -p "$footage" "$tmp/gen" "$tmp/out"
printf '[recording]\nroot = %s\n' "$footage" >"$tmp/citywatch.conf"
cw() { "$CWCTL" -c "$tmp/citywatch.conf" "$@"; }

"$CWCTL" db migrate >/dev/null
"$CWCTL" camera add --name bench-cam --url rtsp://bench.example/stream >/dev/null
cam=$(q "SELECT id FROM cameras WHERE name = 'bench-cam'")
"$CWCTL" user add bench-inv --role investigator <<<"bench investigator password" >/dev/null
token=bench-$RANDOM$RANDOM$RANDOM
q "INSERT INTO sessions (user_id, kind, token_hash, expires_at)
   SELECT id, 'bearer', sha256(convert_to('$token', 'UTF8')), now() + interval '1 day'
   FROM users WHERE name = 'bench-inv'"
printf '%s\n' "$token" >"$tmp/token"

# One minute encoded (the slow part), laid down MINUTES times as
# consecutive segments: the bytes are what matters here, not the picture.
say "encoding 60 s of 1920x1080 25 fps H.264 at 4 Mbit/s"
ffmpeg -v error -nostdin -f lavfi -i testsrc2=size=1920x1080:rate=25 -t 60 -pix_fmt yuv420p \
  -c:v libx264 -preset ultrafast -b:v 4M -maxrate 4M -bufsize 4M -g 50 -bf 0 \
  -movflags empty_moov+default_base_moof+frag_keyframe -f mp4 "$tmp/minute.mp4"
files=()
for i in $(seq 1 "$MINUTES"); do
  cp "$tmp/minute.mp4" "$tmp/gen/seg$i.mp4"
  files+=("$tmp/gen/seg$i.mp4")
done
start=2026-03-01T10:00:00Z
json=$(python3 "$root/tests/export/place_segments.py" "$footage" "$cam" bench-node "$start" "${files[@]}")
q "SELECT segments_add('$json'::json)" >/dev/null
mapfile -t segs < <(q "SELECT '$footage/' || path FROM segments ORDER BY start_time")
bytes=$(cat "${segs[@]}" | wc -c)
end=$(q "SELECT to_char(max(end_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM segments")
say "${#segs[@]} segments, $bytes bytes, $start .. $end"

run_export() {
  rm -f "$tmp/out/clip.mp4" "$tmp/out/clip.mp4.manifest.json"
  cw footage export --as bench-inv --token-file "$tmp/token" --camera "$cam" --from "$start" \
    --to "$end" --case BENCH --reason benchmark -o "$tmp/out/clip.mp4" </dev/null >/dev/null
}
run_copy() {
  rm -f "$tmp/out/copy.bin"
  cat "${segs[@]}" >"$tmp/out/copy.bin"
  sync "$tmp/out/copy.bin"
}
run_sha() { sha256sum "${segs[@]}" "$tmp/out/clip.mp4" >/dev/null; }

run_export && run_copy # warm
frames=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clip"]["frames"])' \
  "$tmp/out/clip.mp4.manifest.json")
[ "$frames" = $((MINUTES * 60 * 25)) ] || { say "the clip holds $frames frames, not $((MINUTES * 1500))"; exit 1; }
clip_bytes=$(stat -c %s "$tmp/out/clip.mp4")
best_export='' best_copy='' best_sha=''
for run in $(seq 1 "$REPEAT"); do
  t0=$(now_ns); run_export; t1=$(now_ns); run_copy; t2=$(now_ns); run_sha; t3=$(now_ns)
  e=$((t1 - t0)) c=$((t2 - t1)) s=$((t3 - t2))
  awk -v r="$run" -v e="$e" -v c="$c" -v s="$s" \
    'BEGIN { printf "run %d: export %.3f s, copy %.3f s (sha256sum of sources + clip %.3f s)\n", r, e / 1e9, c / 1e9, s / 1e9 }' >&2
  if [ -z "$best_export" ] || [ "$e" -lt "$best_export" ]; then best_export=$e; fi
  if [ -z "$best_copy" ] || [ "$c" -lt "$best_copy" ]; then best_copy=$c; fi
  if [ -z "$best_sha" ] || [ "$s" -lt "$best_sha" ]; then best_sha=$s; fi
done

python3 - "$bytes" "$clip_bytes" "$frames" "$best_export" "$best_copy" "$best_sha" "$REPEAT" "$MINUTES" <<'PY'
import sys
src, clip, frames, exp, cp, sha, rep, minutes = (int(x) for x in sys.argv[1:])
mb = src / 1e6
e, c, s = exp / 1e9, cp / 1e9, sha / 1e9
print("export benchmark: %d min of 1080p25 H.264 at 4 Mbit/s, %d segments of 60 s, %.1f MB; best of %d"
      % (minutes, minutes, mb, rep))
print("  clip: %.1f MB, %d frames" % (clip / 1e6, frames))
print("  cwctl footage export  %7.3f s  %8.1f MB/s" % (e, mb / e))
print("  cat + fsync (copy)    %7.3f s  %8.1f MB/s" % (c, mb / c))
print("  export/copy = %.1fx slower" % (e / c))
print("  (for scale: sha256sum of the sources and the clip, %.3f s, %.1f MB/s of source)" % (s, mb / s))
PY
