#!/usr/bin/python3
"""Re-runs the paper's experiments on what is installable here with the project's own CLI and
prints docs/results.md's tables (Markdown) on stdout; raw JSON lines go to --raw FILE.

  a. permutation recovery at default settings (METHOD.md section 8)
  b. linear mode connectivity of model pairs trained by `rebasin train` (MNIST, Fashion-MNIST
     MLPs and a small VGG on MNIST), every method
  c. the polynomial regression tasks

Figures (docs/images/results-*.png) are drawn by the project's own rebasin-plot.

Usage: /usr/bin/python3 bench/results.py [--rebasin PATH] [--plot PATH] [--work DIR] [--raw FILE]
                                         [--sections abc] [--quick]"""
import argparse, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = [("naive", []), ("weight", []), ("activation", []), ("ste", []),
           ("sinkhorn-l2", ["--cost", "l2"]), ("sinkhorn-mid", ["--cost", "mid"]),
           ("sinkhorn-rnd", ["--cost", "rnd"])]


def cli(args, raw):
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    d = json.loads(out)
    raw.write(json.dumps({"args": args[1:], "result": d}) + "\n")
    raw.flush()
    return d


def lmc_pair(a, raw, title, arch, data, epochs):
    """One pair: every method's barrier and midpoint accuracy, the curves figure, and (MLPs) the
    loss landscape through A, B and B aligned by sinkhorn-mid."""
    R = a.rebasin
    tag = f"{data}-{arch.replace(':', '_').replace(',', '-')}"
    files = []
    for seed in (1, 2):
        f = os.path.join(a.work, f"{tag}-{seed}.safetensors")
        if not os.path.exists(f):
            cli([R, "train", "--arch", arch, "--data", data, "--epochs", str(epochs), "--seed", str(seed), "--out", f, "--json"], raw)
        files.append(f)
    print(f"### {title}: `{arch}` on {data}, {epochs} epochs, seeds 1 and 2\n")
    print("| method | barrier (test loss) | midpoint accuracy | seconds |")
    print("|---|---|---|---|")
    curves = []
    for name, flags in METHODS:
        method = name.split("-")[0]
        perm = os.path.join(a.work, f"perm-{tag}-{name}.json")
        d = cli([R, "align", files[0], files[1], "--arch", arch, "--method", method, "--data", data,
                 "--perm-out", perm, "--json"] + flags, raw)
        c = cli([R, "interpolate", files[0], files[1], "--arch", arch, "--perm", perm, "--data", data,
                 "--points", "25", "--json"], raw)
        curve = os.path.join(a.work, f"curve-{tag}-{name}.json")
        with open(curve, "w") as f:
            json.dump(c, f)
        curves.append(f"{name}={curve}")
        mid = c["accuracy"][len(c["accuracy"]) // 2]
        print(f"| {name} | {d['barrier']['aligned']:.4f} | {100 * mid:.2f}% | {d['seconds']:.1f} |", flush=True)
    image = f"results-{tag}.png"
    subprocess.run([a.plot, "curves", os.path.join(a.images, image)] + curves, check=True)
    print(f"\n![{title}: loss and accuracy between A and aligned B, every method](images/{image})\n")
    if arch.startswith("mlp"):
        land = cli([R, "landscape", files[0], files[1], "--arch", arch, "--perm",
                    os.path.join(a.work, f"perm-{tag}-sinkhorn-mid.json"), "--data", data, "--grid", "21", "--json"], raw)
        path = os.path.join(a.work, f"landscape-{tag}.json")
        with open(path, "w") as f:
            json.dump(land, f)
        image = f"results-landscape-{tag}.png"
        subprocess.run([a.plot, "landscape", os.path.join(a.images, image), path], check=True)
        print(f"![{title}: test loss over the plane through A, B and B aligned by sinkhorn-mid](images/{image})\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rebasin", default=os.path.join(HERE, "..", "build", "release", "app", "rebasin"))
    ap.add_argument("--work", default="/tmp/rebasin-results")
    ap.add_argument("--raw", default=os.path.join(HERE, "..", "docs", "data", "results.jsonl"))
    ap.add_argument("--plot", default=os.path.join(HERE, "..", "build", "release", "app", "plot", "rebasin-plot"))
    ap.add_argument("--images", default=os.path.join(HERE, "..", "docs", "images"))
    ap.add_argument("--sections", default="abc", help="which tables to make: any of a, b, c")
    ap.add_argument("--quick", action="store_true", help="fewer cases (smoke run)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    raw = open(a.raw, "w")
    R = a.rebasin

    if "a" not in a.sections:
        archs = []
    else:
        print("## a. Recovering a hidden permutation (defaults: `rebasin recover --arch ARCH --method M --seed 1`)\n")
        print("| architecture | method | recovered | steps | seconds |")
        print("|---|---|---|---|---|")
        archs = ["mlp:1,10,10,1:tanh", "mlp:1,10,10,10,10,1:tanh", "mlp:1" + ",10" * 8 + ",1:tanh",
                 "mlp:1" + ",10" * 16 + ",1:tanh", "mlp:784,512,512,10", "resnet20x1", "vgg11"]
        if a.quick:
            archs = archs[:2]
        for arch in archs:
            for method in ["sinkhorn", "weight"]:
                d = cli([R, "recover", "--arch", arch, "--method", method, "--seed", "1", "--json"], raw)
                print(f"| `{arch}` | {method} | {100 * d['recovered_fraction']:.1f}% | {d['steps']} | {d['seconds']:.2f} |", flush=True)

    if "b" in a.sections:
        print("\n## b. Linear mode connectivity of independently trained pairs\n")
        pairs = [("MNIST MLP", "mlp:784,512,512,10", "mnist", 5),
                 ("Fashion-MNIST MLP", "mlp:784,512,512,10", "fashion-mnist", 5),
                 ("MNIST VGG", "vgg:16,M,32,M,64", "mnist", 2)]
        if a.quick:
            pairs = pairs[:1]
        for title, arch, data, epochs in pairs:
            lmc_pair(a, raw, title, arch, data, epochs)

    if "c" not in a.sections:
        return
    print("## c. Polynomial regression (`mlp:1,32,32,1:tanh`, 30 epochs, MSE)\n")
    print("| task | method | barrier (test MSE) |")
    print("|---|---|---|")
    for k in ([1] if a.quick else [1, 2, 3]):
        data = f"poly{k}"
        files = []
        for seed in (1, 2):
            f = os.path.join(a.work, f"{data}-{seed}.safetensors")
            if not os.path.exists(f):
                cli([R, "train", "--arch", "mlp:1,32,32,1:tanh", "--data", data, "--epochs", "30", "--lr", "0.01",
                     "--batch-size", "50", "--seed", str(seed), "--out", f, "--json"], raw)
            files.append(f)
        for name, flags in METHODS:
            d = cli([R, "align", files[0], files[1], "--method", name.split("-")[0], "--data", data, "--json"] + flags, raw)
            print(f"| {data} | {name} | {d['barrier']['aligned']:.5f} (naive {d['barrier']['naive']:.5f}) |", flush=True)


if __name__ == "__main__":
    main()
