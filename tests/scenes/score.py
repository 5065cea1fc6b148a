#!/usr/bin/env python3
"""Scores the analytics' events on a synthetic scene against its truth.

    score.py --truth NAME.truth.json --events NAME.events.jsonl [--tolerance S] [--json]
    score.py --dir DIR [--tolerance S] [--json]
    (either with --only PREFIX: only kinds starting with PREFIX, no counts)

--dir scores every NAME.truth.json under DIR (recursively) that has a
NAME.events.jsonl beside it, per scene and in total.

Events are cw-analyze's lines: {"kind", "phase", "incident", "t", "start",
"attributes"}. Rules (README.md):

- counts: the "forward"/"reverse" of every traffic.count event, summed per
  line, against the truth's counts. Error = |detected - truth| / max(truth, 1).
  A line and direction passes when the error is under 5% or the difference
  is at most one vehicle (so below 20 vehicles one miss is allowed and
  none of the 5% arithmetic applies).
- incidents: each detection (phase "start" or "instant"; traffic.count
  aside) matches the unmatched truth incident of the same kind whose start
  is nearest its own "start", within the tolerance (5 s, or --tolerance;
  three times that for traffic.congestion). Unmatched detections are false positives.
  recall = matched / truth, precision = matched / detections, per kind,
  per scene and in total.
- targets: recall >= 0.95 and precision >= 0.9 for every kind present in
  the truth (over the whole set with --dir); no incident at all on a quiet
  scene; no camera.tamper.* event on a scene marked no_tamper (the light
  change) or named "light".
- after "rules_valid_until" (a re-aimed camera) traffic.* detections are
  not scored, and a truth without "counts" has its counts not scored.

Exit status: 0 targets met, 1 not met, 2 bad input or usage.
Python 3 standard library only.
"""

import argparse
import json
import os
import sys

COUNT_REL = 0.05
COUNT_ABS = 1
RECALL_MIN = 0.95
PRECISION_MIN = 0.9
DEFAULT_TOLERANCE = 5.0
TOLERANCE_FACTOR = {"traffic.congestion": 3.0}


class InputError(Exception):
    pass


def load_truth(path):
    try:
        with open(path, encoding="utf-8") as f:
            truth = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: {e}")
    if not isinstance(truth, dict) or not isinstance(truth.get("incidents", []), list):
        raise InputError(f"{path}: not a scene truth")
    return truth


def load_events(path):
    events, bad = [], 0
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    ev = json.loads(line)
                except ValueError:
                    bad += 1
                    continue
                if not isinstance(ev, dict) or "kind" not in ev:
                    bad += 1
                    continue
                events.append(ev)
    except OSError as e:
        raise InputError(f"{path}: {e}")
    return events, bad


def num(x, default=0.0):
    try:
        return float(x)
    except (TypeError, ValueError):
        return default


def count_ok(truth_n, detected_n):
    diff = abs(detected_n - truth_n)
    return diff <= COUNT_ABS or diff / max(truth_n, 1) < COUNT_REL


def tolerance_for(kind, base):
    """The base tolerance (default 5 s), three times it for congestion (a
    level is judged over a window, so its onset is fuzzier)."""
    base = DEFAULT_TOLERANCE if base is None else base
    return base * TOLERANCE_FACTOR.get(kind, 1.0)


def match(truth_incidents, detections, tolerance):
    """Greedy in detection order: each detection takes the nearest unmatched
    truth incident of its kind within the tolerance. Returns per kind
    {truth, detected, matched} and the list of false positives."""
    kinds = {}
    for inc in truth_incidents:
        kinds.setdefault(inc["kind"], {"truth": 0, "detected": 0, "matched": 0})["truth"] += 1
    used = [False] * len(truth_incidents)
    false_pos = []
    for det in sorted(detections, key=lambda d: num(d.get("start", d.get("t")))):
        kind = det["kind"]
        k = kinds.setdefault(kind, {"truth": 0, "detected": 0, "matched": 0})
        k["detected"] += 1
        start = num(det.get("start", det.get("t")))
        tol = tolerance_for(kind, tolerance)
        best, best_d = None, None
        for i, inc in enumerate(truth_incidents):
            if used[i] or inc["kind"] != kind:
                continue
            d = abs(num(inc.get("start")) - start)
            if d <= tol and (best_d is None or d < best_d):
                best, best_d = i, d
        if best is None:
            false_pos.append(det)
        else:
            used[best] = True
            k["matched"] += 1
    missed = [inc for i, inc in enumerate(truth_incidents) if not used[i]]
    return kinds, false_pos, missed


