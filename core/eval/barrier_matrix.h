// Loss barriers between every pair of N models (METHOD.md section 6; C2M3's and Git Re-Basin's
// merging figures): the barrier of the interpolation curve of each pair i < j, with model j
// first mapped into model i's frame when maps are given. The merge command and the studio's
// Merge tab show it before alignment and in the merge's frame.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/named_tensor.h"
#include "data/dataset.h"
#include "nn/architecture.h"

namespace rebasin::eval {

struct BarrierMatrixOptions {
  int points = 9;             // lambdas per pair, endpoints included (at least 3)
  std::string split = "test";
  std::uint64_t seed = 0;     // BatchNorm statistics' sample
};

// N x N, row-major, symmetric, 0 on the diagonal. maps (may be null): maps[i][j] (i < j) are the
// permutations (one per group of arch's spec) that bring model j into model i's frame, as
// align::PairwisePermutations holds them. bn_train_set: BatchNorm statistics are recomputed at
// every point from it (architectures with BatchNorm; null otherwise). on_pair is called after
// each pair with (i, j, barrier) - live views fill cell by cell.
std::vector<double> pairwise_barriers(const nn::Architecture& arch, const std::vector<NamedTensors>& models,
                                      const std::vector<std::vector<std::vector<at::Tensor>>>* maps,
                                      const data::Dataset& eval_set, const data::Dataset* bn_train_set,
                                      const BarrierMatrixOptions& options, const CancelToken* cancel = nullptr,
                                      const std::function<void(int, int, double)>& on_pair = {});

}  // namespace rebasin::eval
