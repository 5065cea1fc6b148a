#!/usr/bin/env python3
"""scenes/scorer: checks score.py itself, without the analytics.

A handful of truths (a quiet scene, a stop, a light change, a re-aim) are
turned into the events a perfect analyser would print; the scorer must pass
them, then fail each of: one incident dropped, a false incident on the
quiet scene, counts 10% off, a tamper event on the light change, an
incident outside the tolerance. Also the --dir mode and the rules for
small counts and re-aimed cameras. Python 3 standard library only.
"""

import copy
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCORE = os.path.join(HERE, "score.py")

TRUTHS = {
    "traffic": {"scenario": "traffic", "seed": 1, "fps": 10, "width": 640, "height": 360,
                "seconds": 75, "quiet": True,
                "counts": {"L1": {"forward": 40, "reverse": 30},
                           "L2": {"forward": 40, "reverse": 30}},
                "incidents": []},
    "stop": {"scenario": "stop", "seed": 1, "fps": 10, "width": 640, "height": 360,
             "seconds": 75, "quiet": False,
             "counts": {"L1": {"forward": 25, "reverse": 22}},
             "incidents": [{"kind": "traffic.stopped_vehicle", "start": 15.0, "end": 45.0}]},
    "jam": {"scenario": "jam", "seed": 1, "fps": 10, "width": 640, "height": 360,
            "seconds": 90, "quiet": False,
            "counts": {"L1": {"forward": 30, "reverse": 35}},
            "incidents": [{"kind": "traffic.congestion", "start": 38.0, "end": 80.0}]},
    "light": {"scenario": "light", "seed": 1, "fps": 10, "width": 640, "height": 360,
              "seconds": 75, "quiet": True, "no_tamper": True,
              "counts": {"L1": {"forward": 12, "reverse": 9}},
              "incidents": []},
    "reaim": {"scenario": "reaim", "seed": 1, "fps": 10, "width": 640, "height": 360,
              "seconds": 75, "quiet": False, "rules_valid_until": 30.0,
              "incidents": [{"kind": "camera.tamper.scene_change", "start": 30.0}]},
}

failures = []


