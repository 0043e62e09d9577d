"""A LLaMA-layout causal language model, as Hugging Face transformers writes it, for the checks
that no computed buffer is ever permuted: `transformers` is not installable here, so this module
reproduces, at a tiny size, the parameter names, tensor layouts and forward arithmetic of
transformers' src/transformers/models/llama/modeling_llama.py (LlamaForCausalLM with
LlamaModel, LlamaDecoderLayer, LlamaAttention, LlamaMLP, LlamaRMSNorm, LlamaRotaryEmbedding,
rotate_half, apply_rotary_pos_emb, repeat_kv; eager attention):

- RoPE the Hugging Face way: `inv_freq` is a NON-PERSISTENT buffer (register_buffer(...,
  persistent=False)) that the model computes in __init__ and never loads; unit i of a head is
  rotated with unit i + head_dim/2 (rotate_half);
- grouped-query attention: num_key_value_heads < num_attention_heads, keys and values repeated
  to the query heads by expand + reshape (repeat_kv);
- RMSNorm in float32, SwiGLU MLP (down_proj(silu(gate_proj(x)) * up_proj(x))), no biases, an
  untied lm_head.

Files written by write(out) (make_fixtures.py --models):
  llama.ts.pt        model A traced (TorchScript; the archive holds inv_freq like any buffer)
  llama_a.pt         A's state dict (no inv_freq: it is not persistent)
  llama_b_perm.pt    A's state dict with a random true symmetry applied (the MLP units of every
                     layer, whole key/value groups with their query heads, the value/output
                     units inside the heads): the function of A
  llama_c.ts.pt      an independently seeded model C, traced
  llama_c.pt         C's state dict
check_llama_file(...) loads an aligned file back into this module (load_state_dict) and compares
its logits with a reference file's: tests/data/check_loaded.py runs it for the C++ tests."""
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = dict(vocab_size=40, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0, rms_norm_eps=1e-6,
              max_position_embeddings=16)
SEQ = 12


class LlamaRMSNorm(nn.Module):
    def __init__(self, hidden_size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


class LlamaRotaryEmbedding(nn.Module):
    def __init__(self, c):
        super().__init__()
        dim = c["hidden_size"] // c["num_attention_heads"]
        inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x, position_ids):
        inv_freq_expanded = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        position_ids_expanded = position_ids[:, None, :].float()
        freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim=1):
    cos = cos.unsqueeze(unsqueeze_dim)
    sin = sin.unsqueeze(unsqueeze_dim)
    return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


def repeat_kv(hidden_states, n_rep: int):
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(batch, num_key_value_heads, n_rep, slen, head_dim)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


class LlamaAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.head_dim = c["hidden_size"] // c["num_attention_heads"]
        self.num_heads = c["num_attention_heads"]
        self.num_key_value_groups = c["num_attention_heads"] // c["num_key_value_heads"]
        self.scaling = self.head_dim ** -0.5
        d, kv = c["hidden_size"], c["num_key_value_heads"] * self.head_dim
        self.q_proj = nn.Linear(d, self.num_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(d, kv, bias=False)
        self.v_proj = nn.Linear(d, kv, bias=False)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, d, bias=False)

    def forward(self, hidden_states, cos, sin, mask):
        b, t, _ = hidden_states.shape
        shape = (b, t, -1, self.head_dim)
        q = self.q_proj(hidden_states).view(shape).transpose(1, 2)
        k = self.k_proj(hidden_states).view(shape).transpose(1, 2)
        v = self.v_proj(hidden_states).view(shape).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        k = repeat_kv(k, self.num_key_value_groups)
        v = repeat_kv(v, self.num_key_value_groups)
        w = torch.matmul(q, k.transpose(2, 3)) * self.scaling + mask
        w = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(w, v).transpose(1, 2).reshape(b, t, -1)
        return self.o_proj(out)


class LlamaMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c["hidden_size"], c["intermediate_size"], bias=False)
        self.up_proj = nn.Linear(c["hidden_size"], c["intermediate_size"], bias=False)
        self.down_proj = nn.Linear(c["intermediate_size"], c["hidden_size"], bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = LlamaAttention(c)
        self.mlp = LlamaMLP(c)
        self.input_layernorm = LlamaRMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = LlamaRMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([LlamaDecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = LlamaRMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.rotary_emb = LlamaRotaryEmbedding(c)

    def forward(self, input_ids):
        x = self.embed_tokens(input_ids)
        t = input_ids.shape[1]
        position_ids = torch.arange(t, device=input_ids.device).unsqueeze(0)
        cos, sin = self.rotary_emb(x, position_ids)
        mask = torch.full((t, t), float("-inf"), device=x.device).triu(1)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.norm(x)


class LlamaForCausalLM(nn.Module):
    def __init__(self, c=CONFIG):
        super().__init__()
        self.model = LlamaModel(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)

    def forward(self, input_ids):
        return self.lm_head(self.model(input_ids))


def trained_looking(model):
    """Norm scales away from 1, so a wrong tie on them cannot hide."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, LlamaRMSNorm):
                m.weight.uniform_(0.5, 1.5)
    return model.eval()


def apply_symmetry(sd, c=CONFIG, seed=0):
    """A random true symmetry of the LLaMA layout applied to a state dict: per layer, the MLP's
    intermediate units; the key/value groups as wholes (each with the query heads that read it);
    the value/output units inside a head (one order for all heads). Units that RoPE rotates
    together never move inside a head."""
    g = torch.Generator().manual_seed(seed)
    sd = {k: v.clone() for k, v in sd.items()}
    hd = c["hidden_size"] // c["num_attention_heads"]
    kvh = c["num_key_value_heads"]
    rep = c["num_attention_heads"] // kvh
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        m = torch.randperm(c["intermediate_size"], generator=g)
        for n in ("gate_proj", "up_proj"):
            sd[p + f"mlp.{n}.weight"] = sd[p + f"mlp.{n}.weight"][m]
        sd[p + "mlp.down_proj.weight"] = sd[p + "mlp.down_proj.weight"][:, m]
        groups = torch.randperm(kvh, generator=g)
        inner = torch.randperm(hd, generator=g)
        kv_rows = torch.cat([torch.arange(hd) + j * hd for j in groups.tolist()])
        v_rows = torch.cat([inner + j * hd for j in groups.tolist()])
        q_heads = [j * rep + r for j in groups.tolist() for r in range(rep)]
        q_rows = torch.cat([torch.arange(hd) + h * hd for h in q_heads])
        o_cols = torch.cat([inner + h * hd for h in q_heads])
        sd[p + "self_attn.q_proj.weight"] = sd[p + "self_attn.q_proj.weight"][q_rows]
        sd[p + "self_attn.k_proj.weight"] = sd[p + "self_attn.k_proj.weight"][kv_rows]
        sd[p + "self_attn.v_proj.weight"] = sd[p + "self_attn.v_proj.weight"][v_rows]
        sd[p + "self_attn.o_proj.weight"] = sd[p + "self_attn.o_proj.weight"][:, o_cols]
    return sd


def tokens():
    return torch.randint(0, CONFIG["vocab_size"], (3, SEQ), generator=torch.Generator().manual_seed(7))


def write(out):
    a = trained_looking(LlamaForCausalLM())
    ids = tokens()
    torch.jit.trace(a, ids[:2], check_trace=False).save(os.path.join(out, "llama.ts.pt"))
    sd = a.state_dict()
    assert "model.rotary_emb.inv_freq" not in sd  # non-persistent, as in transformers
    torch.save(sd, os.path.join(out, "llama_a.pt"))
    b = apply_symmetry(sd)
    check = LlamaForCausalLM().eval()
    check.load_state_dict(b)
    with torch.no_grad():
        err = (check(ids) - a(ids)).abs().max() / a(ids).abs().max()
    assert err < 1e-5, f"the symmetry changed the function ({err})"
    torch.save(b, os.path.join(out, "llama_b_perm.pt"))
    torch.manual_seed(1)
    c = trained_looking(LlamaForCausalLM())
    torch.jit.trace(c, ids[:2], check_trace=False).save(os.path.join(out, "llama_c.ts.pt"))
    torch.save(c.state_dict(), os.path.join(out, "llama_c.pt"))
    return {}
