#include "nn/mapping.h"

#include "nn/family_registry.h"

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

}  // namespace

MappedModel map_checkpoint(const NamedTensors& stored, const std::string& arch, const ModelIO& io) {
  require(!stored.empty(), "the checkpoint holds no tensors");
  const ArchFamily* family = arch == "auto" ? nullptr : family_of(arch);
  if (family && family->bind) {
    // A family bound by name only (a TorchScript model): names, not order.
    MappedModel m;
    m.arch = family->make(arch, io);
    m.params = family->bind(stored, *m.arch, &m.stored_names);
    return m;
  }
  const std::vector<std::string> names = unwrapped_names(stored);
  const CheckpointView view{stored, names};
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
    // Without data (the default IO: 3 x 32 x 32, 10 classes) the checkpoint says its sizes
    // itself, as its family reads them (a convolutional net's channels and classes at the usual
    // image sides, a ViT's patches); data of another shape is then refused where it is checked.
    const bool default_io = io.input_shape == ModelIO{}.input_shape && io.outputs == ModelIO{}.outputs;
    if (default_io && family && family->sizes_from)
      for (const ModelIO& guess_io : family->sizes_from(arch, view)) {
        std::unique_ptr<Architecture> guess;
        try {
          guess = make_architecture(arch, guess_io);
        } catch (const UserError&) {
          continue;  // pools that do not fit this size
        }
        std::string ignored;
        if (try_map(stored, names, std::move(guess), &m, &ignored, &by_name)) return m;
      }
    throw UserError(why);
  }
  for (const ArchFamily& f : arch_families())
    if (f.incomplete)
      if (const std::string message = f.incomplete(view); !message.empty()) throw UserError(message);
  ArchCandidates candidates;
  for (const ArchFamily& f : arch_families())
    if (f.candidates) f.candidates(view, io, candidates);
  // Architectures whose names the checkpoint uses win over those that fit only by order.
  std::vector<MappedModel> fits, named_fits;
  for (auto& [name, cio] : candidates) {
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

NamedTensors bind_checkpoint(const NamedTensors& stored, const Architecture& arch, std::vector<std::string>* stored_names) {
  const ArchFamily* family = family_of(arch.name());
  if (family && family->bind) return family->bind(stored, arch, stored_names);
  MappedModel m = map_checkpoint(stored, arch.name(), arch.io());
  if (stored_names) *stored_names = std::move(m.stored_names);
  return std::move(m.params);
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
