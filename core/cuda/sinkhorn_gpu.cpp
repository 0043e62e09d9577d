// Tensor front end of the GPU Sinkhorn passes (sinkhorn_gpu.h). The implicit backward's
// conjugate gradients run on the host in double, as on the CPU path; each step's product by P
// and P^T is one pass over P on the device, with two n-vectors crossing the bus.
#include "ot/vector_ops.h"
#include "cuda/sinkhorn_gpu.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include <atomic>
#include <cmath>
#include <vector>

#include "common/error.h"
#include "cuda/gpu_runtime.h"
#include "cuda/staging.h"

namespace rebasin::cuda {
namespace {

using ot::dot;
using ot::project_out_ones;

std::atomic<bool> g_offload{false};

// The raw passes of one backend, chosen once per call.
template <typename T>
struct Passes {
  bool reference;
  ForwardStats forward(const T* X, const T* la, const T* lb, const ForwardSpec& s, T* plan, T* f,
                       T* g, void* ws) const {
    return reference ? ref::sinkhorn_forward<T>(X, la, lb, s, plan, f, g, ws, nullptr)
                     : gpu::sinkhorn_forward<T>(X, la, lb, s, plan, f, g, ws, nullptr);
  }
  void matvec(const T* P, std::int64_t m, std::int64_t n, const T* ia, const T* b, const T* p, T* y,
              void* ws) const {
    reference ? ref::schur_matvec<T>(P, m, n, ia, b, p, y, ws, nullptr)
              : gpu::schur_matvec<T>(P, m, n, ia, b, p, y, ws, nullptr);
  }
  void prepare(const T* P, const T* G, std::int64_t m, std::int64_t n, T* a, T* h1, double* b,
               double* h2, double* dsq, double* t, void* ws) const {
    reference ? ref::implicit_prepare<T>(P, G, m, n, a, h1, b, h2, dsq, t, ws, nullptr)
              : gpu::implicit_prepare<T>(P, G, m, n, a, h1, b, h2, dsq, t, ws, nullptr);
  }
  void finish(const T* P, const T* G, std::int64_t m, std::int64_t n, const T* a, const T* h1,
              const T* v, T inv_tau, T* grad, void* ws) const {
    reference ? ref::implicit_finish<T>(P, G, m, n, a, h1, v, inv_tau, grad, ws, nullptr)
              : gpu::implicit_finish<T>(P, G, m, n, a, h1, v, inv_tau, grad, ws, nullptr);
  }
};

void check_backend(Backend backend, const at::Tensor& t) {
  if (backend == Backend::Reference) return;
  require(compiled() && device_count() > 0,
          "GPU Sinkhorn: no usable CUDA device (" + device_description() + ")");
  require(t.is_cuda() || (t.is_cpu() && offload()),
          "GPU Sinkhorn: the tensor is neither on a CUDA device nor offloaded");
}

// Jacobi-preconditioned CG on S v = rhs (S: the Schur complement, null space span(1)).
template <typename Apply>
std::vector<double> solve_schur(Apply&& apply_S, const std::vector<double>& diag,
                                std::vector<double> rhs, double tol, int max_iters,
                                ot::ImplicitBackwardStats& stats) {
  const std::size_t n = rhs.size();
  project_out_ones(rhs);
  std::vector<double> v(n, 0.0), r = rhs, z(n), d(n), q(n);
  const double rhs_norm = std::sqrt(dot(rhs, rhs));
  stats = {};
  if (rhs_norm == 0) return v;
  for (std::size_t j = 0; j < n; ++j) z[j] = r[j] / diag[j];
  d = z;
  double rz = dot(r, z);
  for (int it = 1; it <= max_iters; ++it) {
    apply_S(d, q);
    project_out_ones(q);
    const double dq = dot(d, q);
    if (!(dq > 0)) break;
    const double alpha = rz / dq;
    for (std::size_t j = 0; j < n; ++j) {
      v[j] += alpha * d[j];
      r[j] -= alpha * q[j];
    }
    stats.cg_iterations = it;
    stats.relative_residual = std::sqrt(dot(r, r)) / rhs_norm;
    if (stats.relative_residual < tol) break;
    for (std::size_t j = 0; j < n; ++j) z[j] = r[j] / diag[j];
    const double rz_new = dot(r, z);
    const double beta = rz_new / rz;
    rz = rz_new;
    for (std::size_t j = 0; j < n; ++j) d[j] = z[j] + beta * d[j];
  }
  return v;
}

}  // namespace

void set_offload(bool on) { g_offload = on; }
bool offload() { return g_offload; }

bool runs_on_gpu(const at::Tensor& t) {
  if (!compiled()) return false;
  if (t.is_cuda()) return device_count() > 0;
  return t.is_cpu() && offload() && device_count() > 0;
}

ForwardOutput sinkhorn_forward(const at::Tensor& X, const at::Tensor& log_a, const at::Tensor& log_b,
                               const ForwardSpec& spec, Backend backend) {
  check_backend(backend, X);
  require(X.dim() == 2 && X.size(0) == spec.m && X.size(1) == spec.n && spec.max_iters >= 1,
          "GPU Sinkhorn: the matrix does not match the spec");
  const at::ScalarType dtype = X.scalar_type();
  Staging st(backend == Backend::Reference, X);
  ForwardOutput out;
  AT_DISPATCH_FLOATING_TYPES(dtype, "gpu_sinkhorn_forward", [&] {
    using T = scalar_t;
    const Passes<T> passes{backend == Backend::Reference};
    const T* x = st.in<T>(X, dtype);
    const T* la = st.in<T>(log_a, dtype);
    const T* lb = st.in<T>(log_b, dtype);
    T* plan = st.out<T>(out.plan, {spec.m, spec.n}, dtype);
    T* f = st.out<T>(out.f, {spec.m}, dtype);
    T* g = st.out<T>(out.g, {spec.n}, dtype);
    void* ws = backend == Backend::Reference
                   ? nullptr
                   : st.scratch(gpu::forward_workspace_bytes(spec.m, spec.n, sizeof(T)));
    out.stats = passes.forward(x, la, lb, spec, plan, f, g, ws);
  });
  st.collect();
  return out;
}

at::Tensor implicit_backward(const at::Tensor& P_in, const at::Tensor& grad_in, double tau,
                             double cg_tol, int cg_max_iters, ot::ImplicitBackwardStats* stats_out,
                             Backend backend) {
  require(P_in.dim() == 2 && P_in.numel() > 0, "implicit backward: the plan must be a non-empty matrix");
  require(P_in.scalar_type() == at::kFloat || P_in.scalar_type() == at::kDouble,
          "implicit backward: the plan must be float32 or float64");
  require(grad_in.sizes() == P_in.sizes(), "implicit backward: gradient and plan shapes differ");
  require(tau > 0 && std::isfinite(tau), "implicit backward: tau must be positive");
  check_backend(backend, P_in);
  require(at::isfinite(grad_in).all().item<bool>(), "implicit backward: the incoming gradient has NaN or Inf");
  const at::ScalarType dtype = P_in.scalar_type();
  const std::int64_t m = P_in.size(0), n = P_in.size(1);
  const double tol = cg_tol > 0 ? cg_tol : (dtype == at::kFloat ? 1e-6 : 1e-12);
  Staging st(backend == Backend::Reference, P_in);
  ot::ImplicitBackwardStats stats;
  at::Tensor grad;
  AT_DISPATCH_FLOATING_TYPES(dtype, "gpu_implicit_backward", [&] {
    using T = scalar_t;
    const Passes<T> passes{backend == Backend::Reference};
    const T* P = st.in<T>(P_in, dtype);
    const T* G = st.in<T>(grad_in, dtype);
    void* ws = backend == Backend::Reference
                   ? nullptr
                   : st.scratch(gpu::backward_workspace_bytes(m, n, sizeof(T)));
    T* a_d = st.scratch_of<T>(m);
    T* h1_d = st.scratch_of<T>(m);
    double* sums_d = st.scratch_of<double>(4 * n);  // b | h2 | dsq | t
    passes.prepare(P, G, m, n, a_d, h1_d, sums_d, sums_d + n, sums_d + 2 * n, sums_d + 3 * n, ws);
    std::vector<T> a(m);
    std::vector<double> sums(4 * n);
    st.download(a.data(), a_d, m * sizeof(T));
    st.download(sums.data(), sums_d, sums.size() * sizeof(double));
    for (std::int64_t i = 0; i < m; ++i) require(a[i] > 0, "implicit backward: the plan has an empty row");
    std::vector<T> inv_a(m), bt(n);
    std::vector<double> diag(n), rhs(n);
    for (std::int64_t i = 0; i < m; ++i) inv_a[i] = T(1) / a[i];
    for (std::int64_t j = 0; j < n; ++j) {
      const double b = sums[j], h2 = sums[n + j], dsq = sums[2 * n + j], t = sums[3 * n + j];
      require(b > 0, "implicit backward: the plan has an empty column");
      bt[j] = static_cast<T>(b);
      // Jacobi diagonal of S in T, as the CPU path rounds it, kept away from 0.
      diag[j] = double(static_cast<T>(std::max(b - dsq, b * 1e-6)));
      rhs[j] = h2 - t;
    }
    T* inv_a_d = st.scratch_of<T>(m);
    T* b_d = st.scratch_of<T>(n);
    T* p_d = st.scratch_of<T>(n);
    T* y_d = st.scratch_of<T>(n);
    st.upload(inv_a_d, inv_a.data(), m * sizeof(T));
    st.upload(b_d, bt.data(), n * sizeof(T));
    std::vector<T> pt(n), yt(n);
    auto apply_S = [&](const std::vector<double>& x, std::vector<double>& y) {
      for (std::int64_t j = 0; j < n; ++j) pt[j] = static_cast<T>(x[j]);
      st.upload(p_d, pt.data(), n * sizeof(T));
      passes.matvec(P, m, n, inv_a_d, b_d, p_d, y_d, ws);
      st.download(yt.data(), y_d, n * sizeof(T));
      y.assign(yt.begin(), yt.end());
    };
    const std::vector<double> v = solve_schur(apply_S, diag, std::move(rhs), tol, cg_max_iters, stats);
    const std::vector<T> vt(v.begin(), v.end());
    T* v_d = st.scratch_of<T>(n);
    st.upload(v_d, vt.data(), n * sizeof(T));
    T* out = st.out<T>(grad, {m, n}, dtype);
    passes.finish(P, G, m, n, a_d, h1_d, v_d, static_cast<T>(1.0 / tau), out, ws);
  });
  st.collect();
  if (stats_out) *stats_out = stats;
  return grad;
}

}  // namespace rebasin::cuda
