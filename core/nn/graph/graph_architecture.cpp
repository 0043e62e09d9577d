#include "nn/graph/graph_architecture.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "common/error.h"
#include "io/torch_archive.h"
#include "nn/architecture_internal.h"
#include "nn/graph/derive.h"
#include "nn/graph/program.h"

namespace rebasin::nn::graph {

namespace jit = torch::jit;

namespace {

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string t;
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? "x" : "") + std::to_string(s[i]);
  return t;
}

// Input shapes worth trying, most likely first: what the data gives, then what the first layer
// that reads the input says.
std::vector<InputSpec> input_candidates(const Program& p, const ModelIO& io) {
  std::vector<InputSpec> out;
  auto add = [&](std::vector<std::int64_t> shape, at::ScalarType t = at::kFloat, std::int64_t vocab = 0) {
    for (const InputSpec& s : out)
      if (s.shape == shape && s.dtype == t) return;
    out.push_back({std::move(shape), t, vocab});
  };
  const jit::Graph& g = *p.graph(false);
  std::map<const jit::Value*, at::Tensor> state;
  for (std::size_t i = 0; i < p.reads().size(); ++i) state[g.inputs()[i + 1]] = p.state()[i].tensor;
  // Follows the input through the ops that keep its layout to the first one that says more.
  const jit::Value* x = g.inputs()[0];
  for (int hop = 0; hop < 8; ++hop) {
    const jit::Node* use = nullptr;
    for (const jit::Use& u : x->uses()) {
      // Shape queries say nothing about the layout.
      const std::string k = u.user->kind().toQualString();
      if (k == "aten::size" || k == "aten::dim" || k == "aten::len" || k == "prim::device" || k == "prim::dtype")
        continue;
      if (!use || u.user->isBefore(use)) use = u.user;
    }
    if (!use) break;
    const std::string kind = use->kind().toQualString();
    const auto weight = [&](std::size_t i) -> at::Tensor {
      if (i >= use->inputs().size()) return {};
      const auto it = state.find(use->input(i));
      return it == state.end() ? at::Tensor() : it->second;
    };
    if (kind == "aten::embedding" && weight(0).defined()) {
      const std::int64_t vocab = weight(0).size(0);
      for (std::int64_t t : {8, 16, 32, 64, 128, 4, 2, 1}) add({t}, at::kLong, vocab);
      break;
    }
    if ((kind == "aten::_convolution" || kind.rfind("aten::conv", 0) == 0) && weight(1).defined()) {
      const at::Tensor w = weight(1);
      const std::int64_t spatial = w.dim() - 2;
      if (io.input_shape.size() == static_cast<std::size_t>(spatial + 1) && io.input_shape[0] == w.size(1))
        add(io.input_shape);
      for (std::int64_t s : {32, 28, 64, 224, 16, 96, 128, 256}) {
        std::vector<std::int64_t> shape = {w.size(1)};
        for (std::int64_t k = 0; k < spatial; ++k) shape.push_back(s);
        add(shape);
      }
      break;
    }
    if ((kind == "aten::linear" && weight(1).defined()) || (kind == "aten::matmul" && weight(1).defined())) {
      const at::Tensor w = weight(1);
      add({kind == "aten::linear" ? w.size(1) : w.size(0)});
      break;
    }
    if (kind == "aten::flatten" || kind == "aten::view" || kind == "aten::reshape" || kind == "aten::to" ||
        kind == "aten::contiguous" || kind == "aten::float") {
      if (use->outputs().size() != 1) break;
      x = use->output();
      continue;
    }
    break;
  }
  add(io.input_shape);
  for (const auto& s : std::vector<std::vector<std::int64_t>>{{1, 28, 28}, {784}, {3, 32, 32}, {3, 224, 224}}) add(s);
  return out;
}

class GraphArchitecture final : public Architecture {
 public:
  GraphArchitecture(const std::string& path, const ModelIO& io) : Architecture(path, io) {
    program_ = std::make_unique<Program>(Program::load(path));
    std::string tried, last;
    bool ok = false;
    for (const InputSpec& in : input_candidates(*program_, io)) {
      try {
        program_->specialise(in);
        ok = true;
        break;
      } catch (const UserError& e) {
        tried += (tried.empty() ? "" : ", ") + shape_text(in.shape) + (in.dtype == at::kLong ? " ids" : "");
        last = e.what();
      }
    }
    require(ok, path + ": found no input shape the model runs on (tried " + tried + "; " + last + ")");
    const InputSpec& in = program_->input();
    const at::Tensor y = program_->run(false, in.sample(2, 0), program_->own_tensors()).front();
    io_.input_shape = in.shape;
    io_.outputs = y.dim() >= 1 ? y.size(-1) : 1;
    Derivation d = derive(*program_);
    spec_ = std::move(d.spec);
    sites_ = std::move(d.sites);
    report_.file = path;
    report_.input_shape = in.shape;
    report_.token_input = in.dtype == at::kLong;
    report_.vocab = in.vocab;
    report_.dropped = std::move(d.dropped);
    report_.constant_buffers = program_->constant_buffers();
    report_.seconds = d.seconds;
  }

  NamedTensors init(std::uint64_t) const override {
    NamedTensors out;
    for (const auto& [name, t] : program_->state())
      out.push_back({name, at::isFloatingType(t.scalar_type()) ? t.to(at::kFloat).clone() : t.clone()});
    return out;
  }

  const GraphReport& report() const { return report_; }

