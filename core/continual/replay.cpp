#include "continual/replay.h"

#include <ATen/ATen.h>

#include "ot/permutation.h"

namespace rebasin::continual {

void ReplayBuffer::add(int task, const data::Dataset& set, const std::vector<std::int64_t>& classes,
                       std::uint64_t seed) {
  if (per_task_ <= 0 || classes.empty()) return;
  const std::int64_t k = static_cast<std::int64_t>(classes.size());
  const at::Tensor targets = set.targets.to(at::kCPU);
  std::vector<at::Tensor> picks;
  for (std::int64_t i = 0; i < k; ++i) {
    const std::int64_t quota = per_task_ / k + (i < per_task_ % k ? 1 : 0);
    const at::Tensor rows = (targets == classes[i]).nonzero().reshape({-1});
    const std::int64_t take = std::min(quota, rows.size(0));
    if (take == 0) continue;
    const at::Tensor order = ot::random_permutation(rows.size(0), seed + static_cast<std::uint64_t>(i));
    picks.push_back(rows.index_select(0, order.narrow(0, 0, take)));
  }
  if (picks.empty()) return;
  const at::Tensor rows = at::cat(picks).to(set.inputs.device());
  const at::Tensor x = set.inputs.index_select(0, rows);
  const at::Tensor y = set.targets.index_select(0, rows);
  const at::Tensor t = at::full({rows.size(0)}, task, y.options().dtype(at::kLong));
  x_ = x_.defined() ? at::cat({x_, x}) : x;
  y_ = y_.defined() ? at::cat({y_, y}) : y;
  task_ = task_.defined() ? at::cat({task_, t}) : t;
}

Batch ReplayBuffer::draw(std::int64_t n, std::uint64_t seed) const {
  if (size() == 0 || n <= 0) return {};
  if (n >= size()) return all();
  const at::Tensor rows = ot::random_permutation(size(), seed).narrow(0, 0, n).to(x_.device());
  return {x_.index_select(0, rows), y_.index_select(0, rows), task_.index_select(0, rows)};
}

}  // namespace rebasin::continual