def score_scene(name, truth, events, tolerance, only=None):
    """One scene: counts, incidents, and the scene rules. only: a kind
    prefix; then only those kinds are scored, and counts not at all."""
    valid_until = truth.get("rules_valid_until")
    detections, counted = [], {}
    if only:
        events = [e for e in events if str(e.get("kind")).startswith(only)]
        truth = dict(truth, counts=None,
                     incidents=[i for i in truth.get("incidents", [])
                                if str(i.get("kind")).startswith(only)])
    for ev in events:
        kind = str(ev.get("kind"))
        t = num(ev.get("t"))
        if valid_until is not None and kind.startswith("traffic.") and t > num(valid_until):
            continue
        if kind == "traffic.count":
            a = ev.get("attributes") or {}
            line = str(a.get("line"))
            c = counted.setdefault(line, {"forward": 0, "reverse": 0})
            c["forward"] += int(num(a.get("forward")))
            c["reverse"] += int(num(a.get("reverse")))
            continue
        if ev.get("phase") in ("start", "instant"):
            detections.append(ev)

    counts = []
    truth_counts = truth.get("counts")
    if isinstance(truth_counts, dict):
        for line in sorted(truth_counts):
            for direction in ("forward", "reverse"):
                tn = int(truth_counts[line].get(direction, 0))
                dn = counted.get(line, {}).get(direction, 0)
                counts.append({"line": line, "direction": direction, "truth": tn,
                               "detected": dn, "error": abs(dn - tn) / max(tn, 1),
                               "ok": count_ok(tn, dn)})

    incidents = truth.get("incidents", [])
    kinds, false_pos, missed = match(incidents, detections, tolerance)
    failures = []
    for c in counts:
        if not c["ok"]:
            failures.append(f"count {c['line']} {c['direction']}: {c['detected']} "
                            f"for {c['truth']} ({100 * c['error']:.1f}%)")
    if truth.get("quiet") and detections:
        failures.append(f"quiet scene: {len(detections)} incident(s) reported: "
                        + ", ".join(sorted({d['kind'] for d in detections})))
    if truth.get("no_tamper") or truth.get("scenario") == "light":
        tamper = [e for e in events if str(e.get("kind")).startswith("camera.tamper.")]
        if tamper:
            failures.append(f"light change: {len(tamper)} tamper event(s): "
                            + ", ".join(sorted({str(e['kind']) for e in tamper})))
    return {"scene": name, "scenario": truth.get("scenario"), "quiet": bool(truth.get("quiet")),
            "counts": counts, "kinds": kinds,
            "false_positives": [{"kind": d["kind"], "start": num(d.get("start", d.get("t"))),
                                 "t": num(d.get("t"))} for d in false_pos],
            "missed": missed, "failures": failures}


def ratio(a, b):
    return a / b if b else None


def totals(scenes):
    kinds = {}
    for s in scenes:
        for kind, k in s["kinds"].items():
            tk = kinds.setdefault(kind, {"truth": 0, "detected": 0, "matched": 0})
            for f in ("truth", "detected", "matched"):
                tk[f] += k[f]
    for k in kinds.values():
        k["recall"] = ratio(k["matched"], k["truth"])
        k["precision"] = ratio(k["matched"], k["detected"])
    return kinds


def kind_failures(kinds):
    out = []
    for kind, k in sorted(kinds.items()):
        if k["truth"] == 0:
            continue  # targets apply to kinds present in the truth
        if k["recall"] is not None and k["recall"] < RECALL_MIN:
            out.append(f"{kind}: recall {k['recall']:.2f} < {RECALL_MIN}")
        precision = k["precision"] if k["precision"] is not None else 0.0
        if k["detected"] > 0 and precision < PRECISION_MIN:
            out.append(f"{kind}: precision {precision:.2f} < {PRECISION_MIN}")
    return out


