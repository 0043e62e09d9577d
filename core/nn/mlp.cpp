// mlp:784,512,512,10[:relu|tanh|gelu] - fully connected layers fc1..fcK, one permutation group
// per hidden layer (its output units); input and output are never permuted.
#include <ATen/ATen.h>

#include <sstream>

#include "common/error.h"
#include "common/parse.h"
#include "nn/architecture_internal.h"
#include "nn/family_registry.h"

namespace rebasin::nn {
namespace {

class Mlp : public Architecture {
 public:
  Mlp(std::string name, std::vector<std::int64_t> widths, std::string activation)
      : Architecture(std::move(name), ModelIO{{widths.front()}, widths.back()}),
        widths_(std::move(widths)),
        activation_(std::move(activation)) {
    int prev = -1;
    for (std::size_t l = 0; l + 1 < widths_.size(); ++l) {
      const bool last = l + 2 == widths_.size();
      const int out = last ? -1 : spec_.add_group("fc" + std::to_string(l + 1), widths_[l + 1]);
      add_linear(spec_, "fc" + std::to_string(l + 1), widths_[l], widths_[l + 1], prev, out);
      prev = out;
    }
    spec_.validate();
  }
  bool reports_units() const override { return true; }

 protected:
  at::Tensor run(const Params& p, const at::Tensor& x, bool, const ActivationHook* hook) const override {
    at::Tensor h = x;
    for (std::size_t l = 0; l + 1 < widths_.size(); ++l) {
      const std::string prefix = "fc" + std::to_string(l + 1);
      h = at::linear(h, p(prefix + ".weight"), p(prefix + ".bias"));
      if (l + 2 < widths_.size()) {
        h = activate(p.units(prefix, static_cast<int>(l), h));
        if (hook) (*hook)(static_cast<int>(l), h);  // group l = fc(l+1)'s output units
      }
    }
    return h;
  }

 private:
  at::Tensor activate(const at::Tensor& h) const {
    if (activation_ == "tanh") return at::tanh(h);
    if (activation_ == "gelu") return at::gelu(h);
    return at::relu(h);
  }

  std::vector<std::int64_t> widths_;
  std::string activation_;
};

}  // namespace

std::unique_ptr<Architecture> make_mlp(const std::string& arch) {
  std::string rest = arch.substr(4), activation = "relu";
  const auto colon = rest.find(':');
  if (colon != std::string::npos) {
    activation = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    require(activation == "relu" || activation == "tanh" || activation == "gelu",
            "architecture '" + arch + "': activation must be relu, tanh or gelu");
  }
  std::vector<std::int64_t> widths;
  std::stringstream ss(rest);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto w = parse_int(item, 1, 1 << 24);
    require(w.has_value(), "architecture '" + arch + "': width '" + item + "' is not a positive integer");
    widths.push_back(*w);
  }
  require(widths.size() >= 2, "architecture '" + arch + "': an MLP needs at least input and output widths");
  std::string canonical = "mlp:";
  for (std::size_t i = 0; i < widths.size(); ++i) canonical += (i ? "," : "") + std::to_string(widths[i]);
  if (activation != "relu") canonical += ":" + activation;
  return std::make_unique<Mlp>(canonical, widths, activation);
}

// The mlp family (family_registry.h).
bool mlp_owns(const std::string& arch) { return arch.rfind("mlp:", 0) == 0; }

std::unique_ptr<Architecture> make_mlp_family(const std::string& arch, const ModelIO&) { return make_mlp(arch); }

// Weights (2-D) and biases (1-D) alternating, widths chaining.
void mlp_candidates(const CheckpointView& c, const ModelIO&, ArchCandidates& out) {
  const NamedTensors& s = c.tensors;
  bool chain = s.size() % 2 == 0;
  std::string mlp = "mlp:";
  for (std::size_t i = 0; chain && i < s.size(); i += 2) {
    const auto& w = s[i].tensor;
    const auto& b = s[i + 1].tensor;
    chain = w.dim() == 2 && b.dim() == 1 && b.size(0) == w.size(0) && (i == 0 || w.size(1) == s[i - 2].tensor.size(0));
    if (chain) mlp += (i == 0 ? std::to_string(w.size(1)) : "") + "," + std::to_string(w.size(0));
  }
  if (chain && s.size() >= 2) out.push_back({mlp, ModelIO{}});
}

}  // namespace rebasin::nn
