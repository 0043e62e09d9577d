#!/usr/bin/python3
"""Writes the test fixtures: by default the small checkpoint files committed here for the io tests (run by Debian's /usr/bin/python3,
which has python3-torch). Files are small and committed; rerun only to change them.

Every .pt file comes from torch.save / torch.jit.save; the safetensors files are written by hand
(JSON header + raw little-endian bytes) so the reader is checked against the format itself, not
against our own writer. expected.json holds, per file and tensor, the shape, dtype, sum (as
float64 of the stored values) and first values, which the C++ test compares exactly."""
import argparse
import collections
import json
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
expected = {}


def describe(sd):
    out = collections.OrderedDict()
    for name, t in sd.items():
        t = t.detach()
        flat = t.reshape(-1)
        out[name] = {
            "shape": list(t.shape),
            "dtype": str(t.dtype).replace("torch.", ""),
            "sum": float(flat.double().sum()),
            "first": [float(v) for v in flat[:4].double()],
        }
    return out


class UserConfig:
    """Stands for a user's own class pickled into a checkpoint (as __main__.UserConfig)."""

    def __init__(self, lr):
        self.lr = lr


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def save(name, obj, sd):
    torch.save(obj, os.path.join(HERE, name))
    expected[name] = describe(sd)


def write_committed():
    """The small fixtures committed in tests/data (rerun only to change them)."""
    global expected
    # Plain OrderedDict state dict, plus a float64 and a float16 tensor.
    sd = mlp().state_dict()
    sd["extra.double"] = torch.randn(3, 2, dtype=torch.float64)
    sd["extra.half"] = torch.randn(5).half()
    sd["extra.bf16"] = torch.randn(2, 3).bfloat16()
    save("mlp_state_dict.pt", sd, sd)

    # Nested under "state_dict" and under "model".
    sd2 = mlp().state_dict()
    save("nested_state_dict.pth", {"state_dict": sd2, "note": "nested"}, sd2)
    sd3 = mlp().state_dict()
    save("nested_model.pt", {"model": sd3, "epoch": 7}, sd3)

    # Lightning-like checkpoint: the state dict next to optimizer state and hyper-parameters.
    net = mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(2, 4)).sum().backward()
    opt.step()
    lsd = collections.OrderedDict(("model." + k, v) for k, v in net.state_dict().items())
    ckpt = {
        "epoch": 3,
        "global_step": 10,
        "pytorch-lightning_version": "1.9.0",
        "state_dict": lsd,
        "optimizer_states": [opt.state_dict()],
        "lr_schedulers": [],
        "hyper_parameters": {"lr": 0.1, "hidden": [8, 8], "name": "mlp", "flag": True, "none": None,
                             "big": 2**40, "neg": -5},
        # Lightning pickles arbitrary user objects here; the reader must skip them, not run them.
        "hparams_namespace": argparse.Namespace(lr=0.1, layers=(4, 8, 3)),
    }
    save("lightning.ckpt", ckpt, lsd)

    # BatchNorm: running stats and the int64 num_batches_tracked buffer.
    bn = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3))
    bn.train()
    bn(torch.randn(4, 2, 5, 5))
    save("batchnorm.pt", bn.state_dict(), bn.state_dict())

    # Views: a transposed (non-contiguous) tensor, two views sharing one storage, an offset slice.
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    views = collections.OrderedDict()
    views["transposed"] = base.t()
    views["row1"] = base[1]
    views["col_slice"] = base[:, 2:5]
    views["strided"] = base[::2, ::3]
    views["int32"] = torch.arange(5, dtype=torch.int32) - 2
    views["bool"] = torch.tensor([True, False, True])
    views["int8"] = torch.tensor([-3, 4], dtype=torch.int8)
    views["uint8"] = torch.tensor([250, 1], dtype=torch.uint8)
    views["int16"] = torch.tensor([-300, 7], dtype=torch.int16)
    views["scalar"] = torch.tensor(2.5)
    save("views.pt", views, views)

    # A bare Parameter saved inside the dict (brings _rebuild_parameter).
    p = collections.OrderedDict()
    p["weight"] = torch.nn.Parameter(torch.randn(2, 2))
    save("parameter.pt", p, p)

    # A whole pickled module (torch.save(model)): no state dict, the reader must say so.
    torch.save(mlp(), os.path.join(HERE, "whole_model.pt"))

    # TorchScript archive.
    scripted = torch.jit.script(bn)
    torch.jit.save(scripted, os.path.join(HERE, "scripted.pt"))
    ts = collections.OrderedDict(list(scripted.named_parameters()) + list(scripted.named_buffers()))
    expected["scripted.pt"] = describe(ts)

    # Safetensors by hand.
    DT = {torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8"),
          torch.float16: ("F16", "<f2"), torch.bfloat16: ("BF16", None), torch.int64: ("I64", "<i8")}


    def raw(t):
        t = t.contiguous()
        if t.dtype == torch.bfloat16:
            # bfloat16 is the high half of float32; torch's view keeps the bits as they are.
            return t.view(torch.int16).numpy().astype("<i2").tobytes()
        return t.numpy().astype(DT[t.dtype][1]).tobytes()


    def write_safetensors(name, tensors, metadata=None, pad_to=8):
        header, blobs, offset = {}, [], 0
        for key, t in tensors.items():
            b = raw(t)
            header[key] = {"dtype": DT[t.dtype][0], "shape": list(t.shape),
                           "data_offsets": [offset, offset + len(b)]}
            blobs.append(b)
            offset += len(b)
        if metadata:
            header["__metadata__"] = metadata
        h = json.dumps(header).encode()
        h += b" " * ((-len(h)) % pad_to)
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
        expected[name] = describe(tensors)


    st = collections.OrderedDict()
    st["a.f32"] = torch.randn(3, 4)
    st["b.f64"] = torch.randn(5, dtype=torch.float64)
    st["c.f16"] = torch.randn(2, 2).half()
    st["d.bf16"] = torch.randn(7).bfloat16()
    st["e.i64"] = torch.tensor([1, -2, 3], dtype=torch.int64)
    st["f.scalar"] = torch.tensor(1.25)
    write_safetensors("mixed.safetensors", st, {"format": "pt", "source": "make_fixtures.py"})
    write_safetensors("mlp.safetensors", collections.OrderedDict(mlp().state_dict()))

    # Legacy torch.save format (PyTorch before 1.6): a chain of pickles, then the raw storages.
    # A state dict with a view sharing its storage and an int64 buffer ...
    lsd = collections.OrderedDict(mlp().state_dict())
    shared = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    lsd["shared.full"] = shared
    lsd["shared.row"] = shared[1]
    lsd["steps"] = torch.tensor(42, dtype=torch.int64)
    torch.save(lsd, os.path.join(HERE, "legacy_mlp.pt"), _use_new_zipfile_serialization=False)
    expected["legacy_mlp.pt"] = describe(lsd)
    # ... and a training checkpoint: the model's state dict beside optimizer state, the epoch,
    # EMA weights and a config dict (the EMA weights are what --key ema picks).
    net = mlp()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.randn(2, 4)).sum().backward()
    opt.step()
    ema = collections.OrderedDict((k, v.detach() * 0.5) for k, v in net.state_dict().items())
    train_ckpt = {"epoch": 12, "model": net.state_dict(), "optimizer": opt.state_dict(), "ema": ema,
                  "config": {"lr": 1e-3, "widths": [4, 8, 3]}}
    torch.save(train_ckpt, os.path.join(HERE, "legacy_checkpoint.pt"), _use_new_zipfile_serialization=False)
    expected["legacy_checkpoint.pt"] = describe(net.state_dict())
    expected["legacy_checkpoint.pt#ema"] = describe(ema)

    # State dicts under names the reader does not know: one (taken), two (--key must choose).
    wsd = mlp().state_dict()
    save("custom_key.pt", {"weights": wsd, "step": 5}, wsd)
    student, teacher = mlp().state_dict(), mlp().state_dict()
    torch.save({"student": student, "teacher": teacher, "step": 5}, os.path.join(HERE, "two_state_dicts.pt"))
    expected["two_state_dicts.pt#teacher"] = describe(teacher)

    # A user's own class next to the state dict: torch.load would import and run it; we refuse.
    user = {"state_dict": mlp().state_dict(), "config": UserConfig(lr=0.1)}
    torch.save(user, os.path.join(HERE, "user_class.pt"))

    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


def write_models(out):
    """Model fixtures too large to commit (torchvision state dicts, TorchScript archives), written
    into a build tree; nothing is done when the scripts are unchanged since the last run."""
    import hashlib
    import importlib
    import sys
    sys.path.insert(0, HERE)
    modules = [m for m in ("fixtures_torchvision", "fixtures_graph", "fixtures_transformers", "fixtures_llama") if os.path.exists(os.path.join(HERE, m + ".py"))]
    digest = hashlib.sha256()
    for name in [os.path.basename(__file__), "check_loaded.py"] + [m + ".py" for m in modules]:
        with open(os.path.join(HERE, name), "rb") as f:
            digest.update(f.read())
    stamp = os.path.join(out, "stamp")
    if os.path.exists(stamp) and open(stamp).read() == digest.hexdigest():
        return
    os.makedirs(out, exist_ok=True)
    manifest = {}
    for m in modules:
        torch.manual_seed(0)
        manifest.update(importlib.import_module(m).write(out))
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    with open(stamp, "w") as f:
        f.write(digest.hexdigest())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", metavar="DIR", help="write the model fixtures into DIR instead")
    args = parser.parse_args()
    if args.models:
        write_models(args.models)
    else:
        write_committed()
