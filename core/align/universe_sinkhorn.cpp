// The universe of merge.h optimised by Sinkhorn re-basin instead of Frank-Wolfe: soft plans of
// every model but the first (which fixes the frame), one AdamW step on all of them at a time,
// the hard assignments scored by the exact objective after each step.
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
#include "train/optimizer.h"

namespace rebasin::align {
namespace {

// Chosen by measurement (tst_merge's permuted copies, one of them started at the identity): at
// Sinkhorn re-basin's 1.5 the plans of the models already in the frame move off it and the run
// ends short of the optimum (5 of 6 seeds at 1.0); at 0.3-0.5 all reach it. The hard objective
// climbs in plateaus of up to ~50 steps there, hence the patience.
constexpr double kDefaultLr = 0.5;
constexpr int kDefaultPatience = 50;
// Adam's first steps move every logit by about the full rate whatever its gradient; at full rate
// the decisive start plans jump to sharp wrong ones at once (as in sinkhorn_rebasin.cpp).
constexpr int kWarmupSteps = 10;

// Learnable entries only, detached (buffers take no part in the objective, as in universe.cpp).
NamedTensors learnable(const nn::PermutationSpec& spec, const NamedTensors& model) {
  NamedTensors out;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (!spec.params()[i].buffer) out.push_back({model[i].name, model[i].tensor.detach().to(at::kFloat)});
  return out;
}

// sum_{i<j} w_i w_j |a_i - a_j|^2 = W sum_i w_i |a_i|^2 - |sum_i w_i a_i|^2 (W = sum_i w_i), per tensor.
at::Tensor spread(const std::vector<NamedTensors>& aligned, const std::vector<double>& w) {
  double total = 0;
  for (double x : w) total += x;
  at::Tensor cost;
  for (std::size_t p = 0; p < aligned.front().size(); ++p) {
    at::Tensor mean, squares;
    for (std::size_t i = 0; i < aligned.size(); ++i) {
      const at::Tensor a = aligned[i][p].tensor.reshape(-1);
      mean = mean.defined() ? mean + w[i] * a : w[i] * a;
      const at::Tensor sq = w[i] * at::dot(a, a);
      squares = squares.defined() ? squares + sq : sq;
    }
    const at::Tensor term = total * squares - at::dot(mean, mean);
    cost = cost.defined() ? cost + term : term;
  }
  return cost;
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
  std::vector<train::AdamW> opts;
  const double lr = o.lr > 0 ? o.lr : kDefaultLr;
  for (std::size_t i = 1; i < n; ++i) {
    soft.push_back(std::make_unique<SoftPlans>(spec, start[i], at::TensorOptions().dtype(at::kFloat).device(device)));
    for (const auto& [param, scale] : soft.back()->parameters())
      opts.emplace_back(std::vector<at::Tensor>{param}, train::AdamWOptions{lr * scale, 0.9, 0.999, 1e-8, 0.01});
  }
  ot::SinkhornOptions so;
  so.tau = o.tau;
  so.iters = o.sinkhorn_iters;
  so.backward = o.backward;
  const int patience = o.patience >= 0 ? o.patience : kDefaultPatience;
  int best_step = 0;
  for (int step = 1; step <= max_steps; ++step) {
    check_cancel(cancel);
    {
      at::AutoGradMode grad(true);
      std::vector<NamedTensors> aligned{sets[0]};
      for (std::size_t i = 1; i < n; ++i) aligned.push_back(nn::permute(spec, sets[i], soft[i - 1]->plans(so)));
      const at::Tensor cost = spread(aligned, weights);
      for (auto& opt : opts) opt.zero_grad();
      torch::autograd::backward({cost});
    }
    if (step <= kWarmupSteps) {
      std::size_t k = 0;
      for (const auto& s : soft)
        for (const auto& [param, scale] : s->parameters()) opts[k++].set_lr(lr * scale * double(step) / kWarmupSteps);
    }
    for (auto& opt : opts) opt.step();
    ModelPermutations hard{start[0]};
    for (std::size_t i = 1; i < n; ++i) hard.push_back(soft[i - 1]->hard(so));
    const double f = universe_objective(spec, models, weights, hard);
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
