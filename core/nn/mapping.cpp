#include "nn/mapping.h"

#include "nn/graph/graph_architecture.h"

#include <ATen/ATen.h>

#include <cmath>
#include <sstream>

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

// Maps in order; on failure returns false with the reason in *why.
bool try_map(const NamedTensors& stored, std::unique_ptr<Architecture> arch, MappedModel* out,
             std::string* why) {
  const auto& specs = arch->spec().params();
  MappedModel m;
  std::size_t k = 0;
  for (const auto& ps : specs) {
    // A BatchNorm counter is a 0-d integer; checkpoints from old PyTorch lack it.
    if (is_counter(ps.name) && (k >= stored.size() || stored[k].tensor.dim() != 0)) {
      m.params.push_back({ps.name, at::zeros({}, at::kLong)});  // absent in old checkpoints
      m.stored_names.push_back("");
      continue;
    }
    if (k >= stored.size()) {
      *why = arch->name() + " expects '" + ps.name + "' " + shape_text(ps.shape) +
             " but the checkpoint has only " + std::to_string(stored.size()) + " tensors";
      return false;
    }
    const NamedTensor& t = stored[k++];
    if (t.tensor.sizes().vec() != ps.shape) {
      *why = arch->name() + ": tensor '" + t.name + "' " + shape_text(t.tensor.sizes()) +
             " does not fit '" + ps.name + "' " + shape_text(ps.shape);
      return false;
    }
    at::Tensor v = t.tensor;
    if (at::isFloatingType(v.scalar_type())) v = v.to(at::kFloat);
    m.params.push_back({ps.name, v});
    m.stored_names.push_back(t.name);
  }
  if (k != stored.size()) {
    *why = arch->name() + " has no place for tensor '" + stored[k].name + "' " +
           shape_text(stored[k].tensor.sizes()) + " (and " + std::to_string(stored.size() - k - 1) +
           " more)";
    return false;
  }
  m.arch = std::move(arch);
  *out = std::move(m);
  return true;
}

// Candidate ARCH strings (with their IO) suggested by the shapes.
std::vector<std::pair<std::string, ModelIO>> candidates(const NamedTensors& s) {
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
  if (arch != "auto") {
    MappedModel m;
    std::string why;
    if (!try_map(stored, make_architecture(arch, io), &m, &why)) throw UserError(why);
    return m;
  }
  std::vector<MappedModel> fits;
  for (auto& [name, cio] : candidates(stored)) {
    MappedModel m;
    std::string why;
    if (try_map(stored, make_architecture(name, cio), &m, &why)) fits.push_back(std::move(m));
  }
  if (fits.size() == 1) return std::move(fits.front());
  std::ostringstream found;
  found << stored.size() << " tensors: ";
  for (std::size_t i = 0; i < stored.size() && i < 4; ++i)
    found << (i ? ", " : "") << stored[i].name << " " << shape_text(stored[i].tensor.sizes());
  if (stored.size() > 4) found << ", ...";
  if (fits.empty())
    throw UserError("--arch auto: no built-in architecture fits (" + found.str() +
                    "); pass --arch explicitly");
  std::string names;
  for (const auto& f : fits) names += (names.empty() ? "" : ", ") + f.arch->name();
  throw UserError("--arch auto: several architectures fit (" + names + "); pass --arch explicitly");
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
