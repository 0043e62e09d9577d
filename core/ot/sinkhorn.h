// The Sinkhorn operator of Sinkhorn re-basin (METHOD.md sections 2-3): a soft permutation
// P = Sinkhorn(X / tau) computed in the log domain, differentiable either implicitly (the fixed
// point's linear system, solved by conjugate gradients on its Schur complement: O(mn) memory)
// or by unrolling the iterations through autograd (for comparison).
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>

namespace rebasin::ot {

enum class SinkhornBackward { Implicit, Unrolled };

struct SinkhornOptions {
  double tau = 1.0;  // temperature: P = Sinkhorn(X / tau)
  int iters = 20;    // maximum number of iterations (column then row normalisation)
  double tol = 0.0;  // > 0: stop early once L1 column-marginal error / mass < tol
  // Marginals (positive, finite). Default: rows 1, columns m/n (all ones when square, as in
  // the paper); both must carry the same total mass.
  std::optional<at::Tensor> row_marginal, col_marginal;
  SinkhornBackward backward = SinkhornBackward::Implicit;
  // Conjugate-gradient settings of the implicit backward (relative residual, iteration cap);
  // cg_tol <= 0 picks 1e-6 for float32 and 1e-12 for float64.
  double cg_tol = 0.0;
  int cg_max_iters = 1000;
};

struct SinkhornResult {
  at::Tensor plan;       // m x n, requires grad when X does
  at::Tensor f, g;       // log potentials: log P = X / tau + f[:, None] + g[None, :]
  int iterations = 0;
  double marginal_error = 0.0;  // L1 column-marginal error / total mass
  bool log_domain = false;      // the exp-per-entry path ran (small tau / wide logits)
};

// Forward (and, when X requires grad, a differentiable plan). X: 2-D float32/float64, finite,
// non-empty. Throws UserError on bad input. CPU tensors use the fused kernels; others the
// reference loop (until the CUDA kernels take them).
SinkhornResult sinkhorn(const at::Tensor& X, const SinkhornOptions& options = {});

// The reference loop of the paper's code (torch ops, logsumexp over dim -2 then -1), with
// marginals. Differentiable through autograd: this is also the unrolled mode.
at::Tensor sinkhorn_reference(const at::Tensor& X, const SinkhornOptions& options = {});

struct ImplicitBackwardStats {
  int cg_iterations = 0;
  double relative_residual = 0.0;
};

// dL/dX for P = Sinkhorn(X / tau) at the fixed point, given P and dL/dP (METHOD.md section 3),
// without forming the (m+n-1)^2 system. Marginals are taken from P itself (a = P 1, b = P^T 1)
// so the system is consistent even when P is not fully converged.
at::Tensor sinkhorn_implicit_backward(const at::Tensor& P, const at::Tensor& grad_P, double tau,
                                      double cg_tol = 0.0, int cg_max_iters = 1000,
                                      ImplicitBackwardStats* stats = nullptr);

}  // namespace rebasin::ot
