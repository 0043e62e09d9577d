#!/usr/bin/python3
"""Continual learning by re-basin against its baselines (METHOD.md section 9) with the project's
own CLI: runs `rebasin continual` for every stream, method and seed asked for, keeps each run's
JSON in --work DIR (a run whose file exists is not redone, so an interrupted grid resumes), and
prints docs/results.md's continual-learning tables (Markdown) on stdout.

Usage: /usr/bin/python3 bench/continual.py [--rebasin PATH] [--work DIR] [--seeds 0,1,2]
         [--methods rebasin-il,finetune,...] [--streams rotated,split] [--table-only]
Runs are sequential and single-threaded (the CLI's default); start it with `nice -n 10`."""
import argparse, json, math, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = ["rebasin-il", "replay", "ewc", "finetune", "joint"]
# (label, CLI arguments): the rotated stream of the paper, then the split streams.
STREAMS = {
    "rotated": [("Rotated MNIST, 20 tasks", ["--stream", "rotated-mnist", "--tasks", "20"])],
    "split": [("Split MNIST, task-incremental", ["--stream", "split-mnist"]),
              ("Split MNIST, class-incremental", ["--stream", "split-mnist", "--class-incremental"]),
              ("Split Fashion-MNIST, task-incremental", ["--stream", "split-fashion"]),
              ("Split Fashion-MNIST, class-incremental", ["--stream", "split-fashion", "--class-incremental"])],
}


def file_name(label, method, seed):
    key = label.lower().replace(",", "").replace(" ", "_")
    return f"{key}__{method}__s{seed}.json"


def run(rebasin, work, label, args, method, seed):
    path = os.path.join(work, file_name(label, method, seed))
    if os.path.exists(path):
        return
    cmd = [rebasin, "continual", *args, "--method", method, "--seed", str(seed), "--json"]
    print("running:", " ".join(cmd[1:]), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    json.loads(out)  # a run that printed no JSON must not be kept
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(out)
    os.replace(tmp, path)


def load(work, label, method, seeds):
    runs = []
    for s in seeds:
        path = os.path.join(work, file_name(label, method, s))
        if os.path.exists(path):
            with open(path) as f:
                runs.append(json.load(f))
    return runs


def mean_spread(values, scale=100.0, digits=2):
    if not values:
        return "-"
    m = sum(values) / len(values)
    if len(values) == 1:
        return f"{scale * m:.{digits}f}"
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    return f"{scale * m:.{digits}f} ± {scale * sd:.{digits}f}"


def table(work, label, seeds, methods):
    rows = [f"### {label}", "",
            "| method | average accuracy (%) | forgetting (%) | backward transfer (%) | seconds | seeds |",
            "|---|---|---|---|---|---|"]
    for m in methods:
        runs = load(work, label, m, seeds)
        if not runs:
            continue
        name = m + (" (alpha 0.8)" if m == "rebasin-il" else "")
        rows.append(f"| {name} | {mean_spread([r['average_accuracy'] for r in runs])} | "
                    f"{mean_spread([r['forgetting'] for r in runs])} | "
                    f"{mean_spread([r['backward_transfer'] for r in runs])} | "
                    f"{mean_spread([r['seconds'] for r in runs], 1.0, 0)} | {len(runs)} |")
        if m == "rebasin-il":
            # The same runs' models at the training mix (0.5), measured alongside.
            mix = [r["train_mix_average_accuracy"] for r in runs if "train_mix_average_accuracy" in r]
            rows.append(f"| rebasin-il, same runs at mix 0.5 | {mean_spread(mix)} | | | | {len(mix)} |")
    return "\n".join(rows) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rebasin", default=os.path.join(HERE, "..", "build", "dev", "app", "rebasin"))
    p.add_argument("--work", default="/tmp/rebasin-continual")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--streams", default="rotated,split")
    p.add_argument("--table-only", action="store_true", help="print the tables from --work, run nothing")
    a = p.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    methods = a.methods.split(",")
    streams = [s for key in a.streams.split(",") for s in STREAMS[key]]
    os.makedirs(a.work, exist_ok=True)
    if not a.table_only:
        # Seed-major: every method gets its first seed before any gets a third.
        for seed in seeds:
            for label, args in streams:
                for m in methods:
                    run(a.rebasin, a.work, label, args, m, seed)
    for label, _ in streams:
        print(table(a.work, label, seeds, methods))


if __name__ == "__main__":
    main()
