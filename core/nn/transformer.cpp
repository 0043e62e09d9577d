// Transformers as built-ins, under the names their reference implementations write:
//   vit:P,D,L,H,M   torchvision's VisionTransformer: patch size P (conv_proj), width D, L encoder
//       layers of H heads with an MLP of width M (mlp.0 / mlp.3, GELU), class token, learned
//       position embedding, pre-norm blocks, LayerNorm eps 1e-6, heads.head on the class token.
//       Input channels, image size (a multiple of P) and classes come from the data or the
//       checkpoint (28x28x1 Fashion-MNIST, 32x32x3 CIFAR-10).
//   gpt:V,T,D,L,H   nanoGPT's decoder: vocabulary V, context T, width D, L blocks of H heads,
//       fused c_attn (q, k, v), causal attention, MLP 4D (c_fc / c_proj, GELU), ln_f and an
//       lm_head of its own (nanoGPT ties it to wte; a tied checkpoint stores both, equal).
//   The residual stream is left unpermuted unless the ARCH ends in ":shared" (`--residual
//   shared|identity`). Identity is the default by measurement: on two ViTs and two GPTs trained
//   from different seeds the lowest barrier of every method came with it for Sinkhorn (mid cost)
//   and STE, the best of all methods both times (docs/results.md, "Transformers"); weight and
//   activation matching did better with the shared stream on the ViT.
// Groups, per METHOD.md's two-level symmetry: the residual stream under :shared (one group
// shared by the embeddings, the class token, every LayerNorm and every block's writes); per layer
// the query/key heads and the value/output heads - h blocks of D/h units, linked so both move
// the heads alike, the units inside each head free (q and k share one inner order, v and the
// output projection's input another) - and the MLP's hidden units.
#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "common/error.h"
#include "common/parse.h"
#include "nn/architecture_internal.h"
#include "nn/family_registry.h"

namespace rebasin::nn {
namespace {

AxisTies tie(int group, std::int64_t inner = 1) {
  return group < 0 ? AxisTies{} : AxisTies{AxisTie{group, inner}};
}

// The names of one pre-norm block's tensors in a reference implementation.
struct BlockNames {
  std::string ln1, qkv_weight, qkv_bias, out, ln2, fc, proj;
};

struct BlockGroups {
  int qk = -1, vo = -1, mlp = -1;
};

class Transformer : public Architecture {
 protected:
  Transformer(std::string name, ModelIO io, std::int64_t width, std::int64_t heads, std::int64_t mlp,
              double eps, bool causal, bool shared_stream)
      : Architecture(std::move(name), std::move(io)), d_(width), heads_(heads), mlp_(mlp), eps_(eps), causal_(causal) {
    if (shared_stream) stream_ = spec_.add_group("stream", width);
  }

  void add_layernorm_affine(const std::string& prefix) {
    spec_.add_ties(prefix + ".weight", {d_}, {tie(stream_)}, false, Init::Ones);
    spec_.add_ties(prefix + ".bias", {d_}, {tie(stream_)}, false, Init::Zeros);
  }

  void add_dense(const std::string& prefix, std::int64_t in, std::int64_t out, int in_group, int out_group) {
    spec_.add_ties(prefix + ".weight", {out, in}, {tie(out_group), tie(in_group)}, false, Init::Uniform, in);
    spec_.add_ties(prefix + ".bias", {out}, {tie(out_group)}, false, Init::Uniform, in);
  }

  void add_block(const std::string& label, const BlockNames& n) {
    BlockGroups g;
    g.qk = spec_.add_group(label + ".qk", d_, heads_);
    g.vo = spec_.add_group(label + ".vo", d_, heads_, g.qk);
    g.mlp = spec_.add_group(label + ".mlp", mlp_);
    add_layernorm_affine(n.ln1);
    // Fused q, k, v rows: each piece a tie at its offset.
    const AxisTies rows = {AxisTie{g.qk, 1, 0}, AxisTie{g.qk, 1, d_}, AxisTie{g.vo, 1, 2 * d_}};
    spec_.add_ties(n.qkv_weight, {3 * d_, d_}, {rows, tie(stream_)}, false, Init::Uniform, d_);
    spec_.add_ties(n.qkv_bias, {3 * d_}, {rows}, false, Init::Zeros);
    add_dense(n.out, d_, d_, g.vo, stream_);
    add_layernorm_affine(n.ln2);
    add_dense(n.fc, d_, mlp_, stream_, g.mlp);
    add_dense(n.proj, mlp_, d_, g.mlp, stream_);
    blocks_.push_back(n);
    groups_.push_back(g);
  }

