#include "eval/repair.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "common/error.h"
#include "eval/interpolation.h"

namespace rebasin::eval {
namespace {

// A unit whose standard deviation in the average is below this (relative to its target) is
// constant on the data: no scale can give it the target's spread, so only its mean is moved.
// (REPAIR's reference puts a BatchNorm behind each layer, whose epsilon instead multiplies a
// dead unit by a large finite factor.)
constexpr double kDead = 1e-6;

// Thrown by the unit hook once the point being measured has been seen: the rest of the forward
// pass would only compute what is thrown away.
struct PointDone {};

// Per-channel sums over samples (and spatial positions) of z and z^2, in float64.
struct Moments {
  at::Tensor sum, sumsq;
  double count = 0;
  void add(const at::Tensor& z) {
    const at::Tensor m = (z.dim() == 2 ? z : z.movedim(1, -1).reshape({-1, z.size(1)})).to(at::kDouble);
    const at::Tensor s = m.sum(0), q = m.pow(2).sum(0);
    sum = sum.defined() ? sum + s : s;
    sumsq = sumsq.defined() ? sumsq + q : q;
    count += static_cast<double>(m.size(0));
  }
  at::Tensor mean() const { return sum / count; }
  at::Tensor stdev() const { return (sumsq / count - mean().pow(2)).clamp_min(0).sqrt(); }
};

// The samples every measurement uses (the same ones for every model), on the models' device.
at::Tensor sample_inputs(const data::Dataset& train, const NamedTensors& params, const RepairOptions& o) {
  require(train.size() > 0, "REPAIR: the training set '" + train.name + "' is empty");
  require(o.samples >= 1 && o.batch_size >= 1, "REPAIR: needs at least one sample per batch");
  const std::int64_t n = std::min(o.samples, train.size());
  const at::Tensor idx = data::batch_indices(train.size(), n, true, o.seed).front().to(train.inputs.device());
  return train.inputs.index_select(0, idx).to(params.front().tensor.device());
}

// Runs `fn` on each batch of x.
template <typename Fn>
void for_batches(const at::Tensor& x, std::int64_t batch_size, Fn fn) {
  for (std::int64_t start = 0; start < x.size(0); start += batch_size)
    fn(x.narrow(0, start, std::min(batch_size, x.size(0) - start)));
}

std::size_t index_of(const NamedTensors& params, const std::string& name) {
  for (std::size_t i = 0; i < params.size(); ++i)
    if (params[i].name == name) return i;
  throw UserError("REPAIR: the model has no parameter '" + name + "'");
}

}  // namespace

bool repair_supported(const nn::Architecture& arch) { return arch.reports_units(); }

UnitStatistics unit_statistics(const nn::Architecture& arch, const NamedTensors& params,
                               const data::Dataset& train, const RepairOptions& o) {
  require_repair_supported(arch);
  at::NoGradGuard no_grad;
  const at::Tensor x = sample_inputs(train, params, o);
  std::vector<std::string> layers;
  std::vector<Moments> moments;
  for_batches(x, o.batch_size, [&](const at::Tensor& batch) {
    std::size_t k = 0;
    arch.forward(params, batch, false, nn::Architecture::UnitHook([&](const std::string& layer, int, const at::Tensor& z) {
      if (k == layers.size()) {
        layers.push_back(layer);
        moments.emplace_back();
      }
      moments[k++].add(z);
      return z;
    }));
  });
  UnitStatistics s;
  s.layers = layers;
  for (const Moments& m : moments) {
    s.mean.push_back(m.mean());
    s.stdev.push_back(m.stdev());
  }
  return s;
}

NamedTensors repair(const nn::Architecture& arch, const NamedTensors& merged,
                    const std::vector<UnitStatistics>& endpoints, const std::vector<double>& weights,
                    const data::Dataset& train, const RepairOptions& o) {
  require(!endpoints.empty() && endpoints.size() == weights.size(), "REPAIR: one weight per endpoint");
  for (const UnitStatistics& e : endpoints)
    require(e.layers == endpoints.front().layers, "REPAIR: the endpoints' statistics do not match");
  for (double w : weights) require(std::isfinite(w), "REPAIR: weights must be finite");
  const std::vector<std::string>& layers = endpoints.front().layers;
  // New tensors for everything a correction touches; the rest is shared with `merged`.
  NamedTensors out = reset_batchnorm(arch, merged, train, o.samples, o.seed);
  at::NoGradGuard no_grad;
  const at::Tensor x = sample_inputs(train, out, o);
  for (std::size_t k = 0; k < layers.size(); ++k) {
    at::Tensor mean_t = at::zeros_like(endpoints.front().mean[k]), std_t = at::zeros_like(mean_t);
    for (std::size_t e = 0; e < endpoints.size(); ++e) {
      mean_t = mean_t + weights[e] * endpoints[e].mean[k];
      std_t = std_t + weights[e] * endpoints[e].stdev[k];
    }
    // Point k as the model is now, with points 0..k-1 already corrected.
    Moments m;
    for_batches(x, o.batch_size, [&](const at::Tensor& batch) {
      std::size_t seen = 0;
      try {
        arch.forward(out, batch, false, nn::Architecture::UnitHook([&](const std::string& layer, int, const at::Tensor& z) {
          if (seen++ < k) return z;
          require(layer == layers[k], "REPAIR: the model reports its layers in another order than its endpoints");
          m.add(z);
          throw PointDone{};
        }));
      } catch (const PointDone&) {
      }
    });
    require(m.count > 0, "REPAIR: layer '" + layers[k] + "' was not reached");
    // z' = (z - mean) * scale + target mean = scale * z + shift: the weight rows take the scale,
    // the bias (z's constant part) both.
    const at::Tensor std_m = m.stdev();
    const at::Tensor scale = at::where(std_m > kDead * std_t, std_t / std_m.clamp_min(1e-300), at::ones_like(std_m));
    const at::Tensor shift = mean_t - m.mean() * scale;
    const std::size_t wi = index_of(out, layers[k] + ".weight"), bi = index_of(out, layers[k] + ".bias");
    at::Tensor& w = out[wi].tensor;
    at::Tensor& b = out[bi].tensor;
    std::vector<std::int64_t> shape(static_cast<std::size_t>(w.dim()), 1);
    shape[0] = -1;
    w = (w.to(at::kDouble) * scale.view(shape)).to(w.scalar_type());
    b = (b.to(at::kDouble) * scale + shift).to(b.scalar_type());
  }
  return out;
}

RepairedLine::RepairedLine(const nn::Architecture& arch, NamedTensors a, NamedTensors b_aligned,
                           const data::Dataset& train, const RepairOptions& options)
    : arch_(arch), a_(std::move(a)), b_(std::move(b_aligned)), train_(train), options_(options) {
  stats_.push_back(unit_statistics(arch_, a_, train_, options_));
  stats_.push_back(unit_statistics(arch_, b_, train_, options_));
}

NamedTensors RepairedLine::at(double lambda) const {
  return repair(arch_, interpolate(a_, b_, lambda), stats_, {1.0 - lambda, lambda}, train_, options_);
}

void require_repair_supported(const nn::Architecture& arch) {
  require(repair_supported(arch), "REPAIR: architecture '" + arch.name() +
                                      "' is not supported (the MLP, VGG and CIFAR ResNet built-ins are)");
}

Curve repaired_curve(const nn::Architecture& arch, const NamedTensors& a, const NamedTensors& b_aligned,
                     const data::Dataset& train, const data::Dataset& eval_set, int points, EventSink* sink,
                     const std::string& curve_name, const CancelToken* cancel, const std::string& split,
                     std::uint64_t seed) {
  RepairOptions ro;
  ro.seed = seed;
  const RepairedLine line(arch, a, b_aligned, train, ro);
  return path_curve(arch, [&](double lambda) { return line.at(lambda); }, eval_set, points, sink, curve_name, cancel,
                    split);
}

}  // namespace rebasin::eval
