// Re-basin methods behind one interface (METHOD.md sections 2, 5, 6): find, for every
// permutation group of an architecture, the permutation of model B's units that brings B into
// model A's basin. Every method runs as a job: it reports value-type events (steps, costs,
// throttled plan snapshots) to an EventSink and checks a CancelToken every step.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/events.h"
#include "common/named_tensor.h"
#include "data/dataset.h"
#include "nn/architecture.h"
#include "align/method_registry.h"
#include "ot/sinkhorn.h"

namespace rebasin::align {

// The built-in methods' names (method_registry.h holds them all, with what each needs).
struct Method {
  static constexpr const char* Naive = "naive";
  static constexpr const char* Weight = "weight";
  static constexpr const char* Activation = "activation";
  static constexpr const char* Ste = "ste";
  static constexpr const char* Sinkhorn = "sinkhorn";
};
enum class Cost { L2, L1, Mid, Rnd };

std::string parse_method(const std::string& text);  // a name of method_registry.h (UserError else)
Cost parse_cost(const std::string& text);            // l2|l1|mid|rnd
std::string to_string(Cost c);
bool needs_data(const std::string& method, Cost c);

struct AlignOptions {
  std::string method = Method::Sinkhorn;  // a name of method_registry.h
  Cost cost = Cost::L2;
  // Sinkhorn re-basin network
  double tau = 1.0;
  int sinkhorn_iters = 20;
  double lr = 0.0;                     // <= 0: the method's default
  int steps = 0;                       // <= 0: the method's default
  // identity | weight (warm start from weight matching) | auto: weight for the data costs (mid,
  // rnd), whose identity start stalls above weight matching's barrier on trained pairs
  // (docs/results.md), identity for l2/l1 (the reference's start; recovers hidden permutations).
  std::string init = "auto";
  ot::SinkhornBackward backward = ot::SinkhornBackward::Implicit;
  // Data-driven costs and methods
  std::int64_t batch_size = 500;
  std::uint64_t seed = 0;
  // Stop once the hard permutations' cost is exactly 0 (recovery of a hidden permutation).
  bool stop_at_zero_hard_cost = false;
  // Sinkhorn: stop after this many steps without a better hard permutation (the result is the
  // best one seen). < 0: auto - 10 for l2/l1, 50 for mid/rnd (on the trained pairs of
  // docs/results.md the best came within 10 steps for l2, later for the data costs); 0: run all
  // steps. Not used with stop_at_zero_hard_cost (recovery has a known answer to wait for).
  int patience = -1;
  int max_rounds = 100;        // weight matching
  // Plan snapshots: at most this side (block-averaged) and this rate.
  std::int64_t max_plan_side = 256;
  double max_plans_per_second = 20.0;
};

struct AlignResult {
  std::vector<at::Tensor> perms;  // hard, one int64 index vector per spec group
  int steps = 0;
  int chosen_step = 0;     // the step the permutations are from (best seen; 0: the start)
  double seconds = 0.0;
  double cost = 0.0;       // final objective (hard permutations where the method has one)
};

// a, b: parameter sets of `arch` (spec names and order). data: required by
// needs_data(method, cost) (UserError otherwise). Throws Cancelled when cancelled: nothing
// partial is returned.
AlignResult align(const nn::Architecture& arch, const NamedTensors& a, const NamedTensors& b,
                  const data::Dataset* data, const AlignOptions& options, EventSink* sink = nullptr,
                  const CancelToken* cancel = nullptr);

// Weight matching alone (also the Sinkhorn warm start): coordinate descent over groups.
// anchored_start = false: Git Re-Basin's first round (every term, from `init`) instead of the
// first round that grows out from the fixed axes (weight_matching.cpp) - for comparisons.
std::vector<at::Tensor> weight_matching(const nn::PermutationSpec& spec, const NamedTensors& a,
                                        const NamedTensors& b, std::vector<at::Tensor> init,
                                        int max_rounds, std::uint64_t seed, int* rounds_done = nullptr,
                                        const CancelToken* cancel = nullptr, bool anchored_start = true);

// sum over learnable parameters of ||a - b||^2 (or |a - b|) / number of entries.
at::Tensor distance_cost(const nn::Architecture& arch, const NamedTensors& a, const NamedTensors& b, Cost cost);

}  // namespace rebasin::align
