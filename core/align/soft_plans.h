// The free parameters of Sinkhorn re-basin and the soft plans they give, per linked set of the
// spec. A plain group g has one logit matrix X_g (n x n) and the plan Sinkhorn(X_g / tau).
// A head-structured set (h heads of d units; METHOD.md section 4, attention heads) has the
// two-level plan: one head logit matrix Y (h x h) shared by the set's groups - they move their
// heads alike - and, per group, one inner logit matrix Z_ij (d x d) per pair of heads (A's head
// i, B's head j). The plan of the group is the n x n matrix whose block (i, j) is
//     S_ij * Q_ij,   S = Sinkhorn(Y / tau),   Q_ij = Sinkhorn(Z_ij / tau),
// doubly stochastic (each block row sums to S's row) and, at sharp logits, exactly the
// head-structured permutation "A's head i is B's head sigma(i), units by inner_i". Gradients
// reach Y and every Z_ij through the Sinkhorn layer's own backward (implicit or unrolled), so
// the composition needs no backward of its own. A single n x n plan over a head group instead
// mixes units across heads - no such permutation keeps an attention layer's function - and
// stalls short of the exact answer (the ViT and GPT fixtures: 93-95% at 1000 steps).
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>
#include <vector>

#include "nn/spec.h"
#include "ot/sinkhorn.h"

namespace rebasin::align {

class SoftPlans {
 public:
  // start: hard permutations to begin at (one per group, e.g. weight matching's), placed
  // 2 ln(n) above the rest so the first plan already is that permutation; empty: the
  // identity logits of the reference (X = I; Y = I and Z_ij = I).
  SoftPlans(const nn::PermutationSpec& spec, const std::vector<at::Tensor>& start, const at::TensorOptions& options);

  // The optimised tensors with the scale of their learning rate: ln(max(size, e)) of the
  // matrix side (the logit gap that makes an n-way plan decisive grows like ln n).
  const std::vector<std::pair<at::Tensor, double>>& parameters() const { return params_; }

  // One n x n soft plan per group of the spec (differentiable in the parameters).
  std::vector<at::Tensor> plans(const ot::SinkhornOptions& options) const;

  // The hard permutations the current logits stand for: the assignment maximising sum X_ij for
  // a plain group; for a head set, the two-level assignment on the log of its plans (which for
  // one block is the same as on X: log P differs from X / tau by row and column constants).
  std::vector<at::Tensor> hard(const ot::SinkhornOptions& options) const;

 private:
  struct Set {
    std::vector<int> groups;
    std::int64_t heads = 1, dims = 0;
    int outer = -1;           // index into params_ of Y (head sets) or X (a plain group)
    std::vector<int> inner;   // per group of the set: index into params_ of Z, (h*h, d, d)
  };
  // One group's plan from its inner logits (h*h, d, d) and the set's head plan.
  static at::Tensor plan_of(const at::Tensor& z, const at::Tensor& heads, const ot::SinkhornOptions& o);

  const nn::PermutationSpec* spec_;
  std::vector<Set> sets_;
  std::vector<std::pair<at::Tensor, double>> params_;
};

// The n x n two-level plan of one group: block (i, j) = head_plan[i][j] * inner_plans[i*h + j]
// (inner_plans: (h*h, d, d)). Exposed for the tests.
at::Tensor assemble_two_level(const at::Tensor& head_plan, const at::Tensor& inner_plans);

}  // namespace rebasin::align
