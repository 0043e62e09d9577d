// The universe of merge.h optimised by Sinkhorn re-basin instead of Frank-Wolfe: soft plans of
// every model but the first (which fixes the frame), one gradient step on all of them at a time,
// the hard assignments scored by the exact objective after each step.
//
// Each model's cost is Sinkhorn re-basin's l2 against the others as they stand: the weighted
// average of the other models permuted by their current hard assignments (fixed within a step).
// The spread of the soft-permuted models themselves, sum_{i<j} w_i w_j |P_i t_i - P_j t_j|^2,
// looks like the natural objective but is not: blurred plans pull every model's units towards
// its mean unit, which shrinks all pairwise distances at once, so from the star start on MNIST
// MLPs it never found a better assignment (4 and 8 models, 50 steps, measured while designing it).
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <memory>

#include "align/merge.h"
#include "align/soft_plans.h"
#include "common/error.h"
#include "nn/permute.h"
#include "ot/permutation.h"

namespace rebasin::align {
namespace {

// Chosen by measurement. The step is the gradient scaled so that each logit matrix's largest
// entry moves by the rate (not Adam's: it moves every logit by about the rate whatever its
// gradient, and from the star start on the MNIST MLPs all 512 x 512 logits crossed the start's
// margin together at step 7 - nearly every unit reassigned, the objective down from 137 to 38).
// Rates: 0.5 finds the optimum on tst_merge's permuted copies and on 4 MNIST MLPs climbs a
// little above the star (137.31 against 136.99, docs/results.md); 1 and 2 drift below it. The hard objective
// climbs in plateaus of up to ~50 steps, hence the patience.
constexpr double kDefaultLr = 0.5;
constexpr int kDefaultPatience = 50;
// The rate ramps up over the first steps from the decisive start plans.
constexpr int kWarmupSteps = 10;

// Learnable entries only, detached (buffers take no part in the objective, as in universe.cpp).
NamedTensors learnable(const nn::PermutationSpec& spec, const NamedTensors& model) {
  NamedTensors out;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (!spec.params()[i].buffer) out.push_back({model[i].name, model[i].tensor.detach().to(at::kFloat)});
  return out;
}

// sum_{i >= 1} w_i |P_i t_i - target_i|^2, target_i the w-weighted mean of the others (given).
at::Tensor distance_to_targets(const std::vector<NamedTensors>& aligned, const std::vector<NamedTensors>& targets,
                               const std::vector<double>& w) {
  at::Tensor cost;
  for (std::size_t i = 1; i < aligned.size(); ++i)
    for (std::size_t p = 0; p < aligned[i].size(); ++p) {
      const at::Tensor term = w[i] * (aligned[i][p].tensor - targets[i][p].tensor).pow(2).sum();
      cost = cost.defined() ? cost + term : term;
    }
  return cost;
}

// For every model i, the others' weighted mean (each permuted by `perms`), detached.
std::vector<NamedTensors> leave_one_out_means(const nn::PermutationSpec& spec, const std::vector<NamedTensors>& sets,
                                              const ModelPermutations& perms, const std::vector<double>& w) {
  at::NoGradGuard no_grad;
  std::vector<NamedTensors> hard;
  for (std::size_t i = 0; i < sets.size(); ++i) hard.push_back(nn::permute(spec, sets[i], perms[i]));
  std::vector<NamedTensors> out(sets.size());
  for (std::size_t i = 1; i < sets.size(); ++i) {
    double total = 0;
    for (std::size_t j = 0; j < sets.size(); ++j)
      if (j != i) total += w[j];
    for (std::size_t p = 0; p < sets[i].size(); ++p) {
      at::Tensor mean;
      for (std::size_t j = 0; j < sets.size(); ++j) {
        if (j == i) continue;
        const at::Tensor t = hard[j][p].tensor * (w[j] / total);
        mean = mean.defined() ? mean + t : t;
      }
      out[i].push_back({sets[i][p].name, mean});
    }
  }
  return out;
}

}  // namespace

UniverseResult sinkhorn_universe(const nn::PermutationSpec& spec, const std::vector<NamedTensors>& models,
                                 const std::vector<double>& weights, ModelPermutations start, int max_steps,
                                 const AlignOptions& o, const CancelToken* cancel) {
  const std::size_t n = models.size(), groups = spec.groups().size();
  require(n >= 2 && weights.size() == n && start.size() == n, "universe: one weight and one start per model");
  require(o.tau > 0 && std::isfinite(o.tau), "universe: tau must be positive");
  // Model 0 is the frame: every start re-based so that its map is the identity (f is unchanged
  // when all maps are composed with one permutation).
  for (std::size_t i = n; i-- > 0;)
    for (std::size_t g = 0; g < groups; ++g)
      start[i][g] = ot::compose(start[i][g].cpu(), ot::inverse_permutation(start[0][g].cpu()));
  std::vector<NamedTensors> sets;
  for (const auto& m : models) sets.push_back(learnable(spec, m));
  const c10::Device device = sets.front().front().tensor.device();

  UniverseResult r;
  r.objective_start = r.objective = universe_objective(spec, models, weights, start);
  r.perms = start;
  std::vector<std::unique_ptr<SoftPlans>> soft;
  const double lr = o.lr > 0 ? o.lr : kDefaultLr;
  for (std::size_t i = 1; i < n; ++i)
    soft.push_back(std::make_unique<SoftPlans>(spec, start[i], at::TensorOptions().dtype(at::kFloat).device(device)));
  ot::SinkhornOptions so;
  so.tau = o.tau;
  so.iters = o.sinkhorn_iters;
  so.backward = o.backward;
  const int patience = o.patience >= 0 ? o.patience : kDefaultPatience;
  int best_step = 0;
  ModelPermutations current = start;  // the plans' hard assignments, the targets' permutations
  for (int step = 1; step <= max_steps; ++step) {
    check_cancel(cancel);
    {
      const std::vector<NamedTensors> targets = leave_one_out_means(spec, sets, current, weights);
      at::AutoGradMode grad(true);
      std::vector<NamedTensors> aligned{sets[0]};
      for (std::size_t i = 1; i < n; ++i) aligned.push_back(nn::permute(spec, sets[i], soft[i - 1]->plans(so)));
      const at::Tensor cost = distance_to_targets(aligned, targets, weights);
      torch::autograd::backward({cost});
    }
    // Each logit matrix moves against its gradient scaled so that its largest entry moves by the
    // rate: entries the cost does not care about stay where they are.
    const double ramp = std::min(1.0, double(step) / kWarmupSteps);
    {
      at::NoGradGuard no_grad;
      for (const auto& s : soft)
        for (const auto& [param, scale] : s->parameters()) {
          at::Tensor& g = const_cast<at::Tensor&>(param).mutable_grad();
          if (!g.defined()) continue;
          const double top = g.abs().max().item<double>();
          if (top > 0) const_cast<at::Tensor&>(param).sub_(g * (lr * scale * ramp / top));
          g = at::Tensor();
        }
    }
    ModelPermutations hard{start[0]};
    for (std::size_t i = 1; i < n; ++i) hard.push_back(soft[i - 1]->hard(so));
    const double f = universe_objective(spec, models, weights, hard);
    current = hard;
    r.steps = step;
    // Better by more than rounding: the objective is a sum of float products.
    if (f > r.objective + 1e-9 * std::max(1.0, std::abs(r.objective))) {
      r.objective = f;
      r.perms = std::move(hard);
      best_step = step;
    }
    if (patience > 0 && step - best_step >= patience) break;
  }
  return r;
}

}  // namespace rebasin::align
