// The GPU-vs-reference checks (gpu_check.h). Shapes are chosen to reach every code path: square
// and rectangular, wide logits (small tau), early stopping, NaN input, and column sums too wide
// for shared memory (the per-block accumulators then live in the workspace).
#include "cuda/gpu_check.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "common/error.h"
#include "cuda/gpu_runtime.h"
#include "cuda/sinkhorn_gpu.h"
#include "cuda/staging.h"
#include "ot/sinkhorn.h"

namespace rebasin::cuda {
namespace {

double rel_error(const at::Tensor& got, const at::Tensor& want) {
  const at::Tensor g = got.detach().cpu().to(at::kDouble), w = want.detach().cpu().to(at::kDouble);
  if (!at::isfinite(g).all().item<bool>()) return std::numeric_limits<double>::infinity();
  const double scale = std::max(w.abs().max().item<double>(), 1e-30);
  return (g - w).abs().max().item<double>() / scale;
}

double tolerance_for(at::ScalarType t) { return t == at::kFloat ? 2e-4 : 1e-9; }
const char* dtype_name(at::ScalarType t) { return t == at::kFloat ? "float32" : "float64"; }

std::string label(const char* what, at::ScalarType t, std::int64_t m, std::int64_t n, const std::string& extra = "") {
  std::ostringstream s;
  s << what << " " << dtype_name(t) << " " << m << "x" << n << extra;
  return s.str();
}

// CPU results while the checker offloads host tensors: off for the guard's scope.
class CpuOnly {
 public:
  CpuOnly() : was_(offload()) { set_offload(false); }
  ~CpuOnly() { set_offload(was_); }

 private:
  bool was_;
};

class Checker {
 public:
  explicit Checker(std::uint64_t seed) : gen_(at::make_generator<at::CPUGeneratorImpl>(seed)) {
    torch_cuda_ = torch::cuda::is_available();
    if (!torch_cuda_) set_offload(true);  // host tensors travel through device buffers
  }
  ~Checker() {
    if (!torch_cuda_) set_offload(previous_offload_);
  }

  at::Tensor randn(std::int64_t m, std::int64_t n, at::ScalarType t) {
    return at::randn({m, n}, gen_, at::TensorOptions().dtype(t));
  }
  at::Tensor on_gpu(const at::Tensor& t) const { return torch_cuda_ ? t.to(at::kCUDA) : t; }

  void add(const std::string& name, double error, double tol) {
    results_.push_back({name, error, tol, std::isfinite(error) && error <= tol});
  }

  void forward(at::ScalarType t, std::int64_t m, std::int64_t n, double tau, int iters, double tol) {
    const at::Tensor X = randn(m, n, t);
    const at::Tensor la = at::zeros({m}, at::TensorOptions().dtype(t));
    const at::Tensor lb = at::full({n}, std::log(double(m) / double(n)), at::TensorOptions().dtype(t));
    const ForwardSpec spec{m, n, 1.0 / tau, iters, tol};
    const ForwardOutput ref = sinkhorn_forward(X, la, lb, spec, Backend::Reference);
    const ForwardOutput gpu = sinkhorn_forward(on_gpu(X), on_gpu(la), on_gpu(lb), spec, Backend::Gpu);
    std::ostringstream extra;
    extra << " tau " << tau << " iters " << iters << (tol > 0 ? " tol " + std::to_string(tol) : "");
    const double tl = tolerance_for(t) * (tau < 0.5 ? 10.0 : 1.0);  // wide logits amplify rounding
    add(label("forward plan", t, m, n, extra.str()), rel_error(gpu.plan, ref.plan), tl);
    add(label("forward iterations", t, m, n, extra.str()),
        std::abs(gpu.stats.iterations - ref.stats.iterations), tol > 0 ? 1.0 : 0.0);
    add(label("forward marginal error", t, m, n, extra.str()),
        std::abs(gpu.stats.marginal_error - ref.stats.marginal_error), tl);
  }

  void non_finite(at::ScalarType t) {
    at::Tensor X = randn(40, 30, t);
    X.index_put_({7, 3}, std::numeric_limits<double>::quiet_NaN());
    const ForwardSpec spec{40, 30, 1.0, 5, 0.0};
    const at::Tensor la = at::zeros({40}, X.options()), lb = at::full({30}, std::log(40.0 / 30.0), X.options());
    const ForwardOutput gpu = sinkhorn_forward(on_gpu(X), on_gpu(la), on_gpu(lb), spec, Backend::Gpu);
    add(label("forward detects NaN", t, 40, 30), gpu.stats.non_finite ? 0.0 : 1.0, 0.0);
  }

