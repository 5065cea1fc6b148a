#!/usr/bin/env python3
"""scenes/generator: scenegen renders two short scenes; ffprobe checks the
video (duration, size, frame count), and the truth and the configuration
are checked for shape: counts > 0, incidents as scripted, lines, lanes and
zones in frame fractions. The same seed gives the same truth; another seed
another. Env: SCENEGEN (the binary); ffmpeg and ffprobe on PATH."""

import json
import os
import subprocess
import sys
import tempfile

SCENEGEN = os.environ.get("SCENEGEN", "scenegen")
SECONDS, FPS, W, H = 20, 10, 320, 180
failures = []


def check(what, ok, detail=""):
    print(f"{'ok' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(what)


def gen(out, scenario, seed=1, video=True):
    args = [SCENEGEN, "--scenario", scenario, "--out", out, "--seconds", str(SECONDS),
            "--size", f"{W}x{H}", "--fps", str(FPS), "--seed", str(seed)]
    if not video:
        args.append("--no-video")
    p = subprocess.run(args, capture_output=True, text=True)
    check(f"scenegen {scenario} seed {seed} exits 0", p.returncode == 0, p.stderr)
    check(f"scenegen {scenario} seed {seed} gives no warning", "warning" not in p.stderr,
          p.stderr)


def probe(path):
    p = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                        "-show_entries", "stream=codec_name,width,height,nb_read_frames,pix_fmt"
                        ":format=duration", "-of", "json", path],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)


def in_frame(p):
    return (isinstance(p, list) and len(p) == 2
            and all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in p))


def check_config(name, cfg):
    lines, lanes, zones = cfg.get("lines", []), cfg.get("lanes", []), cfg.get("zones", [])
    check(f"{name}: config members are lines/lanes/zones only",
          set(cfg) <= {"lines", "lanes", "zones", "thresholds"}, str(set(cfg)))
    check(f"{name}: config has counting lines", len(lines) >= 1)
    check(f"{name}: lines in frame fractions",
          all(in_frame(l.get("from")) and in_frame(l.get("to")) and l.get("id") for l in lines))
    check(f"{name}: config has >= 4 lanes", len(lanes) >= 4)
    ok = True
    for lane in lanes:
        d = lane.get("direction", [0, 0])
        ok = ok and len(lane.get("polygon", [])) >= 3 and all(map(in_frame, lane["polygon"]))
        ok = ok and abs((d[0] ** 2 + d[1] ** 2) ** 0.5 - 1) < 1e-3
    check(f"{name}: lanes have polygons and unit directions", ok)
    # lanes of opposite directions point opposite ways (up and down the frame)
    ys = sorted(l["direction"][1] for l in lanes)
    check(f"{name}: traffic both ways", ys[0] < -0.5 and ys[-1] > 0.5, str(ys))
    kinds = sorted(z.get("kind") for z in zones)
    check(f"{name}: a no-stopping and a congestion zone", kinds == ["congestion", "no_stopping"],
          str(kinds))
    check(f"{name}: zones are polygons in the frame",
          all(len(z["polygon"]) >= 3 and all(map(in_frame, z["polygon"])) for z in zones))


def main():
    with tempfile.TemporaryDirectory() as d:
        gen(d, "traffic")
        gen(d, "blackout")
        for name in ("traffic", "blackout"):
            base = os.path.join(d, name)
            info = probe(base + ".mp4")
            check(f"{name}: ffprobe reads the mp4", info is not None)
            if info is None:
                continue
            st = info["streams"][0]
            dur = float(info["format"]["duration"])
            check(f"{name}: H.264", st.get("codec_name") == "h264", st.get("codec_name"))
            check(f"{name}: size {W}x{H}", (st["width"], st["height"]) == (W, H),
                  f"{st['width']}x{st['height']}")
            check(f"{name}: {SECONDS * FPS} frames", int(st["nb_read_frames"]) == SECONDS * FPS,
                  st["nb_read_frames"])
            check(f"{name}: {SECONDS} s long", abs(dur - SECONDS) < 0.25, str(dur))
            with open(base + ".truth.json") as f:
                truth = json.load(f)
            with open(base + ".config.json") as f:
                cfg = json.load(f)
            for key in ("scenario", "seed", "fps", "width", "height", "seconds", "quiet",
                        "counts", "incidents"):
                check(f"{name}: truth has {key}", key in truth)
            total = sum(c["forward"] + c["reverse"] for c in truth["counts"].values())
            check(f"{name}: truth counts > 0", total > 0, str(truth["counts"]))
            check(f"{name}: truth counts per config line",
                  sorted(truth["counts"]) == sorted(l["id"] for l in cfg["lines"]))
            crossings = len(truth.get("crossings", []))
            check(f"{name}: counts = crossings listed", crossings == total,
                  f"{crossings} != {total}")
            check_config(name, cfg)
        with open(os.path.join(d, "traffic.truth.json")) as f:
            traffic = json.load(f)
        check("traffic: quiet, no incident",
              traffic["quiet"] is True and traffic["incidents"] == [])
        with open(os.path.join(d, "blackout.truth.json")) as f:
            t = json.load(f)
        kinds = [i["kind"] for i in t["incidents"]]
        check("blackout: one camera.tamper.blackout", kinds == ["camera.tamper.blackout"],
              str(kinds))
        if kinds:
            i = t["incidents"][0]
            check("blackout: start < end within the clip", 0 < i["start"] < i["end"] <= SECONDS)
            # the picture is black then: mean luma of a frame in the middle
            mid = (i["start"] + i["end"]) / 2
            p = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{mid:.2f}", "-i",
                                os.path.join(d, "blackout.mp4"), "-frames:v", "1", "-f",
                                "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True)
            luma = sum(p.stdout) / max(len(p.stdout), 1)
            check("blackout: black in the middle of the incident", p.stdout and luma < 20,
                  f"mean luma {luma:.1f}")

        # determinism
        again = os.path.join(d, "again")
        gen(again, "traffic", video=False)
        same = all(open(os.path.join(d, "traffic" + ext)).read()
                   == open(os.path.join(again, "traffic" + ext)).read()
                   for ext in (".truth.json", ".config.json"))
        check("same seed, same truth and config", same)
        other = os.path.join(d, "other")
        gen(other, "traffic", seed=2, video=False)
        with open(os.path.join(other, "traffic.truth.json")) as f:
            t2 = json.load(f)
        check("another seed, other traffic", t2.get("crossings") != traffic.get("crossings"))
    print(f"generator: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
