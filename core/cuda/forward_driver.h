// The iteration logic of the log-domain Sinkhorn forward, shared by the GPU kernels and their CPU
// reference so that both stop, write the plan and report errors in exactly the same way (and so
// that this logic is tested on machines without a GPU). A backend supplies the passes.
#pragma once

#include "ot/sinkhorn_kernels.h"

namespace rebasin::cuda {

class ForwardPasses {
 public:
  virtual ~ForwardPasses() = default;
  // g_j = log b_j - LSE_i(X_ij s), f = 0 (the first column normalisation). Returns false when X
  // holds NaN or Inf.
  virtual bool init_columns() = 0;
  // f_i = log a_i - LSE_j(X_ij s + g_j); column sums of the resulting plan kept for the next
  // two calls; the plan written when `write`.
  virtual void row_pass(bool write) = 0;
  // L1 error of the kept column sums against b, over the total mass.
  virtual double column_error() = 0;
  // g_j += log b_j - log colsum_j; columns whose sum underflowed get their exact log-sum-exp.
  virtual void update_columns() = 0;
};

// The same sequence as ot::kernels::sinkhorn_forward's log-domain path: after a converged pass
// that did not write the plan, the pass is repeated (same g) writing it.
inline ot::kernels::ForwardStats run_forward(ForwardPasses& passes,
                                             const ot::kernels::ForwardSpec& spec) {
  ot::kernels::ForwardStats stats;
  stats.log_domain = true;
  if (!passes.init_columns()) {
    stats.non_finite = true;
    return stats;
  }
  for (int it = 1; it <= spec.max_iters; ++it) {
    const bool last = it == spec.max_iters;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool write = attempt == 1 || (last && spec.tol <= 0);
      passes.row_pass(write);
      stats.iterations = it;
      // Reading the error synchronises a GPU: only when it decides something.
      if (last || spec.tol > 0) stats.marginal_error = passes.column_error();
      const bool done = last || stats.marginal_error < spec.tol;
      if (!done) break;
      if (write) return stats;
    }
    passes.update_columns();
  }
  return stats;
}

}  // namespace rebasin::cuda
