#!/usr/bin/env bash
# tests/fuzz/run.sh — fuzzes every target with libFuzzer for a while.
#
#   bash tests/fuzz/run.sh [SECONDS] [TARGET...]     (default 30 s, all targets)
#
# Installs clang and its libFuzzer runtime if missing, builds build-fuzz/
# (clang, AddressSanitizer + UBSan, the whole program instrumented for
# coverage) and runs each fuzz-NAME for SECONDS on a scratch copy of its
# corpus, tests/fuzz/corpus/NAME/ (what the fuzzer adds to the copy is
# thrown away). An input that
# crashes, leaks, trips a sanitizer or an invariant, times out or runs out of
# memory is copied into tests/fuzz/corpus/NAME/ under libFuzzer's name for
# it (crash-*, leak-*, timeout-*, oom-*), where `meson test --suite fuzz`
# replays it from then on; the script then exits 1. Logs stay in
# build-fuzz/fuzz-logs/. Inputs are kept to 8 KiB (CW_FUZZ_MAX_LEN), which
# is plenty for these parsers and keeps the fuzzers fast; longer seeds are cut
# while fuzzing and replayed whole by meson test. CW_FUZZ_BUILD overrides the
# build folder; CW_FUZZ_ARGS adds libFuzzer flags, e.g. "-fork=2
# -ignore_crashes=1" to go on past a crash.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
secs=${1:-30}
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(csv rtsp_url config camera_import sdp rtsp_msg rtp_h264 rtp_h265 analytics_config)
build=${CW_FUZZ_BUILD:-$root/build-fuzz}
case $secs in
'' | *[!0-9]*)
  echo "usage: $0 [SECONDS] [TARGET...]" >&2
  exit 2
  ;;
esac
for t in "${targets[@]}"; do
  if [ ! -d "$here/corpus/$t" ]; then
    echo "run.sh: no target '$t' (no $here/corpus/$t)" >&2
    exit 2
  fi
done

# shellcheck source=tests/harness/bootstrap.sh
. "$root/tests/harness/bootstrap.sh"
# clang-14 is Debian 12's clang; its libFuzzer and sanitizer runtimes come in
# libclang-rt-14-dev, llvm-symbolizer (readable stacks) in llvm-14.
# shellcheck disable=SC2034  # read by cw_ensure_packages
CW_PACKAGES=(clang libclang-rt-14-dev llvm-14)
cw_ensure_packages

work=$(mktemp -d /tmp/cw-fuzz.XXXXXX)
trap 'rm -rf -- "$work"' EXIT

cd "$root"
# fuzzer-no-link instruments every library for coverage, not only the
# fuzz-NAME files (which add -fsanitize=fuzzer); b_lundef=false because the
# sanitizer runtimes leave symbols undefined on purpose.
CC=clang cw_meson_setup "$build" -Dfuzzing=true -Db_sanitize=address,undefined \
  -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link >"$work/setup.log" 2>&1 || {
  cat "$work/setup.log" >&2
  exit 1
}
# Only what the fuzzers need: the rest of the tree is not this script's to
# build with clang.
ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz-}"

logs=$build/fuzz-logs
mkdir -p "$logs"

# Leaks are findings; UBSan stops at its first report like ASan does. GLib's
# slice allocator would hide allocations from ASan.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export G_SLICE=always-malloc
for s in llvm-symbolizer llvm-symbolizer-14; do
  if command -v "$s" >/dev/null 2>&1; then
    export ASAN_SYMBOLIZER_PATH
    ASAN_SYMBOLIZER_PATH=$(command -v "$s")
    break
  fi
done

failed=0
for t in "${targets[@]}"; do
  corpus=$work/$t/corpus
  artifacts=$work/$t/artifacts
  mkdir -p "$corpus" "$artifacts"
  cp -- "$here/corpus/$t"/* "$corpus/"
  log=$logs/$t.log
  rc=0
  # A target whose input reaches a library that leaks on its own (json-glib:
  # tests/harness/lsan.supp) needs the slow unwinder for the suppression to
  # match; it costs about ten times the executions, so only those get it.
  lsan=
  case $t in
    analytics_config) lsan="suppressions=$here/../harness/lsan.supp:fast_unwind_on_malloc=0" ;;
  esac
  # shellcheck disable=SC2086  # CW_FUZZ_ARGS is a list of flags
  LSAN_OPTIONS=$lsan "$build/tests/fuzz/fuzz-$t" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
    -max_len="${CW_FUZZ_MAX_LEN:-8192}" \
    -artifact_prefix="$artifacts/" ${CW_FUZZ_ARGS:-} "$corpus" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ -z "$execs" ]; then
    # Stopped before its final stats: take the last "#N" status line.
    execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
  fi
  found=()
  for a in "$artifacts"/*; do
    [ -e "$a" ] || continue
    cp -- "$a" "$here/corpus/$t/"
    found+=("$(basename "$a")")
  done
  if [ "$rc" -eq 0 ] && [ "${#found[@]}" -eq 0 ]; then
    printf '%-14s %10s executions in %ss, nothing found\n' "$t" "${execs:-?}" "$secs"
    continue
  fi
  failed=1
  printf '%-14s %10s executions, FOUND (exit %s): %s\n' "$t" "${execs:-?}" "$rc" \
    "${found[*]:-no input saved}"
  for f in "${found[@]}"; do
    echo "    kept as tests/fuzz/corpus/$t/$f"
  done
  # The sanitizer or invariant report, for the reader in a hurry.
  grep -m 1 -A 12 -E '^==[0-9]+==ERROR|runtime error|invariant failed|^SUMMARY' "$log" |
    sed 's/^/    /' || true
  echo "    full log: $log"
done
exit "$failed"
