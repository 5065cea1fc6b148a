#!/usr/bin/env python3
"""place_segments.py ROOT CAMERA NODE START FILE...

Lays segment files out as the recorder would and prints the JSON array that
segments_add() takes. FILE i moves to ROOT/<relpath of CAMERA at its start>
(storage/segment.h: CAM/YYYY-MM-DD/HH/CAM-YYYYMMDDTHHMMSS.mmmZ.mp4); the
first starts at START (ISO 8601 with a zone), each next one where the one
before ends, the length of each measured with ffprobe from its packets (the
last packet's time plus its duration), so the index says what the file
holds. A FILE written as "+SECONDS" instead leaves a hole of that length
before the next segment.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys

CODECS = {"h264": "h264", "hevc": "h265"}


def probe(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_streams",
         "-show_entries", "packet=pts_time,duration_time", "-of", "json", path],
        capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    stream = info["streams"][0]
    last = max(info["packets"], key=lambda p: float(p["pts_time"]))
    first = min(float(p["pts_time"]) for p in info["packets"])
    length = float(last["pts_time"]) + float(last["duration_time"]) - first
    return CODECS[stream["codec_name"]], stream["width"], stream["height"], length


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def relpath(cam, t):
    return "%d/%s/%s/%d-%s.%03dZ.mp4" % (cam, t.strftime("%Y-%m-%d"), t.strftime("%H"), cam,
                                         t.strftime("%Y%m%dT%H%M%S"), t.microsecond // 1000)


def main():
    root, cam, node, start = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    t = datetime.datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(
        datetime.timezone.utc).replace(tzinfo=None)
    rows = []
    for f in sys.argv[5:]:
        if f.startswith("+"):
            t += datetime.timedelta(seconds=float(f[1:]))
            continue
        codec, width, height, length = probe(f)
        rel = relpath(cam, t)
        dest = os.path.join(root, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.move(f, dest)
        end = t + datetime.timedelta(seconds=length)
        rows.append({"camera_id": cam, "start_time": iso(t), "end_time": iso(end),
                     "node": node, "path": rel, "bytes": os.path.getsize(dest),
                     "codec": codec, "width": width, "height": height})
        t = end
    json.dump(rows, sys.stdout)


main()
