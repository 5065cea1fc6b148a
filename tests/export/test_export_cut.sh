#!/usr/bin/env bash
# cwctl footage export: where the clip is cut. Footage of 25 fps with a
# keyframe every second, in 4 s segments with an 8 s hole, exported over
# ranges that start inside a GOP, on a keyframe, a microsecond before one,
# in the hole, and end past the footage; across a change of picture size it
# is refused. Each clip's decoded frames are
# compared, MD5 by MD5, with the frames of the footage it should hold; its
# first packet must be a keyframe at time 0, it must decode without a single
# error, and its timestamps must jump over the hole. H.265 once, and H.264
# with B-frames (the end cut keeps only frames that decode).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=tests/cli/lib.sh
. "$here/../cli/lib.sh"
# shellcheck source=tests/export/footage.sh
. "$here/footage.sh"

expect_ok "$CWCTL" db migrate
add_user inv investigator
t() { echo "2026-03-01T10:00:$1Z"; }
export_clip() { # export_clip CAM FROM TO CLIP [ARGS...]
  local cam=$1 from=$2 to=$3 clip=$4
  shift 4
  expect_ok cw footage export --as inv --camera "$cam" --from "$(t "$from")" --to "$(t "$to")" \
    --case CASE-CUT --reason "cut test" -o "$clip" "$@" <<<"$(password inv)"
}
first_packet() { packets "$1" | head -1; }

# --- H.264, 25 fps, keyframe every second -----------------------------------
# Wall clock: segments at [0,4) [4,8) [8,12), nothing in [12,20), then [20,24)
# [24,28). Frame k of the generated run is at k/25 s for k < 300 and at
# k/25 + 8 s after the hole.
cam=$(add_camera gate-north)
src=$CW_TMP/src264
make_segments "$src" 4 5 -c:v libx264 -preset veryfast -bf 0 -g 25 -keyint_min 25 \
  -sc_threshold 0
index_segments "$cam" "$(t 00)" "$src"/seg000.mp4 "$src"/seg001.mp4 "$src"/seg002.mp4 +8 \
  "$src"/seg003.mp4 "$src"/seg004.mp4
expect_eq "segments indexed" 5 "$(sql "SELECT count(*) FROM segments WHERE camera_id = $cam")"

# Inside a GOP, across a segment boundary: from the keyframe at 5.0 (not
# the next one at 6.0) to the frame at 9.28, the last before 9.3.
clip=$CW_TMP/out/a.mp4
mkdir -p "$CW_TMP/out"
export_clip "$cam" 05.5 09.3 "$clip" --json
expect_eq "stderr of an export" "" "$ERR"
expect_json 'd["actual"] == {"from": "2026-03-01T10:00:05.000000Z", "to": "2026-03-01T10:00:09.280000Z"}' \
  "actual range: keyframe at/before from, last frame before to"
expect_json 'd["requested"]["from"] == "2026-03-01T10:00:05.500000Z"'
expect_json 'd["clip"]["frames"] == 108 and d["clip"]["codec"] == "h264"'
expect_json 'd["clip"]["width"] == 320 and d["clip"]["height"] == 240'
expect_json 'd["gaps"] == [] and len(d["segments"]) == 2' "no gaps, two source segments"
expect_json '[s["frames"] for s in d["segments"]] == [75, 33]' "frames taken from each segment"
expect_eq "first packet of a.mp4" "0.000000,K_" "$(first_packet "$clip")"
expect_eq "last packet of a.mp4" "4.280000,__" "$(packets "$clip" | tail -1)"
expect_frames "5.5 .. 9.3" "$clip" "$src/frames.md5" 125 108
expect_decodes "$clip"
# An ordinary MP4, index first (+faststart), not fragmented.
expect_eq "top-level boxes of a.mp4" "ftyp moov mdat" "$(python3 - "$clip" <<'PY'
import struct, sys
f = open(sys.argv[1], "rb"); data = f.read(); i = 0; names = []
while i + 8 <= len(data):
    size, name = struct.unpack(">I4s", data[i:i + 8])
    size = struct.unpack(">Q", data[i + 8:i + 16])[0] if size == 1 else size
    if name != b"free":
        names.append(name.decode())
    i += size
print(" ".join(names))
PY
)"

