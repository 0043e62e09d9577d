#include "nn/architecture.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "common/error.h"
#include "nn/architecture_internal.h"
#include "nn/family_registry.h"
#include "nn/graph/graph_architecture.h"

namespace rebasin::nn {

Architecture::Params::Params(const PermutationSpec& spec, const NamedTensors& params, const UnitHook* units)
    : units_(units) {
  for (const auto& [name, t] : params) map_[name] = t;
  for (const auto& ps : spec.params()) {
    auto it = map_.find(ps.name);
    require(it != map_.end(), "model: parameter '" + ps.name + "' is missing");
    require(it->second.sizes().vec() == ps.shape, "model: parameter '" + ps.name + "' has the wrong shape");
  }
}

const at::Tensor& Architecture::Params::operator()(const std::string& name) const {
  return map_.at(name);
}

NamedTensors Architecture::init(std::uint64_t seed) const {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  NamedTensors out;
  for (const auto& ps : spec_.params()) {
    at::Tensor t;
    if (ps.name.size() >= 19 && ps.name.compare(ps.name.size() - 19, 19, "num_batches_tracked") == 0) {
      t = at::zeros(ps.shape, at::kLong);
    } else if (ps.init == Init::Uniform) {
      const double b = 1.0 / std::sqrt(static_cast<double>(ps.fan_in));
      t = at::empty(ps.shape, at::kFloat).uniform_(-b, b, gen);
    } else if (ps.init == Init::Ones) {
      t = at::ones(ps.shape, at::kFloat);
    } else {
      t = at::zeros(ps.shape, at::kFloat);
    }
    out.push_back({ps.name, t});
  }
  return out;
}

at::Tensor Architecture::forward(const NamedTensors& params, const at::Tensor& x, bool train) const {
  return forward(params, x, train, ActivationHook());
}

at::Tensor Architecture::forward(const NamedTensors& params, const at::Tensor& x, bool train,
                                 const ActivationHook& hook) const {
  const Params p(spec_, params);
  return forward_params(p, x, train, hook ? &hook : nullptr);
}

at::Tensor Architecture::forward(const NamedTensors& params, const at::Tensor& x, bool train,
                                 const UnitHook& hook) const {
  require(reports_units(), "architecture '" + name_ + "' does not report its layers' units (MLP, VGG and CIFAR ResNet built-ins do)");
  const Params p(spec_, params, hook ? &hook : nullptr);
  return forward_params(p, x, train, nullptr);
}

at::Tensor Architecture::forward_params(const Params& p, const at::Tensor& x, bool train,
                                        const ActivationHook* hook) const {
  std::vector<std::int64_t> shape = {-1};
  shape.insert(shape.end(), io_.input_shape.begin(), io_.input_shape.end());
  std::int64_t per_sample = 1;
  for (auto d : io_.input_shape) per_sample *= d;
  require(x.dim() >= 1 && x.numel() % per_sample == 0 && x.numel() > 0,
          "model: input of " + std::to_string(x.numel()) + " values does not fit samples of " +
              std::to_string(per_sample));
  return run(p, x.reshape(shape), train, hook);
}

bool Architecture::has_batchnorm() const {
  // Running statistics, not any buffer: a causal mask or position ids are buffers too.
  const std::string suffix = ".running_mean";
  for (const auto& ps : spec_.params())
    if (ps.buffer && ps.name.size() >= suffix.size() &&
        ps.name.compare(ps.name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return true;
  return false;
}

void add_linear(PermutationSpec& s, const std::string& prefix, std::int64_t in_features,
                std::int64_t out_features, int in, int out, std::int64_t in_inner) {
  s.add(prefix + ".weight", {out_features, in_features}, {{out, 1}, {in, in_inner}}, Init::Uniform, in_features);
  s.add(prefix + ".bias", {out_features}, {{out, 1}}, Init::Uniform, in_features);
}

void add_conv(PermutationSpec& s, const std::string& prefix, std::int64_t cin, std::int64_t cout,
              std::int64_t k, int in, int out, bool bias) {
  const std::int64_t fan_in = cin * k * k;
  s.add(prefix + ".weight", {cout, cin, k, k}, {{out, 1}, {in, 1}}, Init::Uniform, fan_in);
  if (bias) s.add(prefix + ".bias", {cout}, {{out, 1}}, Init::Uniform, fan_in);
}

void add_batchnorm(PermutationSpec& s, const std::string& prefix, std::int64_t c, int group) {
  s.add(prefix + ".weight", {c}, {{group, 1}}, Init::Ones);
  s.add(prefix + ".bias", {c}, {{group, 1}}, Init::Zeros);
  s.add(prefix + ".running_mean", {c}, {{group, 1}}, Init::Zeros, 0, true);
  s.add(prefix + ".running_var", {c}, {{group, 1}}, Init::Ones, 0, true);
  s.add(prefix + ".num_batches_tracked", {}, {}, Init::Zeros, 0, true);
}

void add_layernorm(PermutationSpec& s, const std::string& prefix, std::int64_t c, int group) {
  s.add(prefix + ".weight", {c}, {{group, 1}}, Init::Ones);
  s.add(prefix + ".bias", {c}, {{group, 1}}, Init::Zeros);
}

at::Tensor batchnorm(const Architecture::Params& p, const std::string& prefix, const at::Tensor& x,
                     bool train) {
  if (train) p(prefix + ".num_batches_tracked").add_(1);
  return at::batch_norm(x, p(prefix + ".weight"), p(prefix + ".bias"), p(prefix + ".running_mean"),
                        p(prefix + ".running_var"), train, 0.1, 1e-5, false);
}

at::Tensor layernorm(const Architecture::Params& p, const std::string& prefix, const at::Tensor& x) {
  return at::group_norm(x, 1, p(prefix + ".weight"), p(prefix + ".bias"), 1e-5, false);
}

std::unique_ptr<Architecture> make_architecture(const std::string& arch, const ModelIO& io) {
  if (const ArchFamily* f = family_of(arch)) return f->make(arch, io);
  throw UserError("unknown architecture '" + arch + "' (expected " + arch_syntax() + ")");
}

}  // namespace rebasin::nn
