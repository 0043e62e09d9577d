#include "eval/interpolation.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "eval/evaluate.h"
#include "nn/mapping.h"

namespace rebasin::eval {
namespace {

// The momentum our functional BatchNorm passes to at::batch_norm (nn/architecture.cpp,
// batchnorm()). reset_batchnorm reads each batch's statistics back out of the running buffers
// through it; tst_interpolation checks the result against statistics computed directly, so a
// change there fails loudly instead of skewing every curve.
constexpr double kBatchNormMomentum = 0.1;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

at::Device device_of(const NamedTensors& params) {
  require(!params.empty(), "model: empty parameter set");
  return params.front().tensor.device();
}

// Elapsed seconds and a linear ETA for progress events.
class Clock {
 public:
  ProgressEvent progress(const std::string& stage, double fraction) const {
    ProgressEvent e;
    e.stage = stage;
    e.fraction = fraction;
    e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    e.eta_seconds = fraction > 0 ? e.seconds * (1.0 - fraction) / fraction : 0.0;
    return e;
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

std::vector<double> linspace(double lo, double hi, int n) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = lo + (hi - lo) * i / (n - 1);
  v.back() = hi;  // exact endpoint, whatever the rounding
  return v;
}

}  // namespace

NamedTensors interpolate(const NamedTensors& a, const NamedTensors& b, double lambda) {
  nn::check_same_layout(a, b);
  require(std::isfinite(lambda), "interpolate: lambda must be finite");
  NamedTensors out;
  out.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const at::Tensor& ta = a[i].tensor;
    if (!at::isFloatingType(ta.scalar_type())) {
      out.push_back({a[i].name, ta.clone()});
      continue;
    }
    // lerp keeps the endpoints exact: lambda 0 gives a and lambda 1 gives b bit for bit.
    out.push_back({a[i].name, at::lerp(ta, b[i].tensor.to(ta.options()), lambda)});
  }
  return out;
}

NamedTensors reset_batchnorm(const nn::Architecture& arch, NamedTensors params,
                             const data::Dataset& train, std::int64_t samples, std::uint64_t seed,
                             std::int64_t batch_size) {
  if (!arch.has_batchnorm()) return params;
  require(train.size() >= 2, "BatchNorm reset: the training set '" + train.name + "' has fewer than 2 samples");
  require(samples >= 2 && batch_size >= 2, "BatchNorm reset: needs at least 2 samples per batch");
  const at::Device device = device_of(params);
  at::NoGradGuard no_grad;

  // Fresh buffers, so the caller's tensors are never written: forward(train=true) updates the
  // running statistics and num_batches_tracked in place.
  std::vector<std::size_t> stats;  // indices of running_mean / running_var
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string& name = params[i].name;
    if (ends_with(name, ".running_mean") || ends_with(name, ".running_var")) {
      params[i].tensor = at::zeros_like(params[i].tensor);
      stats.push_back(i);
    } else if (ends_with(name, ".num_batches_tracked")) {
      params[i].tensor = at::zeros_like(params[i].tensor);  // as reset_running_stats()
    }
  }
  std::vector<at::Tensor> sums;
  for (std::size_t i : stats) sums.push_back(at::zeros_like(params[i].tensor, at::kDouble));

  // Our BatchNorm has a fixed momentum (an exponential average, biased towards the last
  // batches), and computing each layer's batch statistics ourselves would duplicate every
  // architecture's forward. Instead: zero the buffers, run one training-mode forward (which
  // never reads them), and the buffers then hold momentum * batch statistic exactly; dividing
  // by the momentum recovers the statistic, and we average those ourselves. That is PyTorch's
  // momentum=None cumulative average, weighted by batch size.
  const std::int64_t n = std::min(samples, train.size());
  const auto batches = data::batch_indices(train.size(), batch_size, true, seed);
  std::int64_t used = 0;
  for (const at::Tensor& batch : batches) {
    if (used >= n) break;
    const std::int64_t len = std::min(batch.size(0), n - used);
    if (len < 2) break;  // training-mode BatchNorm needs 2 values per channel
    const at::Tensor idx = batch.narrow(0, 0, len).to(train.inputs.device());
    const at::Tensor x = train.inputs.index_select(0, idx).to(device);
    for (std::size_t i : stats) params[i].tensor.zero_();
    arch.forward(params, x, true);
    for (std::size_t k = 0; k < stats.size(); ++k)
      sums[k].add_(params[stats[k]].tensor.to(at::kDouble), static_cast<double>(len) / kBatchNormMomentum);
    used += len;
  }
  require(used >= 2, "BatchNorm reset: no usable batch");
  for (std::size_t k = 0; k < stats.size(); ++k)
    params[stats[k]].tensor.copy_(sums[k] / static_cast<double>(used));
  return params;
}

