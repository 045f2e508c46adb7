#!/usr/bin/env python3
"""Lookup-table replay of chop's samplers against Optuna 3.1 (python3-optuna), over many seeds.

  python3 bench/sampler_table.py [--chop build/chop] [--table bench/tables/jsc_s_widths.csv]
      [--directions maximize,minimize] [--seeds 50] [--trials 100] [--samplers tpe,random,...]

Two objectives: mean hypervolume ratio (front so far / the table's true front, reference point
from chop's JSON) after 10 (the random startup), 20, 50 and 100 trials, ± its standard error. One objective (--objective-column accuracy):
mean regret. chop runs with and without dedup (distinct proposals); Optuna as it is.
Prints a Markdown table. Bench tooling only: the product and its tests need no Python.
"""
import argparse, csv, json, math, os, statistics, subprocess, sys, tempfile, time

CHECKPOINTS = (10, 20, 50, 100)  # 10: the end of the random startup trials


def hv2(points, ref):
    """Hypervolume of 2-D losses bounded by ref (minimization)."""
    pts = sorted(p for p in points if p[0] < ref[0] and p[1] < ref[1])
    hv, best_y = 0.0, ref[1]
    for x, y in pts:
        if y < best_y:
            hv += (ref[0] - x) * (best_y - y)
            best_y = y
    return hv


def read_table(path, n_obj):
    rows = list(csv.reader(open(path)))
    header, body = rows[0], [r for r in rows[1:] if r]
    n_par = len(header) - n_obj
    choices = []
    for c in range(n_par):
        vals = []
        for r in body:
            if r[c] not in vals:
                vals.append(r[c])
        try:
            vals.sort(key=float)
        except ValueError:
            pass
        choices.append(vals)
    table = {tuple(r[:n_par]): [float(v) for v in r[n_par:]] for r in body}
    return header[:n_par], choices, table


def chop_run(chop, table, directions, sampler, seed, trials, dedup, options=None):
    cmd = [chop, "bench", "sampler", "--table", table, "--objectives", str(len(directions)),
           "--directions", ",".join(directions), "--sampler", sampler, "--seed", str(seed),
           "--trials", str(trials), "--dedup", "true" if dedup else "false"]
    if options:
        cmd += ["--sampler-options", options]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def optuna_run(names, choices, table, directions, seed, trials):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=directions, sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(lambda t: table[tuple(t.suggest_categorical(n, ch) for n, ch in zip(names, choices))],
                   n_trials=trials)
    return [t.values for t in study.trials]


def curve_of(values, directions, ref):
    signs = [-1 if d == "maximize" else 1 for d in directions]
    out, seen = [], []
    for v in values:
        seen.append([s * x for s, x in zip(signs, v)])
        out.append(hv2(seen, ref) if len(directions) == 2 else min(p[0] for p in seen) * signs[0])
    return out


def at(curve, k):
    return curve[min(k, len(curve)) - 1]  # an exhausted search keeps its last value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chop", default="build/chop")
    ap.add_argument("--table", default="bench/tables/jsc_s_widths.csv")
    ap.add_argument("--directions", default="maximize,minimize")
    ap.add_argument("--objective-column", help="one objective: replay only this column")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--samplers", default="tpe")
    ap.add_argument("--no-optuna", action="store_true")
    ap.add_argument("--sampler-options", help="JSON passed to chop's --sampler-options")
    ap.add_argument("--optuna-cache", help="JSON file keeping Optuna's curves between runs (they take minutes)")
    a = ap.parse_args()
    directions = a.directions.split(",")
    table_path = a.table
    n_obj = len(directions)
    if a.objective_column:
        rows = list(csv.reader(open(a.table)))
        col = rows[0].index(a.objective_column)
        n_par = len(rows[0]) - 2
        fd, table_path = tempfile.mkstemp(suffix=".csv")
        with os.fdopen(fd, "w") as f:
            for r in rows:
                if r:
                    f.write(",".join(r[:n_par] + [r[col]]) + "\n")
        directions = directions[:1]
        n_obj = 1
    names, choices, table = read_table(table_path, n_obj)
    results = {}
    ref = truth = optimum = None
    for sampler in a.samplers.split(","):
        for dedup in (True, False):
            curves, secs = [], 0.0
            for seed in range(a.seeds):
                j = chop_run(a.chop, table_path, directions, sampler, seed, a.trials, dedup, a.sampler_options)
                ref, truth, optimum = j.get("reference"), j.get("true_front_hypervolume"), j.get("optimum")
                curves.append(j["best"])
                secs += j["total_seconds"]
            results[f"chop {sampler}" + (" (dedup: distinct proposals)" if dedup else " (dedup = false)")] = (curves, secs)
    if not a.no_optuna:
        import optuna
        key = json.dumps([os.path.abspath(a.table), a.objective_column, directions, a.seeds, a.trials])
        cache = json.load(open(a.optuna_cache)) if a.optuna_cache and os.path.exists(a.optuna_cache) else {}
        if key not in cache:
            curves, secs = [], 0.0
            for seed in range(a.seeds):
                t0 = time.time()
                values = optuna_run(names, choices, table, directions, seed, a.trials)
                secs += time.time() - t0
                curves.append(curve_of(values, directions, ref))
            cache[key] = [curves, secs]
            if a.optuna_cache:
                json.dump(cache, open(a.optuna_cache, "w"))
        results[f"Optuna {optuna.__version__} TPESampler"] = tuple(cache[key])
    metric = "hypervolume ratio" if n_obj == 2 else "regret"
    print(f"| {a.seeds} seeds, {metric} after | " + " | ".join(str(k) for k in CHECKPOINTS) + " | seconds |")
    print("|---|" + "---|" * (len(CHECKPOINTS) + 1))
    for name, (curves, secs) in results.items():
        cells = []
        for k in CHECKPOINTS:
            if n_obj == 2:
                vals = [at(c, k) / truth for c in curves]
            else:
                vals = [abs(optimum - at(c, k)) for c in curves]
            sem = statistics.stdev(vals) / math.sqrt(len(vals)) if len(vals) > 1 else 0.0
            cells.append(f"{statistics.mean(vals):.4f} ± {sem:.4f}")
        print(f"| {name} | " + " | ".join(cells) + f" | {secs:.1f} |")


if __name__ == "__main__":
    main()