# On a keyframe: the clip starts there; a microsecond before it, at the
# keyframe before.
export_clip "$cam" 06 07 "$CW_TMP/out/on-key.mp4"
expect_stdout_contains "actual:   2026-03-01T10:00:06.000000Z .. 2026-03-01T10:00:06.960000Z"
expect_frames "on a keyframe" "$CW_TMP/out/on-key.mp4" "$src/frames.md5" 150 25
export_clip "$cam" 05.999999 07 "$CW_TMP/out/before-key.mp4"
expect_frames "just before a keyframe" "$CW_TMP/out/before-key.mp4" "$src/frames.md5" 125 50
expect_eq "first packet of before-key.mp4" "0.000000,K_" "$(first_packet "$CW_TMP/out/before-key.mp4")"

# Over the hole: it exports, the manifest and the output say so, and the
# clip's clock jumps by the hole's 8 s instead of hiding it.
clip=$CW_TMP/out/gap.mp4
export_clip "$cam" 10.5 22.5 "$clip"
expect_stdout_contains "gaps:"
expect_stdout_contains "2026-03-01T10:00:12.000000Z .. 2026-03-01T10:00:20.000000Z (no footage)"
expect_json_file "$clip.manifest.json" \
  'd["gaps"] == [{"from": "2026-03-01T10:00:12.000000Z", "to": "2026-03-01T10:00:20.000000Z"}]' \
  "the manifest lists the hole"
expect_json_file "$clip.manifest.json" \
  'd["actual"] == {"from": "2026-03-01T10:00:10.000000Z", "to": "2026-03-01T10:00:22.480000Z"}'
expect_frames "over the hole" "$clip" "$src/frames.md5" 250 113
expect_eq "packets 49 and 50 of gap.mp4 (before and after the hole)" \
  "1.960000,__ 10.000000,K_" "$(packets "$clip" | sed -n '50,51p' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "duration of gap.mp4" "12.520000" \
  "$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$clip")"
expect_decodes "$clip"

# From inside the hole: the first keyframe after it.
export_clip "$cam" 14 21.5 "$CW_TMP/out/in-gap.mp4" --json
expect_json 'd["actual"]["from"] == "2026-03-01T10:00:20.000000Z"'
expect_json 'd["gaps"] == [] and d["requested"]["from"] == "2026-03-01T10:00:14.000000Z"'
expect_frames "from inside the hole" "$CW_TMP/out/in-gap.mp4" "$src/frames.md5" 300 38

# Past the end of the footage: up to its last frame.
export_clip "$cam" 26 40 "$CW_TMP/out/past-end.mp4" --json
expect_json 'd["actual"]["to"] == "2026-03-01T10:00:27.960000Z"'
expect_frames "past the end" "$CW_TMP/out/past-end.mp4" "$src/frames.md5" 450 50

# Only the hole: nothing to export, nothing written.
expect_fail 1 "no footage of camera $cam between 2026-03-01T10:00:13.000000Z and 2026-03-01T10:00:19.000000Z" \
  cw footage export --as inv --camera "$cam" --from "$(t 13)" --to "$(t 19)" --case C \
  --reason r -o "$CW_TMP/out/none.mp4" <<<"$(password inv)"
expect_eq "files left by the refused export" "" "$(find "$CW_TMP/out" -name '*none*')"

# A camera whose picture size changed: the parameter sets of one part would
# be wrong for the other, so the export is refused, naming both.
make_segments "$CW_TMP/src360" 2 1 -vf scale=640:360 -c:v libx264 -preset veryfast -bf 0 -g 25
index_segments "$cam" "$(t 28)" "$CW_TMP/src360/seg000.mp4"
expect_fail 1 "h264 640x360, but the clip so far (from $FOOTAGE/$cam/2026-03-01/10/$cam-20260301T100024.000Z.mp4) is h264 320x240; a clip cannot change codec or picture size" \
  cw footage export --as inv --camera "$cam" --from "$(t 27)" --to "$(t 29)" --case C \
  --reason r -o "$CW_TMP/out/resized.mp4" <<<"$(password inv)"
expect_eq "files left by the refused export" "" "$(find "$CW_TMP/out" -name '*resized*')"
export_clip "$cam" 28.5 29.5 "$CW_TMP/out/after-resize.mp4" --json
expect_json 'd["clip"]["width"] == 640 and d["clip"]["height"] == 360 and d["clip"]["frames"] == 38'

