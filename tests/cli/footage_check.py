#!/usr/bin/env python3
"""footage_check.py ROOT [--decode] < rows.json

Checks a node's footage folder against its index rows (a JSON array of
segments rows: camera_id, start_time, end_time, path, codec, repaired) with
ffprobe, and prints one JSON summary:

  segments     rows checked
  missing      rows whose file is not there
  unindexed    .mp4 files under ROOT with no row
  partial      .part files under ROOT
  bad          rows whose file fails a check, with the reason: not starting
               on a keyframe, timestamps not increasing, duration not what
               the row says, wrong codec, or (--decode) decoder errors
  gaps         per camera, holes over 0.25 s between consecutive segments
"""
import datetime
import json
import os
import subprocess
import sys

CODECS = {"h264": "h264", "h265": "hevc"}


def when(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def probe(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_packets",
         "-show_streams", "-of", "json", path],
        capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return None, out.stderr.strip()
    return json.loads(out.stdout), None


def check_row(root, row, decode):
    path = os.path.join(root, row["path"])
    info, err = probe(path)
    if info is None:
        return "ffprobe failed: " + err
    streams, packets = info.get("streams", []), info.get("packets", [])
    if not streams or not packets:
        return "no video stream or no packets"
    if streams[0]["codec_name"] != CODECS[row["codec"]]:
        return "codec %s, row says %s" % (streams[0]["codec_name"], row["codec"])
    if "K" not in packets[0].get("flags", ""):
        return "first packet is not a keyframe"
    pts = [float(p["pts_time"]) for p in packets]
    if any(b <= a for a, b in zip(pts, pts[1:])):
        return "timestamps do not increase"
    last = packets[-1]
    length = pts[-1] + float(last.get("duration_time", 0)) - pts[0]
    want = when(row["end_time"]) - when(row["start_time"])
    if abs(length - want) > 0.15:
        return "duration %.3f s, row says %.3f s" % (length, want)
    if decode:
        dec = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"],
                             capture_output=True, text=True, check=False)
        if dec.returncode != 0 or dec.stderr.strip():
            return "decoder errors: " + dec.stderr.strip()[:300]
    return None


def main():
    root = sys.argv[1]
    decode = "--decode" in sys.argv[2:]
    rows = json.load(sys.stdin) or []
    indexed = {r["path"] for r in rows}
    summary = {"segments": len(rows), "missing": [], "unindexed": [], "partial": [],
               "bad": [], "gaps": {}}
    for dirpath, _, files in os.walk(root):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), root)
            if f.endswith(".part"):
                summary["partial"].append(rel)
            elif f.endswith(".mp4") and rel not in indexed:
                summary["unindexed"].append(rel)
    by_camera = {}
    for row in rows:
        if not os.path.exists(os.path.join(root, row["path"])):
            summary["missing"].append(row["path"])
            continue
        why = check_row(root, row, decode)
        if why:
            summary["bad"].append({"path": row["path"], "why": why})
        by_camera.setdefault(str(row["camera_id"]), []).append(row)
    for cam, segs in by_camera.items():
        segs.sort(key=lambda r: when(r["start_time"]))
        holes = [when(b["start_time"]) - when(a["end_time"]) for a, b in zip(segs, segs[1:])]
        summary["gaps"][cam] = sum(1 for h in holes if h > 0.25)
    json.dump(summary, sys.stdout)
    print()


if __name__ == "__main__":
    main()
