// Merging N models (METHOD.md sections 6-7; Git Re-Basin's merging, C2M3's universe): bring
// every model into one frame by permutation, then average their parameters with weights.
// Star: each model aligned to the first by a pairwise method. Universe (Crisostomi et al.,
// "C2M3: Cycle-Consistent Multi-Model Merging", NeurIPS 2024): every model i gets its own map
// P_i into a shared universe, optimised jointly by Frank-Wolfe over the permutation polytope for
// the sum over all pairs of the weight-matching objective; the pairwise maps P_j^-1 P_i are
// then cycle-consistent by construction. Pairwise alignments made independently are not, and
// cycle_error measures by how much.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "align/align.h"
#include "common/cancel.h"
#include "common/events.h"
#include "common/named_tensor.h"
#include "data/dataset.h"
#include "eval/evaluate.h"
#include "eval/repair.h"
#include "nn/architecture.h"

namespace rebasin::align {

// First: every model aligned to the first (star). Universe: C2M3's Frank-Wolfe. UniverseSinkhorn:
// the same objective over soft plans of every model, optimised together (sinkhorn_universe).
enum class MergeTarget { First, Universe, UniverseSinkhorn };
MergeTarget parse_merge_target(const std::string& text);  // first|universe|universe-sinkhorn
std::string to_string(MergeTarget t);

// One permutation per group for each model: perms[i][g].
using ModelPermutations = std::vector<std::vector<at::Tensor>>;
// Maps between pairs of models: pairwise[i][j][g] for i < j (the rest empty).
using PairwisePermutations = std::vector<std::vector<std::vector<at::Tensor>>>;

struct MergeOptions {
  AlignOptions align;                  // the pairwise method (star, and the universe's start)
  MergeTarget target = MergeTarget::First;
  std::vector<double> weights;         // one per model, >= 0, not all 0; empty: equal
  int universe_steps = 100;            // Frank-Wolfe iterations (or Sinkhorn steps) at most
  bool repair = false;                 // REPAIR the average (needs training data)
  eval::RepairOptions repair_options;
};

struct MergeResult {
  ModelPermutations perms;             // model i into the first model's frame (perms[0]: identity)
  ModelPermutations star;              // each model aligned to the first by the pairwise method
  std::vector<double> weights;         // as used: normalised to sum 1
  NamedTensors merged;                 // weighted average of the aligned models (REPAIRed if asked)
  NamedTensors merged_plain;           // the same before REPAIR (== merged without it)
  int universe_steps = 0;              // Frank-Wolfe iterations run (0 for star)
  double objective_start = 0.0, objective = 0.0;  // sum over pairs of <P_i theta_i, P_j theta_j>
  double seconds = 0.0;                // alignment and averaging (REPAIR included)
};

// models: parameter sets of `arch` (spec names and order), at least 2. data: the training set
// (methods that need data, REPAIR, BatchNorm reset of the average); may be nullptr otherwise.
MergeResult merge(const nn::Architecture& arch, const std::vector<NamedTensors>& models,
                  const data::Dataset* data, const MergeOptions& options, EventSink* sink = nullptr,
                  const CancelToken* cancel = nullptr);

// How a merge scores beside its references on one split: every model (best: the best one's index,
// by accuracy, or loss for regression), the merged model (merged_plain: before REPAIR, evaluated
// only when `repaired`, else equal to merged), the naive average of the unaligned models with
// their BatchNorm statistics recomputed on `train`, and the ensemble (mean of softmax outputs).
struct MergeEvaluation {
  std::vector<eval::Metrics> endpoints;
  std::size_t best = 0;
  eval::Metrics merged, merged_plain, naive_average, ensemble;
};
MergeEvaluation evaluate_merge(const nn::Architecture& arch, const std::vector<NamedTensors>& models,
                               const MergeResult& result, bool repaired, const data::Dataset& train,
                               const data::Dataset& eval_set, std::uint64_t seed, const CancelToken* cancel = nullptr);

// sum_i weights[i] * models[i] for every floating tensor; integer buffers are the first model's.
NamedTensors weighted_average(const std::vector<NamedTensors>& models, const std::vector<double>& weights);

// weights checked (count, finite, >= 0, positive sum; UserError naming the fault) and normalised
// to sum 1; empty: equal weights.
std::vector<double> merge_weights(const std::vector<double>& weights, std::size_t models);

// Frank-Wolfe over the product of Birkhoff polytopes (universe.cpp). start: each model's map
// into the universe (hard), e.g. a star alignment. Maximises
// f = sum_{i<j} w_i w_j <pi_{P_i}(theta_i), pi_{P_j}(theta_j)> over learnable parameters, with an
// exact line search (f is a polynomial in the step along a segment), and returns the hard
// projection of the final plans, or the start when that projection scores lower. The returned
// maps are re-based so that model 0's is the identity.
struct UniverseResult {
  ModelPermutations perms;
  int steps = 0;
  double objective_start = 0.0, objective = 0.0;  // hard objectives of start and result
};
UniverseResult universe_alignment(const nn::PermutationSpec& spec, const std::vector<NamedTensors>& models,
                                  const std::vector<double>& weights, ModelPermutations start,
                                  int max_steps, const CancelToken* cancel = nullptr);

// The Sinkhorn variant: every model i >= 1 gets soft plans into model 0's frame (Sinkhorn
// re-basin's, soft_plans.h: two-level for head groups), all optimised together by gradient steps
// (each logit matrix's largest entry moves by the rate), each on
// its l2 distance to the weighted mean of the others as their current hard assignments place
// them (sum_i w_i |pi_{P_i}(theta_i) - mean_{j != i}|^2), from `start`. After each step the
// plans' hard assignments are scored by f; the best seen (the start included) is kept,
// and the run stops after `patience` steps without a better one. options: tau, sinkhorn_iters,
// lr (0: 0.5, ramped up over the first 10 steps), patience (-1: 50), backward. Returned maps: model 0's is the identity.
UniverseResult sinkhorn_universe(const nn::PermutationSpec& spec, const std::vector<NamedTensors>& models,
                                 const std::vector<double>& weights, ModelPermutations start, int max_steps,
                                 const AlignOptions& options, const CancelToken* cancel = nullptr);

// The objective above for hard permutations.
double universe_objective(const nn::PermutationSpec& spec, const std::vector<NamedTensors>& models,
                          const std::vector<double>& weights, const ModelPermutations& perms);

// pairwise[i][j] (i < j): the permutations aligning model j to model i. Over all triples
// i < j < k: the fraction of units (over all groups) where going k -> j -> i differs from
// k -> i; 0 for cycle-consistent maps. NaN for fewer than 3 models.
double cycle_error(const PairwisePermutations& pairwise);

// Independent alignments of every pair by one pairwise method: result[i][j] (i < j) aligns
// model j to model i. star (optional): result[0][j] taken from it instead of aligned again.
PairwisePermutations pairwise_alignments(const nn::Architecture& arch, const std::vector<NamedTensors>& models,
                                         const data::Dataset* data, const AlignOptions& options,
                                         const ModelPermutations* star = nullptr,
                                         const CancelToken* cancel = nullptr);

// Pairwise maps implied by maps into one frame: j into i's frame is P_i^-1 after P_j.
PairwisePermutations pairwise_from_frame(const ModelPermutations& to_frame);

}  // namespace rebasin::align
