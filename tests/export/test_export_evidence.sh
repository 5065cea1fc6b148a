#!/usr/bin/env bash
# cwctl footage export|verify: the clip as evidence. The manifest says what
# the clip is made of (segment SHA-256s that sha256sum agrees with, the
# gap, who, why), footage_exports and audit_log record it, and verify
# catches a flipped byte, and a manifest forged to match a tampered clip
# once the database is asked. An existing clip is never overwritten without
# --force, and a failed export (missing or changed footage, a missing
# folder, a refused database row) leaves no file behind.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/../cli/lib.sh"
# shellcheck source=tests/export/footage.sh
. "$here/footage.sh"

expect_ok "$CWCTL" db migrate
add_user inv investigator
cam=$(add_camera depot-gate)
t() { echo "2026-03-01T10:00:$1Z"; }
# Segments at [0,2) [2,4) [4,6), nothing in [6,9), then [9,11).
src=$CW_TMP/src
make_segments "$src" 2 4 -c:v libx264 -preset veryfast -bf 0 -g 25 -keyint_min 25 -sc_threshold 0
index_segments "$cam" "$(t 00)" "$src"/seg000.mp4 "$src"/seg001.mp4 "$src"/seg002.mp4 +3 \
  "$src"/seg003.mp4
out=$CW_TMP/out
mkdir -p "$out"
clip=$out/case-41.mp4
manifest=$clip.manifest.json
export_clip() { # export_clip FROM TO CLIP [ARGS...]
  local from=$1 to=$2 c=$3
  shift 3
  cw footage export --as inv --camera "$cam" --from "$(t "$from")" --to "$(t "$to")" \
    --case CASE-41 --reason "collision at the depot gate" -o "$c" "$@" <<<"$(password inv)"
}
exports() { sql 'SELECT count(*) FROM footage_exports'; }

# --- the export and its manifest -------------------------------------------
expect_ok export_clip 02.5 10 "$clip"
expect_stdout_contains "clip:     $clip"
expect_stdout_contains "manifest: $manifest"
expect_stdout_contains "actual:   2026-03-01T10:00:02.000000Z .. 2026-03-01T10:00:09.960000Z"
expect_stdout_contains "2026-03-01T10:00:06.000000Z .. 2026-03-01T10:00:09.000000Z (no footage)"
expect_decodes "$clip"
expect_json_file "$manifest" 'd["format_version"] == 1'
expect_json_file "$manifest" "d['camera'] == {'id': $cam, 'name': 'depot-gate'}"
expect_json_file "$manifest" 'd["requested"] == {"from": "2026-03-01T10:00:02.500000Z", "to": "2026-03-01T10:00:10.000000Z"}'
expect_json_file "$manifest" 'd["gaps"] == [{"from": "2026-03-01T10:00:06.000000Z", "to": "2026-03-01T10:00:09.000000Z"}]'
expect_json_file "$manifest" '[s["start"] for s in d["segments"]] == ["2026-03-01T10:00:%02d.000000Z" % s for s in (2, 4, 9)]'
expect_json_file "$manifest" 'all(s["node"] == "test-node" and s["end"] > s["start"] for s in d["segments"])'
expect_json_file "$manifest" 'd["clip"]["file"] == "case-41.mp4" and d["clip"]["frames"] == 25 * 5'
expect_json_file "$manifest" 'd["exported_by"] == "inv" and d["case"] == "CASE-41"'
expect_json_file "$manifest" 'd["reason"] == "collision at the depot gate" and d["exported_at"].endswith("Z")'
expect_json_file "$manifest" '__import__("re").fullmatch("[0-9a-f-]{36}", d["export_id"]) is not None'
# Every source segment's digest and size, as sha256sum and stat see them.
python3 - "$manifest" "$FOOTAGE" >"$CW_TMP/segs.txt" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["segments"]:
    print("%s %d %s/%s" % (s["sha256"], s["bytes"], sys.argv[2], s["path"]))
PY
while read -r sha bytes path; do
  expect_eq "SHA-256 of $path" "$(sha256sum "$path" | cut -d' ' -f1)" "$sha"
  expect_eq "size of $path" "$(stat -c %s "$path")" "$bytes"
done <"$CW_TMP/segs.txt"
expect_eq "segments in the manifest" 3 "$(wc -l <"$CW_TMP/segs.txt")"
clip_sha=$(sha256sum "$clip" | cut -d' ' -f1)
export_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["export_id"])' "$manifest")
expect_json_file "$manifest" "d['clip']['sha256'] == '$clip_sha' and d['clip']['bytes'] == $(stat -c %s "$clip")"

# --- what the database keeps ------------------------------------------------
expect_eq "footage_exports rows" 1 "$(exports)"
expect_eq "the recorded export" "inv|CASE-41|$clip_sha|t|t" "$(sql "SELECT user_name, case_id,
  clip_sha256, manifest->>'export_id' = '$export_id', manifest = \$m\$$(cat "$manifest")\$m\$::jsonb
  FROM footage_exports")"
expect_eq "audit row of the export" \
  "inv|camera:$cam|CASE-41|collision at the depot gate|$clip_sha|$export_id|2026-03-01T10:00:02.500000Z" \
  "$(sql "SELECT actor, object, details->>'case', details->>'reason', details->>'clip_sha256',
          details->>'export_id', details->>'from' FROM audit_log WHERE action = 'footage.export'")"
