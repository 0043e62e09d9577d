// REPAIR (Jordan, Sedghi, Saukh, Entezari, Neyshabur, "REPAIR: REnormalizing Permuted
// Activations for Interpolation Repair", ICLR 2023): an average of aligned networks loses
// variance in its hidden units, which is most of the barrier that alignment leaves. REPAIR
// measures every unit's pre-activation mean and standard deviation on training data, in each
// endpoint and in the merged model, and rescales the merged model's units so that their
// statistics become the same weighted average of the endpoints' statistics as the weights are.
// The correction is an affine map per unit, folded into the layer that produces the units
// (its weight rows and bias, or the scale and shift of the norm behind it), so the result is an
// ordinary parameter set under the same names.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/events.h"
#include "common/named_tensor.h"
#include "data/dataset.h"
#include "eval/interpolation.h"
#include "nn/architecture.h"

namespace rebasin::eval {

struct RepairOptions {
  std::int64_t samples = 2000;    // training samples the statistics are measured on (seeded pick)
  std::int64_t batch_size = 500;
  std::uint64_t seed = 0;
};

// Per-unit statistics at each unit point of a model (Architecture::UnitHook), in forward order.
struct UnitStatistics {
  std::vector<std::string> layers;     // the prefix whose weight and bias absorb a correction
  std::vector<at::Tensor> mean, stdev; // float64, one value per unit (channel)
};

// True when `arch` reports its units (the built-in MLP, VGG and CIFAR ResNet families).
bool repair_supported(const nn::Architecture& arch);
// UserError naming the architecture when it is not supported (every caller's one check).
void require_repair_supported(const nn::Architecture& arch);

// Statistics of `params` on `train` (UserError for an architecture without unit points).
UnitStatistics unit_statistics(const nn::Architecture& arch, const NamedTensors& params,
                               const data::Dataset& train, const RepairOptions& options = {});

// `merged` (e.g. sum_i weights[i] * aligned model i) with every unit's mean and std set to
// sum_i weights[i] * endpoint statistic i. `endpoints`: the statistics of the aligned models
// (unit_statistics), one per weight. BatchNorm statistics are recomputed first
// (reset_batchnorm). Points are corrected in forward order, each measured after the ones before
// it were folded in, so the result is exact on the sample: merging a model with itself gives
// the model back (up to rounding). The inputs are never written.
NamedTensors repair(const nn::Architecture& arch, const NamedTensors& merged,
                    const std::vector<UnitStatistics>& endpoints, const std::vector<double>& weights,
                    const data::Dataset& train, const RepairOptions& options = {});

// The line from a to b_aligned with REPAIR at every point: the endpoints' statistics are
// measured once; at(lambda) is interpolate(a, b, lambda) REPAIRed towards (1 - lambda) a's +
// lambda b's statistics (use with path_curve, eval/interpolation.h).
class RepairedLine {
 public:
  RepairedLine(const nn::Architecture& arch, NamedTensors a, NamedTensors b_aligned, const data::Dataset& train,
               const RepairOptions& options = {});
  NamedTensors at(double lambda) const;

 private:
  const nn::Architecture& arch_;
  NamedTensors a_, b_;
  const data::Dataset& train_;
  RepairOptions options_;
  std::vector<UnitStatistics> stats_;
};

// The curve of that line (path_curve over RepairedLine::at): REPAIR at every point.
Curve repaired_curve(const nn::Architecture& arch, const NamedTensors& a, const NamedTensors& b_aligned,
                     const data::Dataset& train, const data::Dataset& eval_set, int points, EventSink* sink,
                     const std::string& curve_name, const CancelToken* cancel, const std::string& split,
                     std::uint64_t seed);

}  // namespace rebasin::eval
