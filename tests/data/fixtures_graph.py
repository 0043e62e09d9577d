"""TorchScript model fixtures for the graph architecture (core/nn/graph): models written the way
users write them, scripted or traced by real PyTorch, with the permutation symmetry each is
known to have (the number and sizes of its groups, and its head groups) in the manifest.
Small sizes: a test derives, verifies and aligns every one of them."""
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNormMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 32)
        self.ln1 = nn.LayerNorm(32)
        self.fc2 = nn.Linear(32, 32)
        self.ln2 = nn.LayerNorm(32)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        x = x.flatten(1)
        x = F.relu(self.ln1(self.fc1(x)))
        x = F.relu(self.ln2(self.fc2(x)))
        return self.head(x)


class CustomBlock(nn.Module):
    """A residual block a user might write: a convolution, a depthwise convolution, a residual
    add, then two branches joined by cat."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.dw = nn.Conv2d(c, c, 3, padding=1, groups=c)
        self.conv2 = nn.Conv2d(c, c, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.branch_a = nn.Conv2d(c, c // 2, 3, padding=1)
        self.branch_b = nn.Conv2d(c, c // 2, 1)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(F.relu(self.dw(h))))
        x = F.relu(x + h)
        return F.relu(torch.cat([self.branch_a(x), self.branch_b(x)], dim=1))


class ResidualCNN(nn.Module):
    def __init__(self, c=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.block = CustomBlock(c)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, 10)

    def forward(self, x):
        x = self.block(self.stem(x))
        return self.fc(torch.flatten(self.pool(x), 1))


class CausalSelfAttention(nn.Module):
    """nanoGPT's attention, written by hand: fused c_attn, view into heads, q @ k^T, mask."""

    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.n_head = n_head
        self.n_embd = n_embd
        self.register_buffer("bias", torch.tril(torch.ones(block_size, block_size)).view(1, 1, block_size, block_size))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class GPTBlock(nn.Module):
    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, block_size)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd), nn.Dropout(0.1))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab=32, block_size=16, n_embd=32, n_head=4, n_layer=2):
        super().__init__()
        self.wte = nn.Embedding(vocab, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.h = nn.ModuleList([GPTBlock(n_embd, n_head, block_size) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as nanoGPT does

    def forward(self, idx):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


class SeparateQKVAttention(nn.Module):
    """Attention with separate query, key and value projections (the layout of BERT, LLaMA and
    most Hugging Face models), heads split by reshape, and an output projection."""

    def __init__(self, d, heads):
        super().__init__()
        self.q_proj, self.k_proj, self.v_proj = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.o_proj = nn.Linear(d, d)
        self.heads = heads

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        q = self.q_proj(x).reshape(b, t, h, d // h).transpose(1, 2)
        k = self.k_proj(x).reshape(b, t, h, d // h).transpose(1, 2)
        v = self.v_proj(x).reshape(b, t, h, d // h).transpose(1, 2)
        att = F.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // h), dim=-1)
        return self.o_proj((att @ v).transpose(1, 2).reshape(b, t, d))


class SeparateQKVEncoder(nn.Module):
    def __init__(self, vocab=40, d=32, heads=4, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict(dict(norm1=nn.LayerNorm(d), attn=SeparateQKVAttention(d, heads),
                                                  norm2=nn.LayerNorm(d), fc1=nn.Linear(d, 2 * d), fc2=nn.Linear(2 * d, d))))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, idx):
        x = self.embed(idx)
        for blk in self.blocks:
            x = x + blk["attn"](blk["norm1"](x))
            x = x + blk["fc2"](F.gelu(blk["fc1"](blk["norm2"](x))))
        return self.head(self.norm(x))


def randomise_norms(model):
    """Trained-looking norm layers: a fresh model's unit scales and zero statistics would make
    a wrong tie on them invisible."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)) and m.weight is not None:
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
    return model


def write(out):
    import torchvision

    manifest = {}

    def entry(name, sizes, heads=0, **more):
        manifest[name] = dict(groups=len(sizes), sizes=sorted(sizes), head_groups=heads, **more)

    mlp = randomise_norms(LayerNormMLP()).eval()
    torch.jit.script(mlp).save(os.path.join(out, "ln_mlp.ts.pt"))
    # The same model as a state dict saved from DDP: --arch ln_mlp.ts.pt maps it by name.
    torch.save({"module." + k: v for k, v in mlp.state_dict().items()}, os.path.join(out, "ln_mlp_ddp.pt"))
    entry("ln_mlp.ts.pt", [32, 32])

    cnn = randomise_norms(ResidualCNN()).eval()
    torch.jit.script(cnn).save(os.path.join(out, "residual_cnn.ts.pt"))
    entry("residual_cnn.ts.pt", [16, 16, 8, 8])

    vit = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4,
                                               hidden_dim=32, mlp_dim=64, num_classes=10)
    vit = randomise_norms(vit).eval()
    with torch.no_grad():  # torchvision starts the classifier at zero: the output would be 0
        nn.init.normal_(vit.heads.head.weight, std=0.1)
        nn.init.uniform_(vit.heads.head.bias, -0.1, 0.1)
    x = torch.randn(2, 3, 32, 32)
    # Traced with gradients on: nn.MultiheadAttention's Python path (in_proj, view into heads,
    # baddbmm, softmax, bmm) rather than the fused kernel PyTorch picks under no_grad.
    torch.jit.trace(vit, x, check_trace=False).save(os.path.join(out, "vit.ts.pt"))
    # The stream, and per layer: query/key heads, value/output heads, the MLP.
    entry("vit.ts.pt", [32] + [32, 32, 64] * 2, heads=4)

    gpt = randomise_norms(GPT()).eval()
    torch.jit.script(gpt).save(os.path.join(out, "gpt.ts.pt"))
    entry("gpt.ts.pt", [32] + [32, 32, 128] * 2, heads=4)

    sep = randomise_norms(SeparateQKVEncoder()).eval()
    torch.jit.trace(sep, torch.randint(0, 40, (2, 12)), check_trace=False).save(os.path.join(out, "qkv_separate.ts.pt"))
    entry("qkv_separate.ts.pt", [32] + [32, 32, 64] * 2, heads=4)

    # torchvision's ResNet-18 (full width, 11.2 M parameters), traced: 4 residual streams (one
    # per stage) and one group inside each of the 8 BasicBlocks (conv1's outputs): 12 groups.
    rn = randomise_norms(torchvision.models.resnet18(num_classes=10)).eval()
    torch.jit.trace(rn, torch.randn(1, 3, 32, 32), check_trace=False).save(os.path.join(out, "resnet18.ts.pt"))
    entry("resnet18.ts.pt", [64, 128, 256, 512] + [64, 64, 128, 128, 256, 256, 512, 512])
    return manifest