void curve_statistics(Curve& c) {
  const std::size_t n = c.lambdas.size();
  require(n >= 2 && c.loss.size() == n, "curve: needs at least 2 points");
  const double l0 = c.loss.front(), l1 = c.loss.back();
  const double lo = c.lambdas.front(), hi = c.lambdas.back();
  std::vector<double> excess(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double t = (c.lambdas[i] - lo) / (hi - lo);
    excess[i] = c.loss[i] - ((1.0 - t) * l0 + t * l1);
  }
  c.barrier = *std::max_element(excess.begin(), excess.end());
  c.area = 0.0;
  for (std::size_t i = 1; i < n; ++i)
    c.area += 0.5 * (excess[i] + excess[i - 1]) * (c.lambdas[i] - c.lambdas[i - 1]);
}

Curve path_curve(const nn::Architecture& arch, const PathModel& model_at, const data::Dataset& eval_set,
                 int points, EventSink* sink, const std::string& curve_name, const CancelToken* cancel,
                 const std::string& split) {
  require(points >= 2 && points <= 100000,
          "interpolation: --points must be between 2 and 100000, got " + std::to_string(points));
  data::Dataset eval;
  const Clock clock;
  Curve c;
  c.lambdas = linspace(0.0, 1.0, points);
  for (int i = 0; i < points; ++i) {
    check_cancel(cancel);
    const double lambda = c.lambdas[static_cast<std::size_t>(i)];
    const NamedTensors theta = model_at(lambda);
    if (i == 0) eval = data::to_device(eval_set, device_of(theta));
    const Metrics m = evaluate(arch, theta, eval);
    c.loss.push_back(m.loss);
    c.accuracy.push_back(m.accuracy);
    if (sink) {
      sink->curve(CurvePoint{curve_name, split, lambda, m.loss, m.accuracy});
      sink->progress(clock.progress("interpolate", static_cast<double>(i + 1) / points));
    }
  }
  curve_statistics(c);
  return c;
}

Curve interpolation_curve(const nn::Architecture& arch, const NamedTensors& a,
                          const NamedTensors& b_aligned, const data::Dataset& eval_set,
                          const data::Dataset* bn_train_set, int points, EventSink* sink,
                          const std::string& curve_name, const CancelToken* cancel,
                          const std::string& split, std::uint64_t seed) {
  nn::check_same_layout(a, b_aligned);
  return path_curve(
      arch,
      [&](double lambda) {
        NamedTensors theta = interpolate(a, b_aligned, lambda);
        if (bn_train_set) theta = reset_batchnorm(arch, std::move(theta), *bn_train_set, 2000, seed);
        return theta;
      },
      eval_set, points, sink, curve_name, cancel, split);
}