def fmt(x):
    return "-" if x is None else f"{x:.2f}"


def print_report(scenes, kinds, failures, out):
    for s in scenes:
        print(f"== {s['scene']}" + (" (quiet)" if s["quiet"] else ""), file=out)
        for c in s["counts"]:
            print(f"   count {c['line']:<6} {c['direction']:<8} truth {c['truth']:>4}  "
                  f"detected {c['detected']:>4}  error {100 * c['error']:5.1f}%  "
                  f"{'ok' if c['ok'] else 'FAIL'}", file=out)
        for kind, k in sorted(s["kinds"].items()):
            print(f"   {kind:<28} truth {k['truth']:>2}  detected {k['detected']:>2}  "
                  f"matched {k['matched']:>2}", file=out)
        for fp in s["false_positives"]:
            print(f"   false positive: {fp['kind']} start {fp['start']:.1f} s", file=out)
        for m in s["missed"]:
            print(f"   missed: {m['kind']} start {num(m.get('start')):.1f} s", file=out)
        for f in s["failures"]:
            print(f"   FAIL {f}", file=out)
    print("== total", file=out)
    print(f"   {'kind':<28} {'truth':>5} {'detected':>8} {'matched':>7} {'recall':>6} "
          f"{'precision':>9}", file=out)
    for kind, k in sorted(kinds.items()):
        print(f"   {kind:<28} {k['truth']:>5} {k['detected']:>8} {k['matched']:>7} "
              f"{fmt(k['recall']):>6} {fmt(k['precision']):>9}", file=out)
    n_counts = sum(len(s["counts"]) for s in scenes)
    bad_counts = sum(1 for s in scenes for c in s["counts"] if not c["ok"])
    print(f"   counts: {n_counts - bad_counts}/{n_counts} line-directions within target",
          file=out)
    print(("PASS" if not failures else f"FAIL ({len(failures)})"), file=out)
    for f in failures:
        print(f"   {f}", file=out)


def find_scenes(root):
    pairs = []
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            if f.endswith(".truth.json"):
                base = f[: -len(".truth.json")]
                ev = os.path.join(dirpath, base + ".events.jsonl")
                name = os.path.relpath(os.path.join(dirpath, base), root)
                pairs.append((name, os.path.join(dirpath, f), ev if os.path.exists(ev) else None))
    return sorted(pairs)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--truth")
    ap.add_argument("--events")
    ap.add_argument("--dir")
    ap.add_argument("--tolerance", type=float, default=None,
                    help="seconds (default 5; traffic.congestion three times it)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    ap.add_argument("--only", metavar="PREFIX",
                    help="score only kinds starting with PREFIX (e.g. camera.tamper.), no counts")
    args = ap.parse_args(argv)
    if bool(args.dir) == bool(args.truth) or bool(args.truth) != bool(args.events):
        ap.error("give --truth and --events, or --dir")

    try:
        if args.dir:
            pairs = find_scenes(args.dir)
            skipped = [name for name, _, ev in pairs if ev is None]
            pairs = [p for p in pairs if p[2] is not None]
            if not pairs:
                raise InputError(f"{args.dir}: no NAME.truth.json with a NAME.events.jsonl")
        else:
            skipped = []
            name = os.path.basename(args.truth).replace(".truth.json", "")
            pairs = [(name, args.truth, args.events)]
        scenes, bad_lines = [], 0
        for name, tpath, epath in pairs:
            events, bad = load_events(epath)
            bad_lines += bad
            scenes.append(score_scene(name, load_truth(tpath), events, args.tolerance,
                                      args.only))
    except InputError as e:
        print(f"score.py: {e}", file=sys.stderr)
        return 2

    kinds = totals(scenes)
    failures = [f"{s['scene']}: {f}" for s in scenes for f in s["failures"]]
    failures += kind_failures(kinds)
    if bad_lines:
        failures.append(f"{bad_lines} event line(s) that are not JSON objects with a kind")
    if args.json:
        json.dump({"scenes": scenes, "total": kinds, "skipped": skipped,
                   "failures": failures, "pass": not failures}, sys.stdout, indent=1)
        print()
    else:
        print_report(scenes, kinds, failures, sys.stdout)
        for name in skipped:
            print(f"(skipped {name}: no events)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
