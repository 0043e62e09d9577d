#include "eval/barrier_matrix.h"

#include <algorithm>

#include "common/error.h"
#include "eval/interpolation.h"
#include "nn/permute.h"

namespace rebasin::eval {

std::vector<double> pairwise_barriers(const nn::Architecture& arch, const std::vector<NamedTensors>& models,
                                      const std::vector<std::vector<std::vector<at::Tensor>>>* maps,
                                      const data::Dataset& eval_set, const data::Dataset* bn_train_set,
                                      const BarrierMatrixOptions& options, const CancelToken* cancel,
                                      const std::function<void(int, int, double)>& on_pair) {
  const int n = static_cast<int>(models.size());
  require(options.points >= 3, "barriers need at least 3 points per pair");
  if (maps) require(static_cast<int>(maps->size()) >= n, "barriers: one row of maps per model");
  std::vector<double> out(static_cast<std::size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      check_cancel(cancel);
      const NamedTensors b = maps ? nn::permute(arch.spec(), models[j], (*maps)[i][j]) : models[j];
      const Curve c = interpolation_curve(arch, models[i], b, eval_set, bn_train_set, options.points, nullptr, "",
                                          cancel, options.split, options.seed);
      out[i * n + j] = out[j * n + i] = c.barrier;
      if (on_pair) on_pair(i, j, c.barrier);
    }
  }
  return out;
}

}  // namespace rebasin::eval