ParameterPlane::ParameterPlane(const NamedTensors& a, const NamedTensors& b, const NamedTensors& c)
    : a_(a) {
  nn::check_same_layout(a, b);
  nn::check_same_layout(a, c);
  at::NoGradGuard no_grad;
  // Flattened once, in float64: the Gram-Schmidt step subtracts nearly equal numbers when
  // pi(B) is close to B, and the grid points are rebuilt from these vectors.
  auto flat = [](const NamedTensors& set) {
    std::vector<at::Tensor> parts;
    for (const auto& t : set)
      if (at::isFloatingType(t.tensor.scalar_type())) parts.push_back(t.tensor.detach().reshape(-1).to(at::kDouble));
    require(!parts.empty(), "landscape: the models have no floating-point parameters");
    return at::cat(parts);
  };
  origin_ = flat(a);
  const at::Tensor u = flat(b) - origin_, v = flat(c) - origin_;
  const double nu = u.norm().item<double>();
  require(nu > 0, "landscape: models A and B are identical, so there is no plane to show");
  e1_ = u / nu;
  const double proj = at::dot(v, e1_).item<double>();
  const at::Tensor w = v - proj * e1_;
  const double nw = w.norm().item<double>();
  // Relative test: an identity permutation leaves pi(B) = B up to rounding.
  require(nw > 1e-7 * std::max(nu, v.norm().item<double>()),
          "landscape: A, B and aligned B lie on one line (is the permutation the identity?), so "
          "they span no plane");
  e2_ = w / nw;
  points_ = {std::make_pair(0.0, 0.0), std::make_pair(nu, 0.0), std::make_pair(proj, nw)};
}

NamedTensors ParameterPlane::params_at(double x, double y) const {
  at::NoGradGuard no_grad;
  at::ScalarType dtype = at::kFloat;
  for (const auto& t : a_)
    if (at::isFloatingType(t.tensor.scalar_type())) {
      dtype = t.tensor.scalar_type();
      break;
    }
  // One buffer for the whole parameter set; the tensors are views into it.
  const at::Tensor theta = (origin_ + x * e1_ + y * e2_).to(dtype);
  NamedTensors out;
  out.reserve(a_.size());
  std::int64_t offset = 0;
  for (const auto& t : a_) {
    if (!at::isFloatingType(t.tensor.scalar_type())) {
      out.push_back({t.name, t.tensor});
      continue;
    }
    at::Tensor view = theta.narrow(0, offset, t.tensor.numel()).view(t.tensor.sizes());
    if (view.scalar_type() != t.tensor.scalar_type()) view = view.to(t.tensor.scalar_type());
    out.push_back({t.name, view});
    offset += t.tensor.numel();
  }
  return out;
}

Landscape loss_landscape(const nn::Architecture& arch, const NamedTensors& a, const NamedTensors& b,
                         const NamedTensors& b_aligned, const data::Dataset& eval_set,
                         const data::Dataset* bn_train_set, int grid, EventSink* sink,
                         const CancelToken* cancel, std::uint64_t seed) {
  require(grid >= 3 && grid <= 201, "landscape: --grid must be between 3 and 201, got " + std::to_string(grid));
  const ParameterPlane plane(a, b, b_aligned);
  const data::Dataset eval = data::to_device(eval_set, device_of(a));
  Landscape out;
  out.grid = grid;
  out.points = plane.points();
  double x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  for (const auto& [x, y] : out.points) {
    x0 = std::min(x0, x), x1 = std::max(x1, x);
    y0 = std::min(y0, y), y1 = std::max(y1, y);
  }
  const double px = 0.2 * (x1 - x0), py = 0.2 * (y1 - y0);
  out.xs = linspace(x0 - px, x1 + px, grid);
  out.ys = linspace(y0 - py, y1 + py, grid);
  const Clock clock;
  for (int r = 0; r < grid; ++r) {
    check_cancel(cancel);
    LandscapeRow row;
    row.row = r;
    row.rows = grid;
    row.xs = out.xs;
    row.ys = out.ys;
    row.marks.assign(out.points.begin(), out.points.end());
    for (int col = 0; col < grid; ++col) {
      NamedTensors theta = plane.params_at(out.xs[static_cast<std::size_t>(col)], out.ys[static_cast<std::size_t>(r)]);
      if (bn_train_set) theta = reset_batchnorm(arch, std::move(theta), *bn_train_set, 2000, seed);
      const Metrics m = evaluate(arch, theta, eval);
      row.loss.push_back(m.loss);
      row.accuracy.push_back(m.accuracy);
    }
    out.loss.push_back(row.loss);
    out.accuracy.push_back(row.accuracy);
    if (sink) {
      sink->landscape(row);
      sink->progress(clock.progress("landscape", static_cast<double>(r + 1) / grid));
    }
  }
  return out;
}

}  // namespace rebasin::eval