def truth_to_events(truth, count_interval=60.0):
    """What a perfect analyser would print: counts split into intervals
    (the last one partial), each incident's start (or instant) and end."""
    events = []
    seconds = float(truth["seconds"])
    for line, c in sorted(truth.get("counts", {}).items()):
        t, left = 0.0, dict(c)
        n_int = int(seconds // count_interval) + 1
        for i in range(n_int):
            end = min(seconds, t + count_interval)
            share = {d: (left[d] if i == n_int - 1 else left[d] // 2) for d in left}
            for d in left:
                left[d] -= share[d]
            events.append({"kind": "traffic.count", "phase": "instant", "incident": 0, "t": end,
                           "start": end, "attributes": {"line": line, "interval_s": end - t,
                                                        "forward": share["forward"],
                                                        "reverse": share["reverse"]}})
            t = end
    for n, inc in enumerate(truth["incidents"], 1):
        lasting = "end" in inc
        # reported some seconds after the onset, with the onset as start
        events.append({"kind": inc["kind"], "phase": "start" if lasting else "instant",
                       "incident": n if lasting else 0, "t": inc["start"] + 3.0,
                       "start": inc["start"] + 1.0, "attributes": {}})
        if lasting:
            events.append({"kind": inc["kind"], "phase": "update", "incident": n,
                           "t": inc["start"] + 8.0, "start": inc["start"] + 1.0,
                           "attributes": {}})
            events.append({"kind": inc["kind"], "phase": "end", "incident": n,
                           "t": inc["end"] + 2.0, "start": inc["start"] + 1.0,
                           "attributes": {}})
    return sorted(events, key=lambda e: e["t"])


def write(path, truth, events):
    with open(path + ".truth.json", "w") as f:
        json.dump(truth, f)
    with open(path + ".events.jsonl", "w") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")


def score(*args):
    p = subprocess.run([sys.executable, SCORE, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def check(name, truth, events, want_rc, want_text=None, extra=()):
    with tempfile.TemporaryDirectory() as d:
        base = os.path.join(d, truth["scenario"])
        write(base, truth, events)
        rc, out = score("--truth", base + ".truth.json", "--events", base + ".events.jsonl",
                        *extra)
    ok = rc == want_rc and (want_text is None or want_text in out)
    print(f"{'ok' if ok else 'FAIL'} {name} (exit {rc})")
    if not ok:
        failures.append(name)
        print(out)


def main():
    for name, truth in TRUTHS.items():
        check(f"{name}: perfect events pass", truth, truth_to_events(truth), 0)

    stop = TRUTHS["stop"]
    check("dropped incident: recall below target", stop,
          [e for e in truth_to_events(stop) if not e["kind"].startswith("traffic.stopped")], 1,
          "recall 0.00")
    late = truth_to_events(stop)
    for e in late:
        if e["kind"] == "traffic.stopped_vehicle":
            e["start"] = 15.0 + 5.5
    check("incident 5.5 s off: not matched", stop, late, 1, "false positive")
    check("incident 5.5 s off: matched with --tolerance 6", stop, late, 0, None,
          ("--tolerance", "6"))
    dup = truth_to_events(stop) + [{"kind": "traffic.stopped_vehicle", "phase": "start",
                                    "incident": 9, "t": 60.0, "start": 50.0, "attributes": {}}]
    check("a second, false stop: precision below target", stop, dup, 1, "precision 0.50")

    jam = TRUTHS["jam"]
    ev = truth_to_events(jam)
    for e in ev:
        if e["kind"] == "traffic.congestion":
            e["start"] = 38.0 + 14.0
    check("congestion 14 s off: within its 15 s tolerance", jam, ev, 0)

    quiet = TRUTHS["traffic"]
    check("false incident on a quiet scene", quiet,
          truth_to_events(quiet) + [{"kind": "traffic.wrong_way", "phase": "instant",
                                     "incident": 0, "t": 20.0, "start": 20.0,
                                     "attributes": {}}], 1, "quiet scene")
    ev = truth_to_events(quiet)
    for e in ev:
        if e["kind"] == "traffic.count" and e["attributes"]["line"] == "L1":
            e["attributes"]["forward"] = round(e["attributes"]["forward"] * 1.1)
    check("counts 10% high", quiet, ev, 1, "count L1 forward")
    ev = truth_to_events(quiet)
    for e in ev:
        if e["kind"] == "traffic.count" and e["attributes"]["line"] == "L2":
            e["attributes"]["reverse"] = int(e["attributes"]["reverse"] * 0.9)
    check("counts 10% low", quiet, ev, 1, "count L2 reverse")
    ev = truth_to_events(quiet)
    for e in ev:
        if e["kind"] == "traffic.count" and e["attributes"]["line"] == "L1" \
                and e["attributes"]["forward"] > 0:
            e["attributes"]["forward"] -= 1
            break
    check("one vehicle missed of 40 (2.5%): passes", quiet, ev, 0)

    light = TRUTHS["light"]
    ev = truth_to_events(light)
    for e in ev:
        if e["kind"] == "traffic.count":
            e["attributes"]["forward"] -= 1 if e["attributes"]["forward"] > 0 else 0
            break
    check("small count (12), one vehicle off: passes", light, ev, 0)
    ev[0]["attributes"]["reverse"] += 2
    check("small count (9), two vehicles off: fails", light, ev, 1, "count L1 reverse")
    ev = truth_to_events(light) + [{"kind": "camera.tamper.defocus", "phase": "start",
                                    "incident": 4, "t": 50.0, "start": 47.0, "attributes": {}}]
    check("tamper on the light change", light, ev, 1, "light change")

    reaim = TRUTHS["reaim"]
    ev = truth_to_events(reaim) + [
        {"kind": "traffic.wrong_way", "phase": "instant", "incident": 0, "t": 41.0,
         "start": 41.0, "attributes": {}},
        {"kind": "traffic.count", "phase": "instant", "incident": 0, "t": 60.0, "start": 60.0,
         "attributes": {"line": "L1", "interval_s": 60, "forward": 99, "reverse": 0}}]
    check("traffic after a re-aim is not scored", reaim, ev, 0)
    ev = [e for e in truth_to_events(reaim) if e["kind"] != "camera.tamper.scene_change"]
    check("re-aim not reported", reaim, ev, 1, "recall")

    check("not JSON lines are a failure", quiet,
          truth_to_events(quiet) + ["not an event"], 1, "not JSON")

    # --dir: every scene, totals over the set; --json parses
    with tempfile.TemporaryDirectory() as d:
        for name, truth in TRUTHS.items():
            write(os.path.join(d, name), truth, truth_to_events(truth))
        os.mkdir(os.path.join(d, "seed2"))
        write(os.path.join(d, "seed2", "stop"), stop, truth_to_events(stop))
        # a truth without events is skipped, not failed
        with open(os.path.join(d, "lonely.truth.json"), "w") as f:
            json.dump(quiet, f)
        rc, out = score("--dir", d)
        ok = rc == 0 and "traffic.stopped_vehicle" in out and "skipped lonely" in out
        rc2, out2 = score("--dir", d, "--json")
        try:
            res = json.loads(out2)
            ok = ok and rc2 == 0 and res["pass"] and res["total"]["traffic.stopped_vehicle"][
                "truth"] == 2
        except (ValueError, KeyError):
            ok = False
        write(os.path.join(d, "seed2", "stop"), stop,
              [e for e in truth_to_events(stop) if not e["kind"].startswith("traffic.stopped")])
        rc3, out3 = score("--dir", d)
        ok = ok and rc3 == 1 and "recall 0.50" in out3
        print(f"{'ok' if ok else 'FAIL'} --dir totals over the set (exit {rc}, {rc2}, {rc3})")
        if not ok:
            failures.append("--dir")
            print(out, out2, out3)

    # truths scenegen wrote (when the test runs under meson, SCENEGEN names it)
    scenegen = os.environ.get("SCENEGEN")
    if scenegen:
        with tempfile.TemporaryDirectory() as d:
            for name in ("stop", "jam", "wrong_way"):
                subprocess.run([scenegen, "--scenario", name, "--out", d, "--no-video",
                                "--size", "320x180"], check=True, capture_output=True)
                with open(os.path.join(d, name + ".truth.json")) as f:
                    truth = json.load(f)
                with open(os.path.join(d, name + ".events.jsonl"), "w") as f:
                    for e in truth_to_events(truth):
                        f.write(json.dumps(e) + "\n")
            rc, out = score("--dir", d)
            ok = rc == 0 and "traffic.congestion" in out and "traffic.wrong_way" in out
            print(f"{'ok' if ok else 'FAIL'} scenegen's truths, perfect events (exit {rc})")
            if not ok:
                failures.append("scenegen truths")
                print(out)

    rc, out = score("--truth", "/nonexistent.truth.json", "--events", "/dev/null")
    ok = rc == 2
    print(f"{'ok' if ok else 'FAIL'} missing truth: exit 2 (exit {rc})")
    if not ok:
        failures.append("missing truth")

    print(f"scorer: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
