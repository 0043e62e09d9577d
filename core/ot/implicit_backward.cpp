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
#include "ot/sinkhorn.h"
#include "ot/sinkhorn_kernels.h"

namespace rebasin::ot {
namespace {

void project_out_ones(std::vector<double>& x) {
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  for (double& v : x) v -= mean;
}

double dot(const std::vector<double>& x, const std::vector<double>& y) {
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

// Solves S v = rhs by Jacobi-preconditioned CG; P, inv_a, b in scalar_t.
template <typename T>
std::vector<double> solve_schur(const at::Tensor& P, const at::Tensor& inv_a, const at::Tensor& b,
                                const at::Tensor& diag, std::vector<double> rhs, double tol,
                                int max_iters, ImplicitBackwardStats& stats) {
  const int64_t m = P.size(0), n = P.size(1);
  const T* p_ptr = P.data_ptr<T>();
  const T* ia = inv_a.data_ptr<T>();
  const T* bp = b.data_ptr<T>();
  const T* dp = diag.data_ptr<T>();
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
  require(grad_in.sizes() == P_in.sizes(), "implicit backward: gradient and plan shapes differ");
  require(tau > 0 && std::isfinite(tau), "implicit backward: tau must be positive");
  const auto device = P_in.device();
  // The CG loop runs on the host; GPU plans visit it until the CUDA kernels take over.
  const at::Tensor P = P_in.detach().to(at::kCPU).contiguous();
  const at::Tensor Gh = grad_in.detach().to(at::kCPU, P.scalar_type()).contiguous();
  require(at::isfinite(Gh).all().item<bool>(), "implicit backward: the incoming gradient has NaN or Inf");
  const at::Tensor GP = Gh * P;
  const at::Tensor a = P.sum(1), b = P.sum(0);
  require((a > 0).all().item<bool>() && (b > 0).all().item<bool>(),
          "implicit backward: the plan has an empty row or column");
  const at::Tensor inv_a = a.reciprocal().contiguous();
  const at::Tensor h1 = GP.sum(1), h2 = GP.sum(0);
  // rhs = h2 - P^T (h1 / a); Jacobi diagonal of S, kept away from 0 (near-hard plans).
  const at::Tensor rhs_t = (h2 - at::mv(P.t(), h1 * inv_a)).to(at::kDouble).contiguous();
  const at::Tensor diag =
      at::maximum(b - (P * P * inv_a.unsqueeze(1)).sum(0), b * 1e-6).contiguous();
  std::vector<double> rhs(rhs_t.data_ptr<double>(), rhs_t.data_ptr<double>() + rhs_t.numel());
  const bool is_float = P.scalar_type() == at::kFloat;
  const double tol = cg_tol > 0 ? cg_tol : (is_float ? 1e-6 : 1e-12);
  ImplicitBackwardStats stats;
  std::vector<double> v;
  const at::Tensor bc = b.contiguous();
  AT_DISPATCH_FLOATING_TYPES(P.scalar_type(), "implicit_backward", [&] {
    v = solve_schur<scalar_t>(P, inv_a, bc, diag, std::move(rhs), tol, cg_max_iters, stats);
  });
  const at::Tensor vt = at::from_blob(v.data(), {P.size(1)}, at::kDouble).to(P.scalar_type());
  const at::Tensor ut = (h1 - at::mv(P, vt)) * inv_a;
  at::Tensor gx = P * (Gh - ut.unsqueeze(1) - vt.unsqueeze(0)) / tau;
  if (stats_out) *stats_out = stats;
  return gx.to(device);
}

}  // namespace rebasin::ot
