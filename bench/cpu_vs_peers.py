#!/usr/bin/python3
"""Runs `rebasin bench sinkhorn|lap` and the peers' anchors (../shared/bench/anchors.py: the
paper's PyTorch loop, POT, the dense implicit solve, scipy) in ONE run on one machine, size by
size, and prints a Markdown table of seconds and ratios (peer time / our time: > 1 means we are
faster). Raw JSON lines go to --raw FILE.

Usage: /usr/bin/python3 bench/cpu_vs_peers.py [--rebasin PATH] [--raw FILE] [N ...]
Needs python3-torch, python3-scipy, python3-pot (scripts/setup.sh --bench)."""
import argparse, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ANCHORS = os.path.join(HERE, "..", "..", "shared", "bench", "anchors.py")


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def scipy_near_permutation(n):
    """scipy on the re-basin-like cost `rebasin bench lap` also times: a hidden permutation's
    matrix, negated, plus N(0, 0.1^2) noise (best of 3 after a warm-up, like anchors.py)."""
    import time
    import numpy as np, scipy.optimize
    rng = np.random.default_rng(1)
    C = -np.eye(n)[rng.permutation(n)] + 0.1 * rng.standard_normal((n, n))
    scipy.optimize.linear_sum_assignment(C)
    best = 1e300
    for _ in range(3):
        t = time.perf_counter(); scipy.optimize.linear_sum_assignment(C)
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="*", type=int, default=[256, 512, 1024, 2048, 4096])
    ap.add_argument("--rebasin", default=os.path.join(HERE, "..", "build", "release", "app", "rebasin"))
    ap.add_argument("--anchors", default=ANCHORS)
    ap.add_argument("--raw", default=None)
    args = ap.parse_args()

    rows = []
    bw = None
    for n in args.sizes:
        peer = run_json(["/usr/bin/python3", args.anchors, str(n)])
        bw = bw or peer[0]["read_bw_gbs"]
        peer = peer[-1]
        sk = run_json([args.rebasin, "bench", "sinkhorn", "--n", str(n), "--json"] +
                      ([] if n <= 2048 else ["--no-unrolled"]))[0]
        lap = run_json([args.rebasin, "bench", "lap", "--n", str(n), "--json"])[0]
        peer["scipy_near_lap_s"] = scipy_near_permutation(n)
        rows.append({"n": n, "peer": peer, "sinkhorn": sk, "lap": lap})
        print(f"n={n} done", file=sys.stderr, flush=True)
    if args.raw:
        with open(args.raw, "w") as f:
            f.write(json.dumps({"read_bw_gbs": bw, "rows": rows}) + "\n")

    def r(a, b):
        return f"{a / b:.1f}x" if a and b else "-"

    def ms(s):
        return f"{s * 1e3:.1f}" if s is not None else "-"

    print(f"Memory read bandwidth (anchors.py, numpy): {bw:.1f} GB/s\n")
    print("### Sinkhorn forward, 20 iterations, float32 (ms)\n")
    print("| n | ours | one read/iter | ours / read limit | PyTorch loop | ratio | POT sinkhorn_log | ratio | POT sinkhorn | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        n, p, s = row["n"], row["peer"], row["sinkhorn"]
        limit = 20 * n * n * 4 / (bw * 1e9)
        print(f"| {n} | {ms(s['forward_s'])} | {ms(limit)} | {s['forward_s'] / limit:.2f} | "
              f"{ms(p['torch_loop_fwd_s'])} | {r(p['torch_loop_fwd_s'], s['forward_s'])} | "
              f"{ms(p['pot_log_s'])} | {r(p['pot_log_s'], s['forward_s'])} | "
              f"{ms(p['pot_s'])} | {r(p['pot_s'], s['forward_s'])} |")
    print("\n### Sinkhorn backward (ms)\n")
    print("| n | ours implicit (CG iters) | dense implicit solve | ratio | unrolled autograd (ours, LibTorch) |")
    print("|---|---|---|---|---|")
    for row in rows:
        n, p, s = row["n"], row["peer"], row["sinkhorn"]
        dense = p.get("dense_implicit_bwd_s")
        print(f"| {n} | {ms(s['implicit_backward_s'])} ({s['cg_iterations']}) | {ms(dense)} | "
              f"{r(dense, s['implicit_backward_s'])} | {ms(s.get('unrolled_backward_s'))} |")
    print("\n### Exact linear assignment (ms)\n")
    print("| n | ours, standard normal | scipy linear_sum_assignment | ratio | ours, near-permutation | scipy, near-permutation | ratio |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        n, p, l = row["n"], row["peer"], row["lap"]
        print(f"| {n} | {ms(l['seconds'])} | {ms(p['scipy_lap_s'])} | {r(p['scipy_lap_s'], l['seconds'])} | "
              f"{ms(l['near_permutation_seconds'])} | {ms(p['scipy_near_lap_s'])} | "
              f"{r(p['scipy_near_lap_s'], l['near_permutation_seconds'])} |")


if __name__ == "__main__":
    main()
