#include "nn/mapping.h"

#include "nn/graph/graph_architecture.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <unordered_map>

#include "common/error.h"

namespace rebasin::nn {
namespace {

std::string shape_text(at::IntArrayRef s) {
  std::string t = "[";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

bool is_counter(const std::string& name) {
  const std::string suffix = "num_batches_tracked";
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The checkpoint's names without a wrapper prefix every one of them carries: DDP's "module.",
// Lightning's "model.", torch.compile's "_orig_mod." (nanoGPT's compiled checkpoints); also
// nested, "model.module.".
std::vector<std::string> unwrapped_names(const NamedTensors& stored) {
  std::vector<std::string> names;
  for (const auto& t : stored) names.push_back(t.name);
  for (bool again = !names.empty(); again;) {
    again = false;
    for (const std::string prefix : {"module.", "model.", "_orig_mod."}) {
      bool all = true;
      for (const auto& n : names) all = all && n.size() > prefix.size() && n.compare(0, prefix.size(), prefix) == 0;
      if (!all) continue;
      for (auto& n : names) n = n.substr(prefix.size());
      again = true;
    }
  }
  return names;
}

enum class Fit { Yes, No, NotNamed };

// Maps by name: every spec entry (a BatchNorm counter may be absent) found under its own name
// once the wrapper prefix is stripped. NotNamed when some name is absent (the checkpoint uses
// other names: map by order instead); No, with the reason in *why, when the names are there
// but a shape differs or a tensor is left over.
Fit try_map_by_name(const NamedTensors& stored, const std::vector<std::string>& names,
                    const Architecture& arch, MappedModel* m, std::string* why) {
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t k = 0; k < names.size(); ++k) index.emplace(names[k], k);
  for (const auto& ps : arch.spec().params())
    if (!index.count(ps.name) && !is_counter(ps.name)) return Fit::NotNamed;
  std::vector<bool> used(stored.size(), false);
  for (const auto& ps : arch.spec().params()) {
    auto it = index.find(ps.name);
    if (it == index.end()) {
      m->params.push_back({ps.name, at::zeros({}, at::kLong)});  // absent in old checkpoints
      m->stored_names.push_back("");
      continue;
    }
    const NamedTensor& t = stored[it->second];
    if (t.tensor.sizes().vec() != ps.shape) {
      *why = arch.name() + ": tensor '" + t.name + "' " + shape_text(t.tensor.sizes()) + " does not fit '" +
             ps.name + "' " + shape_text(ps.shape);
      return Fit::No;
    }
    used[it->second] = true;
    at::Tensor v = t.tensor;
    if (at::isFloatingType(v.scalar_type())) v = v.to(at::kFloat);
    m->params.push_back({ps.name, v});
    m->stored_names.push_back(t.name);
  }
  for (std::size_t k = 0; k < stored.size(); ++k)
    if (!used[k]) {
      *why = arch.name() + " has no place for tensor '" + stored[k].name + "' " +
             shape_text(stored[k].tensor.sizes());
      return Fit::No;
    }
  return Fit::Yes;
}

// Maps in order; on failure returns false with the reason in *why.
bool try_map_by_order(const NamedTensors& stored, const Architecture& arch, MappedModel* out, std::string* why) {
  const auto& specs = arch.spec().params();
  MappedModel& m = *out;
  std::size_t k = 0;
  for (const auto& ps : specs) {
    // A BatchNorm counter is a 0-d integer; checkpoints from old PyTorch lack it.
    if (is_counter(ps.name) && (k >= stored.size() || stored[k].tensor.dim() != 0)) {
      m.params.push_back({ps.name, at::zeros({}, at::kLong)});  // absent in old checkpoints
      m.stored_names.push_back("");
      continue;
    }
    if (k >= stored.size()) {
      *why = arch.name() + " expects '" + ps.name + "' " + shape_text(ps.shape) +
             " but the checkpoint has only " + std::to_string(stored.size()) + " tensors";
      return false;
    }
    const NamedTensor& t = stored[k++];
    if (t.tensor.sizes().vec() != ps.shape) {
      *why = arch.name() + ": tensor '" + t.name + "' " + shape_text(t.tensor.sizes()) +
             " does not fit '" + ps.name + "' " + shape_text(ps.shape);
      return false;
    }
    at::Tensor v = t.tensor;
    if (at::isFloatingType(v.scalar_type())) v = v.to(at::kFloat);
    m.params.push_back({ps.name, v});
    m.stored_names.push_back(t.name);
  }
  if (k != stored.size()) {
    *why = arch.name() + " has no place for tensor '" + stored[k].name + "' " +
           shape_text(stored[k].tensor.sizes()) + " (and " + std::to_string(stored.size() - k - 1) +
           " more)";
    return false;
  }
  return true;
}

// By name where the checkpoint uses the architecture's names, else by order. *by_name tells
// which.
bool try_map(const NamedTensors& stored, const std::vector<std::string>& names,
             std::unique_ptr<Architecture> arch, MappedModel* out, std::string* why, bool* by_name) {
  MappedModel m;
  const Fit named = try_map_by_name(stored, names, *arch, &m, why);
  *by_name = named != Fit::NotNamed;
  if (named == Fit::No) return false;
  if (named == Fit::NotNamed) {
    m = MappedModel();
    if (!try_map_by_order(stored, *arch, &m, why)) return false;
  }
  m.arch = std::move(arch);
  *out = std::move(m);
  return true;
}

const at::Tensor* find_named(const NamedTensors& s, const std::vector<std::string>& names, const std::string& name) {
  for (std::size_t k = 0; k < names.size(); ++k)
    if (names[k] == name) return &s[k].tensor;
  return nullptr;
}

// Candidate ARCH strings (with their IO) suggested by the shapes.
// io: the data's image size, used by the torchvision families (which take any size); the CIFAR
// built-ins assume 32x32 as before.
std::vector<std::pair<std::string, ModelIO>> candidates(const NamedTensors& s, const std::vector<std::string>& names,
                                                        const ModelIO& io) {
  std::vector<std::pair<std::string, ModelIO>> out;
  if (s.empty()) return out;
  // MLP: weights (2-D) and biases (1-D) alternating, widths chaining.
  bool chain = s.size() % 2 == 0;
  std::string mlp = "mlp:";
  for (std::size_t i = 0; chain && i < s.size(); i += 2) {
    const auto& w = s[i].tensor;
    const auto& b = s[i + 1].tensor;
    chain = w.dim() == 2 && b.dim() == 1 && b.size(0) == w.size(0) &&
            (i == 0 || w.size(1) == s[i - 2].tensor.size(0));
    if (chain) mlp += (i == 0 ? std::to_string(w.size(1)) : "") + "," + std::to_string(w.size(0));
  }
  if (chain && s.size() >= 2) out.push_back({mlp, ModelIO{}});
  // torchvision's families: the first conv and the classifier by their torchvision names where
  // the checkpoint has them (any order, e.g. a sorted safetensors file), else first and last.
  const std::int64_t side_h = io.input_shape.size() == 3 ? io.input_shape[1] : 224;
  const std::int64_t side_w = io.input_shape.size() == 3 ? io.input_shape[2] : 224;
  {
    const at::Tensor* conv = find_named(s, names, "conv1.weight");
    const at::Tensor* fc = find_named(s, names, "fc.bias");
    if (!conv) conv = &s.front().tensor;
    if (!fc) fc = &s.back().tensor;
    if (conv->dim() == 4 && conv->size(2) == 7 && conv->size(3) == 7 && fc->dim() == 1) {
      const std::string w = conv->size(0) == 64 ? "" : ":w" + std::to_string(conv->size(0));
      const ModelIO tio{{conv->size(1), side_h, side_w}, fc->size(0)};
      for (const char* d : {"18", "34", "50", "101", "152"}) out.push_back({std::string("tv:resnet") + d + w, tio});
    }
  }
  {
    const at::Tensor* conv = find_named(s, names, "features.0.weight");
    const at::Tensor* head = find_named(s, names, "classifier.6.bias");
    const at::Tensor* hidden = find_named(s, names, "classifier.3.bias");
    if (!conv) conv = &s.front().tensor;
    if (!head) head = &s.back().tensor;
    if (!hidden && s.size() >= 2) hidden = &s[s.size() - 2].tensor;  // the last weight: classes x hidden
    const std::int64_t h = !hidden ? 0 : hidden->dim() == 1 ? hidden->size(0) : hidden->dim() == 2 ? hidden->size(1) : 0;
    if (conv->dim() == 4 && conv->size(2) == 3 && conv->size(3) == 3 && head->dim() == 1 && h > 0) {
      const std::string opts = (conv->size(0) == 64 ? "" : ":w" + std::to_string(conv->size(0))) +
                               (h == 4096 ? "" : ":h" + std::to_string(h));
      const ModelIO tio{{conv->size(1), std::max<std::int64_t>(side_h, 32), std::max<std::int64_t>(side_w, 32)},
                        head->size(0)};
      for (const char* d : {"11", "13", "16", "19"})
        for (const char* bn : {"", "_bn"}) out.push_back({std::string("tv:vgg") + d + bn + opts, tio});
    }
  }
  // Convolutional nets: input channels from the first conv, outputs from the last tensor.
  const auto& first = s.front().tensor;
  const auto& last = s.back().tensor;
  if (first.dim() != 4 || last.dim() != 1) return out;
  const std::int64_t cin = first.size(1), outputs = last.size(0);
  const ModelIO cifar{{cin, 32, 32}, outputs};
  if (first.size(0) % 16 == 0) {
    const std::string k = std::to_string(first.size(0) / 16);
    out.push_back({"resnet20x" + k, cifar});
    out.push_back({"resnet20x" + k + ":ln", cifar});
  }
  out.push_back({"resnet18", cifar});
  // VGG: the classifier's input is C * H * W of the last feature map; five pools.
  for (const char* v : {"vgg11", "vgg13", "vgg16", "vgg19"})
    for (const char* bn : {"", ":bn"})
      for (std::int64_t side : {32, 64, 224})
        out.push_back({std::string(v) + bn, ModelIO{{cin, side, side}, outputs}});
  return out;
}

// A transformer under torchvision's (ViT) or nanoGPT's names: its ARCH string with the number
// of heads left as H - the one thing the tensors cannot tell - or "" for anything else.
std::string transformer_arch(const NamedTensors& s, const std::vector<std::string>& names) {
  auto layers = [&](const std::string& prefix, const std::string& suffix) {
    std::int64_t n = 0;
    while (find_named(s, names, prefix + std::to_string(n) + suffix)) ++n;
    return n;
  };
  const at::Tensor* conv = find_named(s, names, "conv_proj.weight");
  const at::Tensor* fc = find_named(s, names, "encoder.layers.encoder_layer_0.mlp.0.weight");
  if (conv && fc && conv->dim() == 4 && fc->dim() == 2)
    return "vit:" + std::to_string(conv->size(2)) + "," + std::to_string(conv->size(0)) + "," +
           std::to_string(layers("encoder.layers.encoder_layer_", ".ln_1.weight")) + ",H," + std::to_string(fc->size(0));
  const at::Tensor* wte = find_named(s, names, "transformer.wte.weight");
  const at::Tensor* wpe = find_named(s, names, "transformer.wpe.weight");
  if (wte && wpe && wte->dim() == 2 && wpe->dim() == 2)
    return "gpt:" + std::to_string(wte->size(0)) + "," + std::to_string(wpe->size(0)) + "," +
           std::to_string(wte->size(1)) + "," + std::to_string(layers("transformer.h.", ".ln_1.weight")) + ",H";
  return "";
}

}  // namespace

MappedModel map_checkpoint(const NamedTensors& stored, const std::string& arch, const ModelIO& io) {
  require(!stored.empty(), "the checkpoint holds no tensors");
  if (arch != "auto" && graph::is_torchscript_file(arch)) {
    // A TorchScript model: the checkpoint's tensors are matched by name, not order.
    MappedModel m;
    m.arch = graph::make_graph_architecture(arch, io);
    m.params = graph::map_by_name(stored, *m.arch, &m.stored_names);
    return m;
  }
  const std::vector<std::string> names = unwrapped_names(stored);
  bool by_name = false;
  if (arch != "auto") {
    MappedModel m;
    std::string why;
    // The IO given may not suit the architecture (a ViT's patches and the default 32x32):
    // then the checkpoint's own shapes below may.
    std::unique_ptr<Architecture> given;
    try {
      given = make_architecture(arch, io);
    } catch (const UserError& e) {
      why = e.what();
    }
    if (given && try_map(stored, names, std::move(given), &m, &why, &by_name)) return m;
    // Without data (the default IO: 3 x 32 x 32, 10 classes) a convolutional checkpoint says its
    // input channels and classes itself, and its classifier the image size, among the usual
    // sizes; data of another shape is then refused where it is checked against the model.
    const auto& first = stored.front().tensor;
    const auto& last = stored.back().tensor;
    const bool default_io = io.input_shape == ModelIO{}.input_shape && io.outputs == ModelIO{}.outputs;
    // A ViT says its channels (patch embedding), square image side (patches = position
    // embeddings but the class token's) and classes (its head).
    const at::Tensor* conv = find_named(stored, names, "conv_proj.weight");
    const at::Tensor* pos = find_named(stored, names, "encoder.pos_embedding");
    const at::Tensor* head = find_named(stored, names, "heads.head.bias");
    if (default_io && arch.rfind("vit:", 0) == 0 && conv && pos && head && conv->dim() == 4 && pos->dim() == 3 &&
        head->dim() == 1) {
      const auto side = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(pos->size(1) - 1))));
      std::string ignored;
      if (side * side == pos->size(1) - 1 &&
          try_map(stored, names, make_architecture(arch, ModelIO{{conv->size(1), side * conv->size(2), side * conv->size(3)}, head->size(0)}),
                  &m, &ignored, &by_name))
        return m;
    }
    if (default_io && first.dim() == 4 && last.dim() == 1)
      for (std::int64_t side : {28, 32, 64, 224, 16}) {
        std::unique_ptr<Architecture> guess;
        try {
          guess = make_architecture(arch, ModelIO{{first.size(1), side, side}, last.size(0)});
        } catch (const UserError&) {
          continue;  // pools that do not fit this size
        }
        std::string ignored;
        if (try_map(stored, names, std::move(guess), &m, &ignored, &by_name)) return m;
      }
    throw UserError(why);
  }
  if (const std::string t = transformer_arch(stored, names); !t.empty())
    throw UserError(std::string("--arch auto: a transformer under ") + (t[0] == 'v' ? "torchvision's ViT" : "nanoGPT's") +
                    " names does not store its number of heads; pass --arch " + t + " with H its heads");
  // Architectures whose names the checkpoint uses win over those that fit only by order.
  std::vector<MappedModel> fits, named_fits;
  for (auto& [name, cio] : candidates(stored, names, io)) {
    MappedModel m;
    std::string why;
    std::unique_ptr<Architecture> candidate;
    try {
      candidate = make_architecture(name, cio);
    } catch (const UserError&) {
      continue;  // e.g. a VGG whose pools do not fit the data's image size
    }
    if (try_map(stored, names, std::move(candidate), &m, &why, &by_name))
      (by_name ? named_fits : fits).push_back(std::move(m));
  }
  if (!named_fits.empty()) fits = std::move(named_fits);
  if (fits.size() == 1) return std::move(fits.front());
  std::ostringstream found;
  found << stored.size() << " tensors: ";
  for (std::size_t i = 0; i < stored.size() && i < 4; ++i)
    found << (i ? ", " : "") << stored[i].name << " " << shape_text(stored[i].tensor.sizes());
  if (stored.size() > 4) found << ", ...";
  if (fits.empty())
    throw UserError("--arch auto: no built-in architecture fits (" + found.str() +
                    "); pass --arch explicitly");
  std::string fitting;
  for (const auto& f : fits) fitting += (fitting.empty() ? "" : ", ") + f.arch->name();
  throw UserError("--arch auto: several architectures fit (" + fitting + "); pass --arch explicitly");
}

std::string detect_architecture(const NamedTensors& stored) {
  try {
    return map_checkpoint(stored, "auto").arch->name();
  } catch (const UserError&) {
    return "";
  }
}

void check_same_layout(const NamedTensors& a, const NamedTensors& b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    require(a[i].name == b[i].name && a[i].tensor.sizes() == b[i].tensor.sizes(),
            "models A and B differ at tensor " + std::to_string(i) + ": '" + a[i].name + "' " +
                shape_text(a[i].tensor.sizes()) + " vs '" + b[i].name + "' " +
                shape_text(b[i].tensor.sizes()));
  }
  require(a.size() == b.size(), "models A and B differ: " + std::to_string(a.size()) + " vs " +
                                    std::to_string(b.size()) + " tensors");
}

}  // namespace rebasin::nn
