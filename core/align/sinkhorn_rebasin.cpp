// The Sinkhorn re-basin network (METHOD.md sections 2, 5): one free matrix X_p per group, soft
// permutations P_p = Sinkhorn(X_p / tau) (two-level for attention heads: soft_plans.h) applied
// to model B through the spec, a differentiable
// cost (l2, l1: distance to A; mid, rnd: task loss on the path A -> pi(B)), AdamW on the X_p
// only. The hard result is the assignment maximising sum X_ij (as the reference does).
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include "align/methods.h"
#include "align/plan_snapshot.h"
#include "align/soft_plans.h"
#include "common/error.h"
#include "eval/evaluate.h"
#include "ot/permutation.h"
#include "train/optimizer.h"

namespace rebasin::align {
namespace {

using Clock = std::chrono::steady_clock;

// Defaults chosen by measurement (docs/results.md, recovery table). The learning rate of group
// g is lr * ln(n_g): at X = I and tau = 1 the plan of a group of n units is nearly uniform
// (e / (e + n - 1) on the diagonal), and the logit gap needed to make it decisive grows like
// ln(n). A single rate either stalls wide groups (VGG-11 at lr 1: 22% recovered in 200 steps)
// or makes narrow ones oscillate (10 units at lr 10: 10%).
constexpr int kDefaultSteps = 200;
constexpr double kDefaultLr = 1.5;
// From the identity start the rate ramps up linearly over the first steps. Adam's first steps
// move every logit by about the full rate whatever its gradient (m / sqrt(v) is +-1), so at
// full rate the nearly uniform first plans jump to a sharp wrong one and stay there (its
// gradient vanishes): 93-96% recovered on the ViT and GPT fixtures at any number of steps, and
// 89-151 steps on the deep tanh MLPs; with the ramp all recover in 4-9 steps and VGG-11 in 75
// (docs/results.md, table a). A warm start is decisive already and takes the full rate.
constexpr int kWarmupSteps = 10;

NamedTensors detached(const NamedTensors& p) {
  NamedTensors out;
  for (const auto& e : p) out.push_back({e.name, e.tensor.detach()});
  return out;
}

// The plan view is sent the plans of the iterate whose hard assignment it draws, so the logits
// of the best hard permutation are kept to draw the result from.
std::vector<at::Tensor> logits_of(const SoftPlans& soft) {
  std::vector<at::Tensor> out;
  for (const auto& entry : soft.parameters()) out.push_back(entry.first.detach().clone());
  return out;
}

std::vector<at::Tensor> plans_at(const SoftPlans& soft, const std::vector<at::Tensor>& logits,
                                 const ot::SinkhornOptions& so) {
  at::NoGradGuard no_grad;
  for (std::size_t i = 0; i < logits.size(); ++i) soft.parameters()[i].first.copy_(logits[i]);
  return soft.plans(so);
}

}  // namespace

at::Tensor path_loss(const nn::Architecture& arch, const NamedTensors& a, const NamedTensors& b,
                     double lambda, const at::Tensor& x, const at::Tensor& y) {
  NamedTensors mix;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const at::Tensor& ta = a[i].tensor;
    mix.push_back({a[i].name, at::isFloatingType(ta.scalar_type()) ? ta * (1.0 - lambda) + b[i].tensor * lambda : ta});
  }
  return eval::task_loss(arch.forward(mix, x, false), y);
}

