// Implicit differentiation of the Sinkhorn fixed point (METHOD.md section 3) without the dense
// (m+n-1)^2 solve. With logP = X/tau + f 1^T + 1 g^T and both marginals fixed, perturbing X
// gives the symmetric system M [u; v] = [h1; h2], M = [[diag(a), P], [P^T, diag(b)]],
// h = row/column sums of (dL/dP .* P), and dL/dX = (P .* (dL/dP - u 1^T - 1 v^T)) / tau.
// Eliminating u leaves the n x n Schur complement S = diag(b) - P^T diag(1/a) P: symmetric,
// positive semi-definite, null space span(1) (M's one degree of freedom), so preconditioned
// conjugate gradients on the projected right-hand side converge, each iteration one fused pass
// over P. Any solution works: shifting v by c shifts u by -c and leaves dL/dX unchanged.
#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "common/error.h"
#include "cuda/sinkhorn_gpu.h"
#include "ot/sinkhorn.h"
#include "ot/sinkhorn_kernels.h"
#include "ot/vector_ops.h"

namespace rebasin::ot {
namespace {

// Solves S v = rhs by Jacobi-preconditioned CG; P, inv_a, b in scalar_t.
template <typename T>
std::vector<double> solve_schur(const T* p_ptr, int64_t m, int64_t n, const T* ia, const T* bp,
                                const T* dp, std::vector<double> rhs, double tol, int max_iters,
                                ImplicitBackwardStats& stats) {
  std::vector<T> pt(n), yt(n);
  int calls = 0;
  auto apply_S = [&](const std::vector<double>& x, std::vector<double>& y) {
    for (int64_t j = 0; j < n; ++j) pt[j] = static_cast<T>(x[j]);
    kernels::schur_matvec<T>(p_ptr, m, n, ia, bp, pt.data(), yt.data(), (calls++ & 1) != 0);
    y.assign(yt.begin(), yt.end());
    project_out_ones(y);
  };
  project_out_ones(rhs);
  std::vector<double> v(n, 0.0), r = rhs, z(n), d(n), q(n);
  const double rhs_norm = std::sqrt(dot(rhs, rhs));
  stats = {};
  if (rhs_norm == 0) return v;
  for (int64_t j = 0; j < n; ++j) z[j] = r[j] / dp[j];
  d = z;
  double rz = dot(r, z);
  for (int it = 1; it <= max_iters; ++it) {
    apply_S(d, q);
    const double dq = dot(d, q);
    if (!(dq > 0)) break;  // exact solution reached (or only the null space left)
    const double alpha = rz / dq;
    for (int64_t j = 0; j < n; ++j) {
      v[j] += alpha * d[j];
      r[j] -= alpha * q[j];
    }
    stats.cg_iterations = it;
    stats.relative_residual = std::sqrt(dot(r, r)) / rhs_norm;
    if (stats.relative_residual < tol) break;
    for (int64_t j = 0; j < n; ++j) z[j] = r[j] / dp[j];
    const double rz_new = dot(r, z);
    const double beta = rz_new / rz;
    rz = rz_new;
    for (int64_t j = 0; j < n; ++j) d[j] = z[j] + beta * d[j];
  }
  return v;
}

}  // namespace

at::Tensor sinkhorn_implicit_backward(const at::Tensor& P_in, const at::Tensor& grad_in,
                                      double tau, double cg_tol, int cg_max_iters,
                                      ImplicitBackwardStats* stats_out) {
  require(P_in.dim() == 2 && P_in.numel() > 0, "implicit backward: the plan must be a non-empty matrix");
  require(P_in.scalar_type() == at::kFloat || P_in.scalar_type() == at::kDouble,
          "implicit backward: the plan must be float32 or float64");
  require(grad_in.sizes() == P_in.sizes(), "implicit backward: gradient and plan shapes differ");
  require(tau > 0 && std::isfinite(tau), "implicit backward: tau must be positive");
  if (cuda::runs_on_gpu(P_in))
    return cuda::implicit_backward(P_in, grad_in, tau, cg_tol, cg_max_iters, stats_out);
  const auto device = P_in.device();
  // The passes run on the host; GPU plans visit it until the CUDA kernels take over.
  const at::Tensor P = P_in.detach().to(at::kCPU).contiguous();
  const at::Tensor G = grad_in.detach().to(at::kCPU, P.scalar_type()).contiguous();
  require(at::isfinite(G).all().item<bool>(), "implicit backward: the incoming gradient has NaN or Inf");
  const int64_t m = P.size(0), n = P.size(1);
  const bool is_float = P.scalar_type() == at::kFloat;
  const double tol = cg_tol > 0 ? cg_tol : (is_float ? 1e-6 : 1e-12);
  ImplicitBackwardStats stats;
  at::Tensor grad = at::empty_like(P);
  AT_DISPATCH_FLOATING_TYPES(P.scalar_type(), "implicit_backward", [&] {
    using T = scalar_t;
    const T* p = P.data_ptr<T>();
    const T* g = G.data_ptr<T>();
    std::vector<T> a(m), h1(m);
    std::vector<double> b(n), h2(n), dsq(n), t(n);
    kernels::implicit_prepare<T>(p, g, m, n, a.data(), h1.data(), b.data(), h2.data(), dsq.data(),
                                 t.data());
    for (int64_t i = 0; i < m; ++i)
      require(a[i] > 0, "implicit backward: the plan has an empty row");
    std::vector<T> inv_a(m), bt(n), diag(n);
    std::vector<double> rhs(n);
    for (int64_t i = 0; i < m; ++i) inv_a[i] = T(1) / a[i];
    for (int64_t j = 0; j < n; ++j) {
      require(b[j] > 0, "implicit backward: the plan has an empty column");
      bt[j] = static_cast<T>(b[j]);
      // Jacobi diagonal of S, kept away from 0 (near-hard plans make it vanish).
      diag[j] = static_cast<T>(std::max(b[j] - dsq[j], b[j] * 1e-6));
      rhs[j] = h2[j] - t[j];
    }
    const std::vector<double> v = solve_schur<T>(p, m, n, inv_a.data(), bt.data(), diag.data(),
                                                 std::move(rhs), tol, cg_max_iters, stats);
    const std::vector<T> vt(v.begin(), v.end());
    kernels::implicit_finish<T>(p, g, m, n, a.data(), h1.data(), vt.data(), static_cast<T>(1.0 / tau),
                                grad.data_ptr<T>());
  });
  if (stats_out) *stats_out = stats;
  return grad.to(device);
}

}  // namespace rebasin::ot