  // Reports a sequence's units (N x T x units) as N x units x T, where activation matching
  // expects them.
  static void report(const ActivationHook* hook, int group, const at::Tensor& x) {
    if (hook && group >= 0) (*hook)(group, x.transpose(1, 2));
  }

  at::Tensor norm(const Params& p, const std::string& prefix, const at::Tensor& x) const {
    return at::layer_norm(x, {d_}, p(prefix + ".weight"), p(prefix + ".bias"), eps_);
  }

  // Multi-head self-attention over x (N x T x D) with fused q, k, v rows.
  at::Tensor attention(const Params& p, const BlockNames& n, const BlockGroups& g, const at::Tensor& x,
                       const ActivationHook* hook) const {
    const std::int64_t N = x.size(0), T = x.size(1), dh = d_ / heads_;
    const auto qkv = at::linear(x, p(n.qkv_weight), p(n.qkv_bias)).chunk(3, -1);
    report(hook, g.qk, qkv[0]);
    report(hook, g.qk, qkv[1]);
    report(hook, g.vo, qkv[2]);
    auto split = [&](const at::Tensor& t) { return t.reshape({N, T, heads_, dh}).transpose(1, 2); };
    at::Tensor att = at::matmul(split(qkv[0]), split(qkv[1]).transpose(-2, -1)) / std::sqrt(static_cast<double>(dh));
    if (causal_) {
      const at::Tensor future = at::ones({T, T}, x.options().dtype(at::kBool)).triu(1);
      att = att.masked_fill(future, -std::numeric_limits<double>::infinity());
    }
    const at::Tensor y = at::matmul(at::softmax(att, -1), split(qkv[2])).transpose(1, 2).reshape({N, T, d_});
    return at::linear(y, p(n.out + ".weight"), p(n.out + ".bias"));
  }

  at::Tensor blocks(const Params& p, at::Tensor h, const ActivationHook* hook) const {
    for (std::size_t l = 0; l < blocks_.size(); ++l) {
      const BlockNames& n = blocks_[l];
      h = h + attention(p, n, groups_[l], norm(p, n.ln1, h), hook);
      report(hook, stream_, h);
      at::Tensor m = at::gelu(at::linear(norm(p, n.ln2, h), p(n.fc + ".weight"), p(n.fc + ".bias")));
      report(hook, groups_[l].mlp, m);
      h = h + at::linear(m, p(n.proj + ".weight"), p(n.proj + ".bias"));
      report(hook, stream_, h);
    }
    return h;
  }

  std::int64_t d_, heads_, mlp_;
  double eps_;
  bool causal_;
  int stream_ = -1;
  std::vector<BlockNames> blocks_;
  std::vector<BlockGroups> groups_;
};

class VisionTransformer : public Transformer {
 public:
  VisionTransformer(std::string name, const ModelIO& io, std::int64_t patch, std::int64_t width, std::int64_t layers,
                    std::int64_t heads, std::int64_t mlp, bool shared_stream)
      : Transformer(std::move(name), io, width, heads, mlp, 1e-6, false, shared_stream), patch_(patch) {
    require(io.input_shape.size() == 3, "architecture '" + name_ + "' needs image inputs (C x H x W)");
    const std::int64_t c = io.input_shape[0], rows = io.input_shape[1], cols = io.input_shape[2];
    require(rows % patch == 0 && cols % patch == 0,
            "architecture '" + name_ + "': images of " + std::to_string(rows) + "x" + std::to_string(cols) +
                " do not split into patches of " + std::to_string(patch));
    const std::int64_t tokens = rows / patch * cols / patch + 1;
    // torchvision's order: class_token, conv_proj, encoder (pos_embedding, layers, ln), heads.
    // Position embedding and class token start as torchvision's N(0, 0.02) roughly does:
    // U(-0.02, 0.02) (fan_in 2500).
    spec_.add_ties("class_token", {1, 1, width}, {{}, {}, tie(stream_)}, false, Init::Zeros);
    spec_.add_ties("conv_proj.weight", {width, c, patch, patch}, {tie(stream_)}, false, Init::Uniform, c * patch * patch);
    spec_.add_ties("conv_proj.bias", {width}, {tie(stream_)}, false, Init::Uniform, c * patch * patch);
    spec_.add_ties("encoder.pos_embedding", {1, tokens, width}, {{}, {}, tie(stream_)}, false, Init::Uniform, 2500);
    for (std::int64_t l = 0; l < layers; ++l) {
      const std::string pre = "encoder.layers.encoder_layer_" + std::to_string(l) + ".";
      add_block("layer" + std::to_string(l), {pre + "ln_1", pre + "self_attention.in_proj_weight",
                                              pre + "self_attention.in_proj_bias", pre + "self_attention.out_proj",
                                              pre + "ln_2", pre + "mlp.0", pre + "mlp.3"});
    }
    add_layernorm_affine("encoder.ln");
    add_dense("heads.head", width, io.outputs, stream_, -1);
    spec_.validate();
  }

