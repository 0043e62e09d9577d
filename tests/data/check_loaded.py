#!/usr/bin/python3
"""Loads an aligned checkpoint back into the user's own Python module (load_state_dict, strict)
and compares its output with a reference checkpoint's - the check that catches a permuted
computed buffer, which an archive-internal check cannot see.

  check_loaded.py MODEL ALIGNED REFERENCE      (MODEL: llama; files: .safetensors, .pt, .ts.pt)

Keys the module does not load (a non-persistent buffer that a TorchScript archive carried) must
equal the module's own value; they are then left out of the strict load. Prints the largest
relative difference of the logits and exits 0 when it is below 1e-5, 1 otherwise."""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32}


def read_safetensors(path):
    """The format itself (8-byte header length, JSON header, raw little-endian data), so this
    check does not rest on our own reader."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, d in header.items():
        if name == "__metadata__":
            continue
        begin, end = d["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[d["dtype"]]) if end > begin else torch.empty(0)
        out[name] = t.reshape(d["shape"]).clone()
    return out


def read(path):
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    if path.endswith(".ts.pt"):
        return {k: v.detach().clone() for k, v in torch.jit.load(path).state_dict().items()}
    return torch.load(path)


def module_for(name):
    if name == "llama":
        import fixtures_llama
        return fixtures_llama.LlamaForCausalLM().eval(), fixtures_llama.tokens()
    raise SystemExit(f"check_loaded: unknown model {name}")


def loaded(name, path):
    model, x = module_for(name)
    sd = read(path)
    persistent = model.state_dict()
    own = dict(model.named_buffers())
    for k in [k for k in sd if k not in persistent]:
        if k not in own or not torch.equal(sd[k].to(own[k].dtype), own[k]):
            raise SystemExit(f"check_loaded: {path}: '{k}' is not a tensor the module loads, and differs from its own value")
        del sd[k]
    model.load_state_dict(sd, strict=True)
    return model, x


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    name, aligned, reference = sys.argv[1:]
    m, x = loaded(name, aligned)
    r, _ = loaded(name, reference)
    with torch.no_grad():
        y, want = m(x), r(x)
    err = float((y - want).abs().max() / want.abs().max())
    print(f"relative difference {err:.3g}")
    sys.exit(0 if err < 1e-5 else 1)


if __name__ == "__main__":
    main()
