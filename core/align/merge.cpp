// Merging N models: star or universe alignment, the weighted average, REPAIR, and the
// cycle-consistency measure of pairwise maps (merge.h).
#include "align/merge.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "eval/interpolation.h"
#include "nn/mapping.h"
#include "nn/permute.h"
#include "ot/permutation.h"

namespace rebasin::align {

MergeTarget parse_merge_target(const std::string& t) {
  if (t == "first") return MergeTarget::First;
  if (t == "universe") return MergeTarget::Universe;
  if (t == "universe-sinkhorn") return MergeTarget::UniverseSinkhorn;
  throw UserError("unknown merge target '" + t + "' (first, universe, universe-sinkhorn)");
}

std::string to_string(MergeTarget t) {
  switch (t) {
    case MergeTarget::First: return "first";
    case MergeTarget::Universe: return "universe";
    case MergeTarget::UniverseSinkhorn: return "universe-sinkhorn";
  }
  return {};
}

std::vector<double> merge_weights(const std::vector<double>& weights, std::size_t models) {
  if (weights.empty()) return std::vector<double>(models, 1.0 / static_cast<double>(models));
  require(weights.size() == models, "--weights: " + std::to_string(weights.size()) + " weights for " +
                                        std::to_string(models) + " models");
  double sum = 0;
  for (double w : weights) {
    require(std::isfinite(w) && w >= 0, "--weights: every weight must be a finite number >= 0");
    sum += w;
  }
  require(sum > 0, "--weights: the weights sum to 0");
  std::vector<double> out;
  for (double w : weights) out.push_back(w / sum);
  return out;
}

NamedTensors weighted_average(const std::vector<NamedTensors>& models, const std::vector<double>& weights) {
  require(!models.empty() && models.size() == weights.size(), "average: one weight per model");
  for (const auto& m : models) nn::check_same_layout(models.front(), m);
  at::NoGradGuard no_grad;
  NamedTensors out;
  for (std::size_t p = 0; p < models.front().size(); ++p) {
    const at::Tensor& first = models.front()[p].tensor;
    if (!at::isFloatingType(first.scalar_type())) {
      out.push_back({models.front()[p].name, first.clone()});
      continue;
    }
    // Summed in double: the average of identical models is the model, bit for bit in float32.
    at::Tensor sum = at::zeros(first.sizes(), first.options().dtype(at::kDouble));
    for (std::size_t i = 0; i < models.size(); ++i) sum.add_(models[i][p].tensor.to(at::kDouble), weights[i]);
    out.push_back({models.front()[p].name, sum.to(first.scalar_type())});
  }
  return out;
}

PairwisePermutations pairwise_from_frame(const ModelPermutations& to_frame) {
  const std::size_t n = to_frame.size();
  PairwisePermutations out(n, std::vector<std::vector<at::Tensor>>(n));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      for (std::size_t g = 0; g < to_frame[i].size(); ++g)
        out[i][j].push_back(ot::compose(to_frame[j][g].cpu(), ot::inverse_permutation(to_frame[i][g].cpu())));
  return out;
}

double cycle_error(const PairwisePermutations& pw) {
  const std::size_t n = pw.size();
  if (n < 3) return std::numeric_limits<double>::quiet_NaN();
  double wrong = 0, units = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      for (std::size_t k = j + 1; k < n; ++k)
        for (std::size_t g = 0; g < pw[i][k].size(); ++g) {
          // k -> j, then j -> i.
          const at::Tensor via = ot::compose(pw[j][k][g].cpu(), pw[i][j][g].cpu());
          wrong += (via != pw[i][k][g].cpu()).sum().item<double>();
          units += static_cast<double>(via.numel());
        }
  return units > 0 ? wrong / units : 0.0;
}

PairwisePermutations pairwise_alignments(const nn::Architecture& arch, const std::vector<NamedTensors>& models,
                                         const data::Dataset* data, const AlignOptions& options,
                                         const ModelPermutations* star, const CancelToken* cancel) {
  const std::size_t n = models.size();
  PairwisePermutations out(n, std::vector<std::vector<at::Tensor>>(n));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      out[i][j] = i == 0 && star ? (*star)[j] : align(arch, models[i], models[j], data, options, nullptr, cancel).perms;
  return out;
}

MergeResult merge(const nn::Architecture& arch, const std::vector<NamedTensors>& models,
                  const data::Dataset* data, const MergeOptions& o, EventSink* sink,
                  const CancelToken* cancel) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto& spec = arch.spec();
  require(models.size() >= 2, "merge: needs at least 2 models, got " + std::to_string(models.size()));
  require(!o.repair || (data && data->size() > 0), "merge: --repair needs --data");
  MergeResult r;
  r.weights = merge_weights(o.weights, models.size());
  const std::size_t n = models.size();
  auto progress = [&](double fraction) {
    if (!sink) return;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sink->progress({"merge", fraction, s, fraction > 0 ? s * (1 - fraction) / fraction : 0.0});
  };
  // Star: every model aligned to the first (also the universe's start).
  r.perms.push_back(nn::identity_permutations(spec));
  for (std::size_t i = 1; i < n; ++i) {
    r.perms.push_back(align(arch, models[0], models[i], data, o.align, nullptr, cancel).perms);
    progress(0.5 * static_cast<double>(i) / static_cast<double>(n - 1));
  }
  r.star = r.perms;
  if (o.target != MergeTarget::First) {
    UniverseResult u = o.target == MergeTarget::Universe
                           ? universe_alignment(spec, models, r.weights, r.perms, o.universe_steps, cancel)
                           : sinkhorn_universe(spec, models, r.weights, r.perms, o.universe_steps, o.align, cancel);
    r.perms = std::move(u.perms);
    r.universe_steps = u.steps;
    r.objective_start = u.objective_start;
    r.objective = u.objective;
  } else {
    r.objective_start = r.objective = universe_objective(spec, models, r.weights, r.perms);
  }
  progress(0.8);
  check_cancel(cancel);
  std::vector<NamedTensors> aligned;
  for (std::size_t i = 0; i < n; ++i) aligned.push_back(nn::permute(spec, models[i], r.perms[i]));
  r.merged_plain = weighted_average(aligned, r.weights);
  // An average of BatchNorm networks keeps averaged running statistics that describe none of
  // them; recompute them as interpolation curves do.
  if (data && data->size() >= 2) r.merged_plain = eval::reset_batchnorm(arch, r.merged_plain, *data, 2000, o.align.seed);
  r.merged = r.merged_plain;
  if (o.repair) {
    std::vector<eval::UnitStatistics> stats;
    for (const NamedTensors& a : aligned) stats.push_back(eval::unit_statistics(arch, a, *data, o.repair_options));
    r.merged = eval::repair(arch, r.merged_plain, stats, r.weights, *data, o.repair_options);
  }
  progress(1.0);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

MergeEvaluation evaluate_merge(const nn::Architecture& arch, const std::vector<NamedTensors>& models,
                               const MergeResult& r, bool repaired, const data::Dataset& train,
                               const data::Dataset& eval_set, std::uint64_t seed, const CancelToken* cancel) {
  MergeEvaluation e;
  for (std::size_t i = 0; i < models.size(); ++i) {
    check_cancel(cancel);
    e.endpoints.push_back(eval::evaluate(arch, models[i], eval_set));
    const eval::Metrics& m = e.endpoints.back(), &best = e.endpoints[e.best];
    if (eval_set.is_regression() ? m.loss < best.loss : m.accuracy > best.accuracy) e.best = i;
  }
  e.merged = eval::evaluate(arch, r.merged, eval_set);
  e.merged_plain = repaired ? eval::evaluate(arch, r.merged_plain, eval_set) : e.merged;
  check_cancel(cancel);
  const NamedTensors naive = eval::reset_batchnorm(arch, weighted_average(models, r.weights), train, 2000, seed);
  e.naive_average = eval::evaluate(arch, naive, eval_set);
  e.ensemble = eval::evaluate_ensemble(arch, models, eval_set);
  return e;
}

}  // namespace rebasin::align