 protected:
  at::Tensor run(const Params& p, const at::Tensor& x, bool, const ActivationHook* hook) const override {
    const std::int64_t n = x.size(0);
    at::Tensor h = at::conv2d(x, p("conv_proj.weight"), p("conv_proj.bias"), {patch_, patch_});
    h = h.reshape({n, d_, -1}).transpose(1, 2);
    h = at::cat({p("class_token").expand({n, -1, -1}), h}, 1) + p("encoder.pos_embedding");
    h = norm(p, "encoder.ln", blocks(p, h, hook));
    return at::linear(h.select(1, 0), p("heads.head.weight"), p("heads.head.bias"));
  }

 private:
  std::int64_t patch_;
};

class Gpt : public Transformer {
 public:
  Gpt(std::string name, std::int64_t vocab, std::int64_t context, std::int64_t width, std::int64_t layers,
      std::int64_t heads, bool shared_stream)
      : Transformer(std::move(name), ModelIO{{context}, vocab}, width, heads, 4 * width, 1e-5, true, shared_stream) {
    spec_.add_ties("transformer.wte.weight", {vocab, width}, {{}, tie(stream_)}, false, Init::Uniform, 2500);
    spec_.add_ties("transformer.wpe.weight", {context, width}, {{}, tie(stream_)}, false, Init::Uniform, 2500);
    for (std::int64_t l = 0; l < layers; ++l) {
      const std::string pre = "transformer.h." + std::to_string(l) + ".";
      add_block("h." + std::to_string(l), {pre + "ln_1", pre + "attn.c_attn.weight", pre + "attn.c_attn.bias",
                                           pre + "attn.c_proj", pre + "ln_2", pre + "mlp.c_fc", pre + "mlp.c_proj"});
    }
    add_layernorm_affine("transformer.ln_f");
    spec_.add_ties("lm_head.weight", {vocab, width}, {{}, tie(stream_)}, false, Init::Uniform, width);
    spec_.validate();
  }