# --- H.265 ------------------------------------------------------------------
cam265=$(add_camera gate-south)
src=$CW_TMP/src265
make_segments "$src" 2 3 -c:v libx265 -preset ultrafast -tag:v hvc1 \
  -x265-params keyint=25:min-keyint=25:bframes=0:scenecut=0:log-level=error
index_segments "$cam265" "$(t 00)" "$src"/seg000.mp4 "$src"/seg001.mp4 "$src"/seg002.mp4
clip=$CW_TMP/out/hevc.mp4
export_clip "$cam265" 01.5 04.5 "$clip" --json
expect_json 'd["clip"]["codec"] == "h265" and d["clip"]["frames"] == 88'
expect_eq "codec of hevc.mp4" "hevc,hvc1" \
  "$(ffprobe -v error -show_entries stream=codec_name,codec_tag_string -of csv=p=0 "$clip")"
expect_eq "first packet of hevc.mp4" "0.000000,K_" "$(first_packet "$clip")"
expect_frames "H.265 1.5 .. 4.5" "$clip" "$src/frames.md5" 25 88
expect_decodes "$clip"

# A hole of 7 hours: MP4 frame durations are 31-bit as written, so the
# clip is timed at 15 kHz rather than 90 kHz, and the frame after the hole
# is 7 h later. A hole of 2 days is more than one clip can span: refused.
make_segments "$CW_TMP/src265b" 2 2 -c:v libx265 -preset ultrafast \
  -x265-params keyint=25:min-keyint=25:bframes=0:scenecut=0:log-level=error
index_segments "$cam265" 2026-03-01T17:00:00Z "$CW_TMP/src265b/seg000.mp4"
clip=$CW_TMP/out/hevc-7h.mp4
expect_ok cw footage export --as inv --camera "$cam265" --from "$(t 05)" \
  --to 2026-03-01T17:00:01Z --case C --reason r -o "$clip" <<<"$(password inv)"
expect_stdout_contains "2026-03-01T10:00:06.000000Z .. 2026-03-01T17:00:00.000000Z (no footage)"
expect_eq "packets 24 and 25 of hevc-7h.mp4 (before and after the hole)" \
  "0.960000,__ 25195.000000,K_" "$(packets "$clip" | sed -n '25,26p' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "packets in hevc-7h.mp4" 50 "$(packets "$clip" | wc -l)"
expect_eq "time base of hevc-7h.mp4" "1/15000" \
  "$(ffprobe -v error -show_entries stream=time_base -of csv=p=0 "$clip")"
expect_decodes "$clip"
index_segments "$cam265" 2026-03-03T17:00:00Z "$CW_TMP/src265b/seg001.mp4"
expect_fail 1 "the range holds no footage from 2026-03-01T17:00:02.000000Z to 2026-03-03T17:00:00.000000Z, longer than one MP4 clip can span (36 hours)" \
  cw footage export --as inv --camera "$cam265" --from 2026-03-01T17:00:00Z \
  --to 2026-03-03T17:00:01Z --case C --reason r -o "$CW_TMP/out/2days.mp4" <<<"$(password inv)"
expect_eq "files left by the refused export" "" "$(find "$CW_TMP/out" -name '*2days*')"

# --- H.264 with B-frames ----------------------------------------------------
# The end cut stops at the first packet, in decode order, at or after `to`:
# B-frames before `to` that need a reference after it are left out, so the
# clip ends a frame or two early but decodes cleanly.
camb=$(add_camera gate-east)
src=$CW_TMP/srcb
make_segments "$src" 2 3 -c:v libx264 -preset veryfast -bf 2 -g 25 -keyint_min 25 \
  -sc_threshold 0
index_segments "$camb" "$(t 00)" "$src"/seg000.mp4 "$src"/seg001.mp4 "$src"/seg002.mp4
clip=$CW_TMP/out/bframes.mp4
export_clip "$camb" 01.5 03.3 "$clip"
expect_eq "first packet flags of bframes.mp4" "K_" "$(first_packet "$clip" | cut -d, -f2)"
expect_decodes "$clip"
n=$(frame_md5s "$clip" | wc -l)
if [ "$n" -lt 55 ] || [ "$n" -gt 58 ]; then
  fail "bframes.mp4 holds $n frames, expected 55..58 (1.0 .. 3.28 s)"
fi
expect_frames "B-frames 1.5 .. 3.3" "$clip" "$src/frames.md5" 25 "$n"

done_ok
