#!/usr/bin/python3
"""Merging experiments for docs/results.md ("Merging") with the project's own CLI: MNIST MLPs
trained by `rebasin train` from seeds 1..N, the aligned pair's midpoint with and without REPAIR,
and merges of 2, 4 and 8 models (star against the Frank-Wolfe and the Sinkhorn universe, with and
without REPAIR) beside the naive average, the ensemble and the best single model. Prints Markdown
tables on stdout; raw JSON lines go to --raw FILE. With --plot, the first frame's merge of the
most models also measures every pair's barrier (--barriers) and rebasin-plot draws it into
--images.

Usage: /usr/bin/python3 bench/merge_results.py [--rebasin PATH] [--work DIR] [--raw FILE]
           [--arch mlp:784,512,512,10] [--epochs 5] [--counts 2,4,8] [--skip-pair]
           [--frames first,universe,universe-sinkhorn] [--repair 0,1] [--universe-steps 100]
           [--plot build/dev/app/plot/rebasin-plot] [--images docs/images]"""
import argparse, json, os, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import cli  # noqa: E402  (runs the CLI, keeps the raw JSON line)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rebasin", default="build/dev/app/rebasin")
    p.add_argument("--work", default="/tmp/rebasin-merge")
    p.add_argument("--raw", default="/tmp/rebasin-merge/raw.jsonl")
    p.add_argument("--arch", default="mlp:784,512,512,10")
    p.add_argument("--data", default="mnist")
    p.add_argument("--epochs", default="5")
    p.add_argument("--counts", default="2,4,8")
    p.add_argument("--frames", default="first,universe,universe-sinkhorn")
    p.add_argument("--repair", default="0,1", help="REPAIR off (0) and/or on (1)")
    p.add_argument("--universe-steps", default="100")
    p.add_argument("--skip-pair", action="store_true", help="only the merges table")
    p.add_argument("--plot", help="rebasin-plot: draw the pairwise barriers of the largest merge")
    p.add_argument("--images", default="docs/images")
    a = p.parse_args()
    tag = f"{a.data}-{a.arch.replace(':', '_').replace(',', '-')}"
    os.makedirs(a.work, exist_ok=True)
    counts = [int(c) for c in a.counts.split(",")]
    R = a.rebasin
    with open(a.raw, "a") as raw:
        models = []
        for seed in range(1, max(counts) + 1):
            f = os.path.join(a.work, f"{tag}-{seed}.safetensors")
            if not os.path.exists(f):
                cli([R, "train", "--arch", a.arch, "--data", a.data, "--epochs", a.epochs, "--seed", str(seed),
                     "--out", f, "--json"], raw)
            models.append(f)

        if not a.skip_pair:
            aligned_pair(a, R, models, raw)
        merges(a, R, models, counts, raw, tag)


def aligned_pair(a, R, models, raw):
    print(f"### The aligned pair (seeds 1 and 2, weight matching), 25 points\n")
    print("| curve | barrier (test loss) | midpoint accuracy | endpoints' mean accuracy |")
    print("|---|---|---|---|")
    perm = os.path.join(a.work, "perm-1-2.json")
    cli([R, "align", models[0], models[1], "--method", "weight", "--perm-out", perm, "--json"], raw)
    for name, flags in [("naive", []), ("naive + REPAIR", ["--repair"]), ("aligned", ["--perm", perm]),
                        ("aligned + REPAIR", ["--perm", perm, "--repair"])]:
        c = cli([R, "interpolate", models[0], models[1], "--data", a.data, "--json"] + flags, raw)
        acc = c["accuracy"]
        print(f"| {name} | {c['barrier']:.4f} | {100 * acc[len(acc) // 2]:.2f}% | "
              f"{50 * (acc[0] + acc[-1]):.2f}% |", flush=True)


def merges(a, R, models, counts, raw, tag):
    print("\n### Merges (weight matching; test accuracy)\n")
    print("| models | frame | REPAIR | merged | naive average | ensemble | best single | endpoints' mean "
          "| cycle error of pairwise alignments | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in counts:
        for to in a.frames.split(","):
            for repair in [r == "1" for r in a.repair.split(",")]:
                out = os.path.join(a.work, f"merged-{n}-{to}-{int(repair)}.safetensors")
                args = [R, "merge"] + models[:n] + ["--method", "weight", "--to", to, "--data", a.data,
                                                    "--universe-steps", a.universe_steps, "--out", out, "--json"]
                if repair:
                    args.append("--repair")
                figure = a.plot and n == max(counts) and to == a.frames.split(",")[0] and not repair
                if figure:
                    args.append("--barriers")
                d = cli(args, raw)
                if figure:
                    path = os.path.join(a.work, f"merge-{n}.json")
                    with open(path, "w") as f:
                        json.dump(d, f)
                    image = os.path.join(a.images, f"merge-{tag}-{n}.png")
                    subprocess.run([a.plot, "merge", image, path, "--size", "1500x600"], check=True)
                    print(f"<!-- figure: {image} -->", flush=True)
                ce = d["cycle_error"]["pairwise"]
                print(f"| {n} | {to} | {'yes' if repair else 'no'} | {100 * d['merged']['accuracy']:.2f}% | "
                      f"{100 * d['naive_average']['accuracy']:.2f}% | {100 * d['ensemble']['accuracy']:.2f}% | "
                      f"{100 * d['best_single']['accuracy']:.2f}% | {100 * d['average_of_endpoints']['accuracy']:.2f}% | "
                      f"{'-' if ce is None else f'{100 * ce:.1f}%'} | {d['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