 protected:
  // Token ids (N x T, any dtype holding integers) to next-token logits (N x T x V).
  at::Tensor run(const Params& p, const at::Tensor& x, bool, const ActivationHook* hook) const override {
    const at::Tensor ids = x.to(at::kLong);
    const std::int64_t t = ids.size(1);
    at::Tensor h = at::embedding(p("transformer.wte.weight"), ids) +
                   p("transformer.wpe.weight").narrow(0, 0, t);
    h = norm(p, "transformer.ln_f", blocks(p, h, hook));
    return at::linear(h, p("lm_head.weight"));
  }
};

const char* kGrammar = "vit:PATCH,WIDTH,LAYERS,HEADS,MLP or gpt:VOCAB,CONTEXT,WIDTH,LAYERS,HEADS, optionally :shared";

}  // namespace

std::unique_ptr<Architecture> make_transformer(const std::string& arch, const ModelIO& io) {
  const bool vit = arch.rfind("vit:", 0) == 0;
  std::string rest = arch.substr(4);
  bool shared = false;
  if (const auto colon = rest.find(':'); colon != std::string::npos) {
    const std::string opt = rest.substr(colon + 1);
    require(opt == "shared" || opt == "identity",
            "architecture '" + arch + "': unknown option '" + opt + "' (" + kGrammar + ")");
    shared = opt == "shared";
    rest.resize(colon);
  }
  std::vector<std::int64_t> v;
  std::stringstream ss(rest);
  for (std::string item; std::getline(ss, item, ',');) {
    const auto n = parse_int(item, 1, 1 << 20);
    require(n.has_value(), "architecture '" + arch + "': '" + item + "' is not a positive integer (" + kGrammar + ")");
    v.push_back(*n);
  }
  require(v.size() == 5, "architecture '" + arch + "': expected five numbers (" + kGrammar + ")");
  const std::int64_t width = v[vit ? 1 : 2], heads = v[vit ? 3 : 4];
  require(width % heads == 0, "architecture '" + arch + "': the width " + std::to_string(width) +
                                  " does not split into " + std::to_string(heads) + " heads");
  std::string canonical = arch.substr(0, 4) + rest + (shared ? ":shared" : "");
  if (vit) return std::make_unique<VisionTransformer>(canonical, io, v[0], v[1], v[2], v[3], v[4], shared);
  return std::make_unique<Gpt>(canonical, v[0], v[1], v[2], v[3], v[4], shared);
}

std::string with_residual(const std::string& arch, const std::string& mode) {
  require(mode == "shared" || mode == "identity", "--residual must be shared or identity, not '" + mode + "'");
  const bool transformer = arch.rfind("vit:", 0) == 0 || arch.rfind("gpt:", 0) == 0;
  require(transformer, "--residual applies to the built-in transformers (vit:..., gpt:...), not '" + arch + "'");
  const std::string base = arch.substr(0, arch.find(':', 4));
  return mode == "shared" ? base + ":shared" : base;
}

// The transformer family (family_registry.h).
bool transformer_owns(const std::string& arch) { return arch.rfind("vit:", 0) == 0 || arch.rfind("gpt:", 0) == 0; }

// A transformer under torchvision's (ViT) or nanoGPT's names: its ARCH string with the number of
// heads left as H - the one thing the tensors cannot tell.
std::string transformer_incomplete(const CheckpointView& c) {
  auto layers = [&](const std::string& prefix, const std::string& suffix) {
    std::int64_t n = 0;
    while (c.find(prefix + std::to_string(n) + suffix)) ++n;
    return n;
  };
  std::string arch, names;
  const at::Tensor* conv = c.find("conv_proj.weight");
  const at::Tensor* fc = c.find("encoder.layers.encoder_layer_0.mlp.0.weight");
  const at::Tensor* wte = c.find("transformer.wte.weight");
  const at::Tensor* wpe = c.find("transformer.wpe.weight");
  if (conv && fc && conv->dim() == 4 && fc->dim() == 2) {
    arch = "vit:" + std::to_string(conv->size(2)) + "," + std::to_string(conv->size(0)) + "," +
           std::to_string(layers("encoder.layers.encoder_layer_", ".ln_1.weight")) + ",H," + std::to_string(fc->size(0));
    names = "torchvision's ViT";
  } else if (wte && wpe && wte->dim() == 2 && wpe->dim() == 2) {
    arch = "gpt:" + std::to_string(wte->size(0)) + "," + std::to_string(wpe->size(0)) + "," +
           std::to_string(wte->size(1)) + "," + std::to_string(layers("transformer.h.", ".ln_1.weight")) + ",H";
    names = "nanoGPT's";
  }
  if (arch.empty()) return "";
  return "--arch auto: a transformer under " + names + " names does not store its number of heads; pass --arch " + arch +
         " with H its heads";
}

// A ViT says its channels (patch embedding), square image side (patches = position embeddings
// but the class token's) and classes (its head).
std::vector<ModelIO> transformer_sizes(const std::string& arch, const CheckpointView& c) {
  const at::Tensor* conv = c.find("conv_proj.weight");
  const at::Tensor* pos = c.find("encoder.pos_embedding");
  const at::Tensor* head = c.find("heads.head.bias");
  if (arch.rfind("vit:", 0) != 0 || !conv || !pos || !head || conv->dim() != 4 || pos->dim() != 3 || head->dim() != 1)
    return {};
  const auto side = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(pos->size(1) - 1))));
  if (side * side != pos->size(1) - 1) return {};
  return {ModelIO{{conv->size(1), side * conv->size(2), side * conv->size(3)}, head->size(0)}};
}

}  // namespace rebasin::nn