AlignResult sinkhorn_rebasin(const nn::Architecture& arch, const NamedTensors& a_in, const NamedTensors& b_in,
                             const data::Dataset* data, const AlignOptions& o, EventSink* sink,
                             const CancelToken* cancel) {
  const auto& spec = arch.spec();
  const auto& groups = spec.groups();
  const int steps = o.steps > 0 ? o.steps : kDefaultSteps;
  const double lr = o.lr > 0 ? o.lr : kDefaultLr;
  require(o.tau > 0 && std::isfinite(o.tau), "align: tau must be positive");
  require(o.init == "identity" || o.init == "weight" || o.init == "auto",
          "align: --init must be identity, weight or auto");
  const int patience = o.stop_at_zero_hard_cost ? 0 : o.patience >= 0 ? o.patience : (o.cost == Cost::L2 || o.cost == Cost::L1 ? 10 : 50);
  const bool warm = o.init == "weight" || (o.init == "auto" && (o.cost == Cost::Mid || o.cost == Cost::Rnd));
  const NamedTensors a = detached(a_in), b = detached(b_in);
  const c10::Device device = a.empty() ? c10::Device(c10::kCPU) : a.front().tensor.device();

  std::vector<at::Tensor> start;
  if (warm) start = weight_matching(spec, a, b, {}, o.max_rounds, o.seed, nullptr, cancel);
  // The logits live where the models do, so on a GPU the Sinkhorn layer runs on the CUDA kernels.
  const SoftPlans soft(spec, start, at::TensorOptions().dtype(at::kFloat).device(device));
  std::vector<train::AdamW> opts;
  for (const auto& [param, scale] : soft.parameters())
    opts.emplace_back(std::vector<at::Tensor>{param}, train::AdamWOptions{lr * scale, 0.9, 0.999, 1e-8, 0.01});
  ot::SinkhornOptions so;
  so.tau = o.tau;
  so.iters = o.sinkhorn_iters;
  so.backward = o.backward;

  std::vector<at::Tensor> batches;
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::size_t next_batch = 0;
  const bool data_cost = o.cost == Cost::Mid || o.cost == Cost::Rnd;

  // The hard permutations of data costs are judged on one fixed batch, so steps compare.
  at::Tensor x_eval, y_eval;
  if (data_cost) {
    const at::Tensor idx = data::batch_indices(data->size(), std::max<std::int64_t>(o.batch_size, 1000), true, o.seed).front();
    x_eval = data->inputs.index_select(0, idx);
    y_eval = data->targets.index_select(0, idx);
  }
  auto hard_cost_of = [&](const std::vector<at::Tensor>& perms) {
    const NamedTensors hb = nn::permute(spec, b, perms);
    return data_cost ? path_loss(arch, a, hb, 0.5, x_eval, y_eval).item<double>()
                     : distance_cost(arch, a, hb, o.cost).item<double>();
  };
  // The result is the best hard permutation seen (the soft objective is not the hard one, and
  // large steps can leave a good assignment behind); a warm start counts as seen.
  std::vector<at::Tensor> best = start;
  double best_cost = start.empty() ? std::numeric_limits<double>::infinity() : hard_cost_of(start);
  int best_step = 0;
  // Only a sink draws the result's plans: without one the copies are not kept.
  std::vector<at::Tensor> best_logits = sink ? logits_of(soft) : std::vector<at::Tensor>{};

  AlignResult r;
  const auto t0 = Clock::now();
  auto last_plan = t0 - std::chrono::hours(1);
  std::vector<at::Tensor> hard(groups.size());
  for (int step = 1; step <= steps; ++step) {
    check_cancel(cancel);
    const std::vector<at::Tensor> plans = soft.plans(so);
    const NamedTensors pib = nn::permute(spec, b, plans);
    at::Tensor x_batch, y_batch;
    double lambda = 0.5;
    if (data_cost) {
      if (next_batch >= batches.size()) {
        batches = data::batch_indices(data->size(), o.batch_size, true, o.seed + step);
        next_batch = 0;
      }
      const at::Tensor& idx = batches[next_batch++];
      x_batch = data->inputs.index_select(0, idx);
      y_batch = data->targets.index_select(0, idx);
      if (o.cost == Cost::Rnd) lambda = unit(rng);
    }
    const at::Tensor cost = data_cost ? path_loss(arch, a, pib, lambda, x_batch, y_batch)
                                      : distance_cost(arch, a, pib, o.cost);
    for (auto& opt : opts) opt.zero_grad();
    torch::autograd::backward({cost});
    if (!warm && step <= kWarmupSteps)
      for (std::size_t i = 0; i < opts.size(); ++i)
        opts[i].set_lr(lr * soft.parameters()[i].second * double(step) / kWarmupSteps);
    for (auto& opt : opts) opt.step();

    hard = soft.hard(so);  // the two-level assignment for head groups
    const double hard_cost = hard_cost_of(hard);
    if (hard_cost < best_cost) {
      best_cost = hard_cost;
      best = hard;
      best_step = step;
      if (sink) best_logits = logits_of(soft);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.steps = step;
    const bool done = step == steps || (o.stop_at_zero_hard_cost && hard_cost == 0.0) ||
                      (patience > 0 && step - best_step >= patience);
    if (sink) {
      sink->step({step, steps, cost.item<double>(), hard_cost, seconds});
      const auto now = Clock::now();
      if (!done && (step == 1 || now - last_plan >= std::chrono::duration<double>(1.0 / o.max_plans_per_second))) {
        last_plan = now;
        // The plans after this step's update: `hard` is their assignment (`plans` are from before).
        at::NoGradGuard no_grad;
        const std::vector<at::Tensor> shown = soft.plans(so);
        for (std::size_t g = 0; g < groups.size(); ++g)
          sink->plan(make_snapshot(step, static_cast<int>(g), groups[g].name, shown[g], hard[g], o.max_plan_side,
                                   groups[g].blocks));
      }
      ProgressEvent p{"align", double(step) / steps, seconds, seconds / step * (steps - step)};
      sink->progress(p);
    }
    if (done) break;
  }
  if (best.empty()) best = hard;  // cannot happen with steps >= 1 (a finite cost is below infinity)
  if (sink) send_result_plans(spec, best, plans_at(soft, best_logits, so), best_step, o.max_plan_side, *sink);
  r.perms = best;
  r.cost = best_cost;
  r.chosen_step = best_step;
  return r;
}

AlignResult run_sinkhorn_rebasin(const MethodCall& c) {
  return sinkhorn_rebasin(c.arch, c.a, c.b, c.data, c.options, c.sink, c.cancel);
}

}  // namespace rebasin::align