  // The raw backward passes on one plan, and the whole GPU backward against the CPU one.
  void backward(at::ScalarType t, std::int64_t m, std::int64_t n) {
    ot::SinkhornOptions so;
    so.iters = 30;
    at::Tensor P;
    {
      CpuOnly cpu;
      P = ot::sinkhorn(randn(m, n, t), so).plan.detach();
    }
    const at::Tensor G = randn(m, n, t);
    const at::Tensor p = randn(1, n, t).view({n});
    const at::Tensor a = P.sum(1), inv_a = 1.0 / a, b = P.sum(0);
    AT_DISPATCH_FLOATING_TYPES(t, "check_backward", [&] {
      using T = scalar_t;
      Staging host(true, P), dev(false, on_gpu(P));
      void* ws = dev.scratch(gpu::backward_workspace_bytes(m, n, sizeof(T)));
      // Schur product.
      at::Tensor y_ref, y_gpu;
      ref::schur_matvec<T>(host.in<T>(P, t), m, n, host.in<T>(inv_a, t), host.in<T>(b, t),
                           host.in<T>(p, t), host.out<T>(y_ref, {n}, t), nullptr, nullptr);
      gpu::schur_matvec<T>(dev.in<T>(P, t), m, n, dev.in<T>(inv_a, t), dev.in<T>(b, t),
                           dev.in<T>(p, t), dev.out<T>(y_gpu, {n}, t), ws, nullptr);
      // Prepare pass.
      at::Tensor a_r, h_r, s_r, a_g, h_g, s_g;
      double* sr = host.out<double>(s_r, {4 * n}, at::kDouble);
      ref::implicit_prepare<T>(host.in<T>(P, t), host.in<T>(G, t), m, n, host.out<T>(a_r, {m}, t),
                               host.out<T>(h_r, {m}, t), sr, sr + n, sr + 2 * n, sr + 3 * n, nullptr, nullptr);
      double* sg = dev.out<double>(s_g, {4 * n}, at::kDouble);
      gpu::implicit_prepare<T>(dev.in<T>(P, t), dev.in<T>(G, t), m, n, dev.out<T>(a_g, {m}, t),
                               dev.out<T>(h_g, {m}, t), sg, sg + n, sg + 2 * n, sg + 3 * n, ws, nullptr);
      // Finish pass.
      at::Tensor g_r, g_g;
      ref::implicit_finish<T>(host.in<T>(P, t), host.in<T>(G, t), m, n, host.in<T>(a, t),
                              host.in<T>(h_r, t), host.in<T>(p, t), T(0.5), host.out<T>(g_r, {m, n}, t),
                              nullptr, nullptr);
      gpu::implicit_finish<T>(dev.in<T>(P, t), dev.in<T>(G, t), m, n, dev.in<T>(a, t),
                              dev.in<T>(h_r, t), dev.in<T>(p, t), T(0.5), dev.out<T>(g_g, {m, n}, t), ws,
                              nullptr);
      dev.collect();
      const double tl = tolerance_for(t);
      add(label("Schur product", t, m, n), rel_error(y_gpu, y_ref), tl * 10);  // a difference of sums
      add(label("backward prepare a, h1", t, m, n), std::max(rel_error(a_g, a_r), rel_error(h_g, h_r)), tl);
      double sums = 0;
      for (int k = 0; k < 4; ++k)
        sums = std::max(sums, rel_error(s_g.narrow(0, k * n, n), s_r.narrow(0, k * n, n)));
      add(label("backward prepare column sums", t, m, n), sums, tl);
      add(label("backward finish", t, m, n), rel_error(g_g, g_r), tl);
    });
    ot::ImplicitBackwardStats st_cpu, st_gpu;
    at::Tensor want;
    {
      CpuOnly cpu;
      want = ot::sinkhorn_implicit_backward(P, G, 1.0, 0.0, 1000, &st_cpu);
    }
    const at::Tensor got = implicit_backward(on_gpu(P), on_gpu(G), 1.0, 0.0, 1000, &st_gpu, Backend::Gpu);
    add(label("implicit backward (CG) vs CPU", t, m, n), rel_error(got, want), tolerance_for(t) * 50);
  }

  std::vector<CheckResult> take() { return std::move(results_); }

 private:
  at::Generator gen_;
  bool torch_cuda_ = false;
  bool previous_offload_ = offload();
  std::vector<CheckResult> results_;
};

}  // namespace

bool gpu_checks_possible() { return compiled() && device_count() > 0; }

std::vector<CheckResult> run_gpu_checks(std::uint64_t seed) {
  require(gpu_checks_possible(), "GPU checks: " + device_description());
  Checker c(seed);
  for (at::ScalarType t : {at::kFloat, at::kDouble}) {
    c.forward(t, 64, 64, 1.0, 20, 0.0);
    c.forward(t, 257, 129, 0.1, 20, 0.0);
    c.forward(t, 1000, 1000, 0.05, 20, 0.0);
    // Stopping tolerances far above the dtype's rounding: both sides stop at the same iteration.
    c.forward(t, 300, 300, 1.0, 200, t == at::kFloat ? 1e-3 : 1e-6);
    c.non_finite(t);
    c.backward(t, 200, 150);
    c.backward(t, 24, 15000);  // 4n accumulators exceed shared memory: workspace path
  }
  c.forward(at::kDouble, 16, 30000, 1.0, 5, 0.0);  // row-pass sums exceed shared memory
  return c.take();
}

}  // namespace rebasin::cuda