 protected:
  at::Tensor run(const Params& p, const at::Tensor& x, bool train, const ActivationHook* hook) const override {
    std::vector<at::Tensor> tensors;
    tensors.reserve(program_->reads().size());
    for (const std::string& name : program_->reads()) tensors.push_back(p(name));
    const at::Tensor input = report_.token_input ? x.to(at::kLong) : x;
    if (!hook || train) return program_->run(train, input, tensors).front();
    std::vector<const jit::Value*> extra;
    std::vector<int> group_of;
    for (std::size_t g = 0; g < sites_.size(); ++g)
      if (sites_[g].value) {
        extra.push_back(sites_[g].value);
        group_of.push_back(static_cast<int>(g));
      }
    const std::vector<at::Tensor> out = program_->run_with(extra, input, tensors);
    for (std::size_t k = 0; k < group_of.size(); ++k) {
      const ActivationSite& s = sites_[group_of[k]];
      at::Tensor a = out[k + 1];
      // Units to axis 1 (heads then dims, flattened): N x units x rest, as the built-ins report.
      std::vector<std::int64_t> order = {s.batch_axis};
      for (std::int64_t u : s.unit_axes) order.push_back(u);
      for (std::int64_t d = 0; d < a.dim(); ++d)
        if (d != s.batch_axis && std::find(s.unit_axes.begin(), s.unit_axes.end(), d) == s.unit_axes.end())
          order.push_back(d);
      a = a.permute(order);
      if (s.unit_axes.size() == 2) a = a.flatten(1, 2);
      (*hook)(group_of[k], a.contiguous());
    }
    return out.front();
  }

 private:
  std::unique_ptr<Program> program_;
  std::vector<ActivationSite> sites_;
  GraphReport report_;
};

}  // namespace

bool is_torchscript_file(const std::string& path) {
  std::error_code ec;
  if (path.empty() || !std::filesystem::is_regular_file(path, ec)) return false;
  try {
    return io::is_torchscript(io::list_zip_records(path));
  } catch (const std::exception&) {
    return false;
  }
}

std::unique_ptr<Architecture> make_graph_architecture(const std::string& path, const ModelIO& io) {
  return std::make_unique<GraphArchitecture>(path, io);
}

const GraphReport* graph_report(const Architecture& arch) {
  const auto* g = dynamic_cast<const GraphArchitecture*>(&arch);
  return g ? &g->report() : nullptr;
}

bool is_constant_buffer(const Architecture& arch, const std::string& name) {
  const GraphReport* r = graph_report(arch);
  return r && std::find(r->constant_buffers.begin(), r->constant_buffers.end(), name) != r->constant_buffers.end();
}

NamedTensors map_by_name(const NamedTensors& stored, const Architecture& arch, std::vector<std::string>* stored_names) {
  std::map<std::string, const at::Tensor*> by_name;
  for (const auto& t : stored) by_name[t.name] = &t.tensor;
  // The prefix every stored name shares that makes them match (DDP's "module.", Lightning's
  // "model."), found from the first spec tensor.
  std::string prefix;
  const auto& params = arch.spec().params();
  if (!params.empty() && !by_name.count(params.front().name)) {
    for (const auto& t : stored) {
      const std::string& n = t.name;
      if (n.size() > params.front().name.size() &&
          n.compare(n.size() - params.front().name.size(), params.front().name.size(), params.front().name) == 0 &&
          n[n.size() - params.front().name.size() - 1] == '.') {
        prefix = n.substr(0, n.size() - params.front().name.size());
        break;
      }
    }
  }
  NamedTensors out, archive;
  if (stored_names) stored_names->clear();
  for (const ParamSpec& ps : params) {
    const auto it = by_name.find(prefix + ps.name);
    const bool counter = ps.name.size() >= 19 && ps.name.compare(ps.name.size() - 19, 19, "num_batches_tracked") == 0;
    if (it == by_name.end() && counter) {
      out.push_back({ps.name, at::zeros(ps.shape, at::kLong)});
      if (stored_names) stored_names->push_back("");
      continue;
    }
    if (it == by_name.end() && is_constant_buffer(arch, ps.name)) {
      // Not in the state dict (non-persistent, as RoPE's inv_freq): the archive's own value, and
      // nothing is written for it (stored name "").
      if (archive.empty()) archive = arch.init(0);
      const auto own = std::find_if(archive.begin(), archive.end(), [&](const NamedTensor& t) { return t.name == ps.name; });
      out.push_back({ps.name, own->tensor});
      if (stored_names) stored_names->push_back("");
      continue;
    }
    require(it != by_name.end(), "the checkpoint has no tensor '" + prefix + ps.name + "' (the model " + arch.name() +
                                     " reads it)");
    const at::Tensor& t = *it->second;
    require(t.sizes().vec() == ps.shape, "tensor '" + it->first + "' has shape " + shape_text(t.sizes().vec()) +
                                             " but the model " + arch.name() + " reads " + shape_text(ps.shape));
    out.push_back({ps.name, at::isFloatingType(t.scalar_type()) ? t.to(at::kFloat) : t});
    if (stored_names) stored_names->push_back(it->first);
  }
  return out;
}

}  // namespace rebasin::nn::graph

namespace rebasin::nn {

// The torchscript family (family_registry.h): a TorchScript file is its own architecture.
bool torchscript_owns(const std::string& arch) { return graph::is_torchscript_file(arch); }

std::unique_ptr<Architecture> make_torchscript(const std::string& arch, const ModelIO& io) {
  return graph::make_graph_architecture(arch, io);
}

}  // namespace rebasin::nn
