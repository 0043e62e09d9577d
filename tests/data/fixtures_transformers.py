"""Transformer fixtures for the built-in vit: and gpt: families (imported by make_fixtures.py
--models): a torchvision VisionTransformer and a nanoGPT-style decoder (the module layout and
names of karpathy/nanoGPT's model.py: transformer.wte/wpe/h.N/ln_f, attn.c_attn/c_proj,
mlp.c_fc/c_proj, lm_head tied to wte) as plain state dicts, each with <name>_io.pt: a fixed input
batch and the model's own output for it, so the C++ forward is checked against the reference
implementation itself."""
import collections
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class CausalSelfAttention(nn.Module):
    """nanoGPT's attention as it stands since PyTorch 2 (no causal-mask buffer in the state
    dict), unlike fixtures_graph.py's older form, which registers the mask as `bias`."""

    def __init__(self, n_embd, n_head):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.n_head, self.n_embd = n_head, n_embd

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        att = F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * n_embd, n_embd)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = MLP(n_embd)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class NanoGPT(nn.Module):
    def __init__(self, vocab, block_size, n_embd, n_layer, n_head):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, n_embd), wpe=nn.Embedding(block_size, n_embd),
            h=nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)]), ln_f=nn.LayerNorm(n_embd)))
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # tied, as nanoGPT does

    def forward(self, idx):
        t = idx.size(1)
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(t))
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


def settle(model):
    """Trained-looking LayerNorms and non-zero class token and classifier (torchvision starts
    them at zero), so every tensor carries its units' order."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
        for name, p in model.named_parameters():
            if name in ("class_token", "heads.head.weight", "heads.head.bias"):
                p.uniform_(-0.3, 0.3)
    return model.eval()


def write(out):
    manifest = {}
    vit = settle(torchvision.models.VisionTransformer(image_size=28, patch_size=7, num_layers=2, num_heads=4,
                                                     hidden_dim=32, mlp_dim=64, num_classes=10))
    # The 1-channel input of Fashion-MNIST: torchvision's conv_proj is built for 3 channels.
    vit.conv_proj = nn.Conv2d(1, 32, kernel_size=7, stride=7)
    gpt = settle(NanoGPT(vocab=96, block_size=16, n_embd=32, n_layer=2, n_head=4))
    models = [
        ("tv_vit", vit, "vit:7,32,2,4,64", torch.rand(4, 1, 28, 28)),
        ("nanogpt", gpt, "gpt:96,16,32,2,4", torch.randint(0, 96, (4, 16))),
    ]
    for name, model, arch, x in models:
        sd = model.state_dict()
        torch.save(sd, os.path.join(out, name + ".pt"))
        with torch.no_grad():
            y = model(x)
        torch.save(collections.OrderedDict([("input", x), ("output", y)]), os.path.join(out, name + "_io.pt"))
        manifest[name] = {"arch": arch, "file": name + ".pt", "io": name + "_io.pt", "tensors": len(sd)}
    return manifest
