#!/usr/bin/env bash
# Renders the scene set, runs the analytics on every scene and scores the
# result against the ground truth (see README.md).
#
#   SCENEGEN=build/tests/scenes/scenegen CW_ANALYZE=build/analytics/cw-analyze \
#     bash tests/scenes/run_scenes.sh
#
# Env: SCENEGEN, CW_ANALYZE (required); SCENES (default: every scenario),
# SEEDS (default "1 2": each scenario rendered once per seed, so every
# incident kind has two instances), SCENES_DIR (keep the set there instead
# of a temporary directory), SCENE_ARGS (extra scenegen options, e.g.
# "--size 1280x720"), SCORE_ARGS (extra score.py options, e.g. "--json").
# Exit status: score.py's (0 targets met, 1 not), 2 on a setup error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SCENEGEN:?set SCENEGEN to the scenegen binary}"
: "${CW_ANALYZE:?set CW_ANALYZE to the cw-analyze binary}"
for bin in "$SCENEGEN" "$CW_ANALYZE"; do
  if [[ ! -x $bin ]]; then
    echo "run_scenes: $bin: not an executable" >&2
    exit 2
  fi
done
scenes=${SCENES:-$("$SCENEGEN" --list | awk '{print $1}')}
seeds=${SEEDS:-1 2}

if [[ -n ${SCENES_DIR:-} ]]; then
  dir=$SCENES_DIR
  mkdir -p "$dir"
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/cw-scenes.XXXXXX")
  trap 'rm -rf "$dir"' EXIT
fi

for seed in $seeds; do
  out="$dir/seed$seed"
  mkdir -p "$out"
  for name in $scenes; do
    start=$SECONDS
    # shellcheck disable=SC2086 # SCENE_ARGS is a list of options
    "$SCENEGEN" --scenario "$name" --seed "$seed" --out "$out" ${SCENE_ARGS:-}
    rc=0
    "$CW_ANALYZE" "$out/$name.mp4" --config "$out/$name.config.json" \
      >"$out/$name.events.jsonl" 2>"$out/$name.analyze.log" || rc=$?
    if [[ $rc -ne 0 ]]; then
      echo "run_scenes: cw-analyze failed on seed$seed/$name (exit $rc):" >&2
      tail -5 "$out/$name.analyze.log" >&2
    fi
    echo "run_scenes: seed$seed/$name: $(wc -l <"$out/$name.events.jsonl") events," \
      "$((SECONDS - start)) s" >&2
  done
done

# shellcheck disable=SC2086
python3 "$here/score.py" --dir "$dir" ${SCORE_ARGS:-}
