#!/usr/bin/python3
"""Linear mode connectivity of transformers for docs/results.md ("Transformers"), with the
project's own CLI: two models of one built-in family trained by `rebasin train` from seeds 1 and
2 (a ViT on Fashion-MNIST, a GPT on text:fortunes), aligned by every method with the residual
stream permuted as one group (--residual shared) and left alone (identity). Per row: the loss
barrier on the test split, the midpoint's test loss and accuracy (next-character accuracy for
the GPT) and the method's seconds. rebasin-plot draws each residual mode's curves (naive and
every method) into --images. Prints Markdown on stdout; raw JSON lines go to --raw.

Usage: /usr/bin/python3 bench/transformer_results.py [--rebasin build/dev/app/rebasin]
           [--plot build/dev/app/plot/rebasin-plot] [--work DIR] [--raw FILE] [--images docs/images]
           [--family vit|gpt] [--arch ARCH] [--data DATA] [--epochs 8] [--points 11]
           [--residual shared,identity] [--methods weight,activation,ste,sinkhorn-l2,sinkhorn-mid]"""
import argparse, json, math, os, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import cli  # noqa: E402  (runs the CLI, keeps the raw JSON line)

DEFAULTS = {"vit": ("vit:7,64,6,4,128", "fashion-mnist"), "gpt": ("gpt:96,64,64,2,4", "text:fortunes")}


def unigram_loss(data):
    """Test cross-entropy (nats per character) of the training split's character frequencies
    (add-one smoothed): the baseline a GPT must beat. Reads text:fortunes[:T] or text:PATH[:T]
    as core/data/text.cpp does."""
    name, context = data[5:], 64
    if ":" in name and name.rsplit(":", 1)[1].isdigit():
        name, context = name.rsplit(":", 1)[0], int(name.rsplit(":", 1)[1])
    root = "/usr/share/games/fortunes" if name == "fortunes" else name
    files = [root] if os.path.isfile(root) else sorted(
        os.path.join(root, f) for f in os.listdir(root)
        if os.path.isfile(os.path.join(root, f)) and not f.endswith((".dat", ".u8")))
    ids = []
    for f in files:
        for c in open(f, "rb").read():
            if c == 10: ids.append(0)
            elif c == 9: ids.append(1)
            elif 32 <= c <= 126: ids.append(c - 31)
    windows = (len(ids) - 1) // context
    counts, test = [1] * 96, []
    for w in range(windows):
        targets = ids[w * context + 1:w * context + context + 1]
        if w % 10 == 9: test.extend(targets)
        else:
            for t in targets: counts[t] += 1
    total = sum(counts)
    return -sum(math.log(counts[t] / total) for t in test) / len(test)


def method_flags(m):
    if m.startswith("sinkhorn-"):
        return ["--method", "sinkhorn", "--cost", m.split("-", 1)[1]]
    return ["--method", m]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rebasin", default="build/dev/app/rebasin")
    p.add_argument("--plot", default="build/dev/app/plot/rebasin-plot")
    p.add_argument("--work", default="/tmp/rebasin-transformers")
    p.add_argument("--raw", default="/tmp/rebasin-transformers/raw.jsonl")
    p.add_argument("--images", default="docs/images")
    p.add_argument("--family", default="vit", choices=sorted(DEFAULTS))
    p.add_argument("--arch")
    p.add_argument("--data")
    p.add_argument("--epochs", default="8")
    p.add_argument("--points", default="11")
    p.add_argument("--residual", default="shared,identity")
    p.add_argument("--methods", default="weight,activation,ste,sinkhorn-l2,sinkhorn-mid")
    p.add_argument("--models", nargs=2, metavar=("A", "B"), help="use these two models instead of training")
    a = p.parse_args()
    arch, data = a.arch or DEFAULTS[a.family][0], a.data or DEFAULTS[a.family][1]
    os.makedirs(a.work, exist_ok=True)
    tag = f"{data.replace(':', '_')}-{arch.replace(':', '_').replace(',', '-')}"
    R = a.rebasin
    with open(a.raw, "a") as raw:
        models = a.models or []
        for seed in ((1, 2) if not models else ()):
            f = os.path.join(a.work, f"{tag}-{seed}.safetensors")
            if not os.path.exists(f):
                t = cli([R, "train", "--arch", arch, "--data", data, "--epochs", a.epochs, "--seed", str(seed),
                         "--out", f, "--json"], raw)
                print(f"trained seed {seed}: test loss {t['test_loss']:.4f}, accuracy {100 * t['test_accuracy']:.2f}%, "
                      f"{t['seconds']:.0f} s", file=sys.stderr)
            models.append(f)
        print(f"### {arch} on {data}, seeds 1 and 2 ({a.points} points, test split)\n")
        if data.startswith("text:"):
            print(f"Unigram baseline (training frequencies): test loss {unigram_loss(data):.4f} nats per character.\n")
        print("| residual | method | loss barrier | midpoint loss | midpoint accuracy | seconds |")
        print("|---|---|---|---|---|---|")
        for residual in a.residual.split(","):
            curves = {}
            for m in a.methods.split(","):
                d = cli([R, "align", models[0], models[1], *method_flags(m), "--residual", residual, "--data", data,
                         "--points", a.points, "--json"], raw)
                if "naive" not in curves:
                    curves["naive"] = d["curves"]["naive"]
                    row(residual, "naive", curves["naive"], None)
                curves[m] = d["curves"]["aligned"]
                row(residual, m, curves[m], d["seconds"])
            if a.plot:
                inputs = []
                for name, c in curves.items():
                    path = os.path.join(a.work, f"{tag}-{residual}-{name}.json")
                    with open(path, "w") as f:
                        json.dump({**c, "split": "test"}, f)
                    inputs.append(f"{name}={path}")
                image = os.path.join(a.images, f"lmc-{a.family}-{residual}.png")
                subprocess.run([a.plot, "curves", image, *inputs, "--size", "1000x600"], check=True)
                print(f"\n(figure: {image})\n", file=sys.stderr)


def row(residual, method, c, seconds):
    mid = len(c["lambdas"]) // 2
    acc = c["accuracy"][mid]
    print(f"| {residual} | {method} | {c['barrier']:.4f} | {c['loss'][mid]:.4f} | "
          f"{'-' if acc is None else f'{100 * acc:.2f}%'} | {'-' if seconds is None else f'{seconds:.1f}'} |", flush=True)


if __name__ == "__main__":
    main()
