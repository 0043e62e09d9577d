// The replay memory of rebasin-il and the replay baseline: a fixed number of samples per task
// (replay_size / tasks, as the reference's non-adaptive experience-balanced buffer), split
// evenly over the task's classes, chosen at random (seeded) once the task is learned.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "data/dataset.h"

namespace rebasin::continual {

struct Batch {
  at::Tensor x, y, task;  // inputs, int64 targets, int64 task ids
};

class ReplayBuffer {
 public:
  explicit ReplayBuffer(std::int64_t per_task = 0) : per_task_(per_task) {}

  // Stores per_task samples of task `task` from `set` (its training samples): per_task /
  // classes.size() of each class, the first classes one more while a remainder is left; a
  // class with fewer samples gives all it has.
  void add(int task, const data::Dataset& set, const std::vector<std::int64_t>& classes, std::uint64_t seed);

  std::int64_t size() const { return x_.defined() ? x_.size(0) : 0; }
  std::int64_t per_task() const { return per_task_; }
  // Everything stored (x on the device it was added from, y and task int64).
  Batch all() const { return {x_, y_, task_}; }
  // min(n, size()) distinct stored samples chosen at random (seeded); empty tensors if none.
  Batch draw(std::int64_t n, std::uint64_t seed) const;

 private:
  std::int64_t per_task_ = 0;
  at::Tensor x_, y_, task_;
};

}  // namespace rebasin::continual
