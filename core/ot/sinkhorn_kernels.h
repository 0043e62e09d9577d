// CPU kernels behind the Sinkhorn operator, on raw row-major arrays (no tensors) so they can be
// reasoned about and benchmarked alone. Every pass reads the matrix once and keeps the row it
// works on in L1: that is what makes them ~one memory read per Sinkhorn iteration instead of
// the several passes and allocations of a torch.logsumexp loop.
#pragma once

#include <cstdint>

namespace rebasin::ot::kernels {

struct ForwardSpec {
  std::int64_t m = 0, n = 0;  // plan is m x n
  double inv_tau = 1.0;       // logits are X * inv_tau
  int max_iters = 20;         // one iteration = column normalisation, then row normalisation
  double tol = 0.0;           // > 0: stop once the L1 column-marginal error / total mass < tol
};

struct ForwardStats {
  int iterations = 0;
  double marginal_error = 0.0;  // L1 column-marginal error / total mass of the returned plan
  bool log_domain = false;      // true when the exp-per-entry log-domain passes were used
  bool non_finite = false;      // X had NaN/Inf: nothing else is valid
};

// Log-domain Sinkhorn of X * inv_tau with marginals exp(log_a) (m) and exp(log_b) (n), the same
// sequence of normalisations as the reference loop (columns first, then rows, per iteration).
// Writes the plan P (m x n) and log potentials f (m), g (n) with
// log P_ij = X_ij * inv_tau + f_i + g_j. When the logits' range allows it (no underflow), the
// iterations run as matrix scaling over a precomputed kernel (two FMAs per entry); otherwise,
// or if scaling loses range, as fused log-domain passes that stay exact at any tau. NaN/Inf in
// X is detected in the first pass (stats.non_finite).
template <typename T>
ForwardStats sinkhorn_forward(const T* X, const T* log_a, const T* log_b, const ForwardSpec& spec,
                              T* plan, T* f, T* g);

// y = diag(b) p - P^T diag(inv_a) P p, the Schur complement of the implicit-differentiation
// system applied to p, in one pass over P (each row's dot and axpy share the cached row).
// Alternate `backwards` between calls: the pass then starts on the rows still in cache.
template <typename T>
void schur_matvec(const T* P, std::int64_t m, std::int64_t n, const T* inv_a, const T* b,
                  const T* p, T* y, bool backwards = false);

// First pass of the implicit backward over P and G = dL/dP (m x n): row sums a = P 1 and
// h1 = (G .* P) 1 (m), and per column (n, double): b = P^T 1, h2 = (G .* P)^T 1,
// dsq = P^T diag(1/a) P diagonal = sum_i P_ij^2 / a_i, and t = P^T (h1 / a).
template <typename T>
void implicit_prepare(const T* P, const T* G, std::int64_t m, std::int64_t n, T* a, T* h1,
                      double* b, double* h2, double* dsq, double* t);

// Last pass: u_i = (h1_i - P_i . v) / a_i and dL/dX = P .* (G - u 1^T - 1 v^T) * inv_tau.
template <typename T>
void implicit_finish(const T* P, const T* G, std::int64_t m, std::int64_t n, const T* a,
                     const T* h1, const T* v, T inv_tau, T* grad);

}  // namespace rebasin::ot::kernels