expect_ok "$CWCTL" audit verify

# --- verify -----------------------------------------------------------------
expect_ok cw footage verify "$clip"
expect_stdout_contains "ok: $clip matches $manifest and the export recorded in the database"
expect_ok cw footage verify "$clip" --offline
mv "$manifest" "$out/elsewhere.json"
expect_fail 1 "$manifest" cw footage verify "$clip" --offline
expect_ok cw footage verify "$clip" --manifest "$out/elsewhere.json"
mv "$out/elsewhere.json" "$manifest"

# One flipped byte: the hash names it, with or without the database.
tampered=$out/tampered.mp4
cp "$clip" "$tampered"
cp "$manifest" "$tampered.manifest.json"
python3 - "$tampered" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(os.path.getsize(sys.argv[1]) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0x01]))
PY
bad_sha=$(sha256sum "$tampered" | cut -d' ' -f1)
expect_fail 1 "cwctl: verify: $tampered: SHA-256 $bad_sha differs from $clip_sha" \
  cw footage verify "$tampered" --offline
expect_fail 1 "SHA-256 $bad_sha differs" cw footage verify "$tampered"

# The manifest forged to match: offline cannot tell, the database can.
sed -i "s/$clip_sha/$bad_sha/" "$tampered.manifest.json"
expect_ok cw footage verify "$tampered" --offline
expect_fail 1 "clip SHA-256 $bad_sha differs from $clip_sha recorded for export $export_id" \
  cw footage verify "$tampered"
# ... also under an export id of its own.
sed -i "s/$export_id/00000000-0000-4000-8000-000000000000/" "$tampered.manifest.json"
expect_ok cw footage verify "$tampered" --offline
expect_fail 1 "export 00000000-0000-4000-8000-000000000000 is not recorded in footage_exports" \
  cw footage verify "$tampered"
# An untouched clip with a manifest whose words were changed.
cp "$clip" "$out/reworded.mp4"
sed 's/collision at the depot gate/routine check/' "$manifest" >"$out/reworded.mp4.manifest.json"
expect_ok cw footage verify "$out/reworded.mp4" --offline
expect_fail 1 "differs from the manifest recorded for export $export_id" \
  cw footage verify "$out/reworded.mp4"

# --- never overwritten without --force --------------------------------------
before=$(sha256sum "$clip" "$manifest")
expect_fail 1 "-o: $clip already exists; give --force to replace it" export_clip 00 01 "$clip"
expect_eq "the clip and manifest after a refused export" "$before" "$(sha256sum "$clip" "$manifest")"
expect_ok export_clip 00 01 "$out/only-manifest.mp4"
rm "$out/only-manifest.mp4"
expect_fail 1 "only-manifest.mp4.manifest.json already exists" export_clip 00 01 "$out/only-manifest.mp4"
expect_eq "exports after two refusals" 2 "$(exports)"
expect_ok export_clip 00 01 "$clip" --force
expect_json_file "$manifest" 'd["actual"]["from"] == "2026-03-01T10:00:00.000000Z" and d["clip"]["frames"] == 25'
expect_ok cw footage verify "$clip"
expect_eq "exports after --force" 3 "$(exports)"

# --- a failed export leaves nothing -----------------------------------------
leftovers() { find "$out" -name 'fail*' -o -name '.fail*' | wc -l; }
seg=$FOOTAGE/$(sql "SELECT path FROM segments WHERE start_time = '$(t 04)'")
mv "$seg" "$seg.away"
expect_fail 1 "$seg: No such file or directory" export_clip 03 05 "$out/fail.mp4"
mv "$seg.away" "$seg"
expect_eq "files left after missing footage" 0 "$(leftovers)"
# Footage that changed since it was indexed is no evidence.
cp "$seg" "$CW_TMP/seg.orig"
printf 'x' >>"$seg"
expect_fail 1 "$seg: $(stat -c %s "$seg") bytes, but the footage index recorded" \
  export_clip 03 05 "$out/fail.mp4"
cp "$CW_TMP/seg.orig" "$seg"
expect_eq "files left after changed footage" 0 "$(leftovers)"
expect_fail 1 "$out/no-such-dir/fail.mp4" export_clip 03 05 "$out/no-such-dir/fail.mp4"
# The database refuses the row after the files were in place (a trigger of
# this test's own database): they go again.
sql "CREATE FUNCTION refuse_export() RETURNS trigger LANGUAGE plpgsql AS
     \$\$ BEGIN RAISE EXCEPTION 'exports refused by the test'; END \$\$;
     CREATE TRIGGER refuse_export BEFORE INSERT ON footage_exports
     FOR EACH ROW EXECUTE FUNCTION refuse_export()" >/dev/null
expect_fail 1 "recording the export: database: exports refused by the test" \
  export_clip 03 05 "$out/fail.mp4"
sql "DROP TRIGGER refuse_export ON footage_exports" >/dev/null
expect_eq "files left after a refused row" 0 "$(leftovers)"
expect_eq "exports after the failures" 3 "$(exports)"
expect_ok export_clip 03 05 "$out/fail.mp4"
expect_eq "files of the export that then worked" 2 "$(leftovers)"

done_ok
