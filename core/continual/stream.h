// Task streams of continual learning: one base data set (MNIST or Fashion-MNIST) and, per
// task, which of its rows belong to the task and how they are transformed.
//   rotated-mnist   T tasks, task t rotates every image by linspace(0, 180, T)[t] degrees
//                   (nearest neighbour, as torchvision's rotate of the reference benchmark).
//   permuted-mnist  T tasks, task 0 the plain images, task t > 0 a seeded pixel permutation.
//   split-mnist / split-fashion   5 tasks of two classes each: {0,1}, {2,3}, ... {8,9};
//                   task-incremental (scored among the task's two classes) by default, or
//                   class-incremental (scored among all ten).
// Rotated and permuted streams keep all ten classes in every task (domain-incremental).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace rebasin::continual {

struct Task {
  std::string name;                   // "rotate 9.5", "permutation 3", "digits 0,1"
  double angle = 0.0;                 // rotated streams (degrees)
  at::Tensor pixel_perm;              // permuted streams; undefined: identity
  std::vector<std::int64_t> classes;  // the classes whose samples the task holds
  at::Tensor train_rows, test_rows;   // int64 rows of the base training / test set
};

struct StreamOptions {
  std::string name = "rotated-mnist";
  int tasks = 20;  // ignored for split streams
  bool class_incremental = false;
  std::uint64_t seed = 0;              // pixel permutations and per-task subsets
  std::int64_t train_per_task = 0;     // 0: every row of the task
  std::int64_t test_per_task = 0;
  std::string data_dir;
  // After the task's transform, (x - mean) / std with the base set's statistics, as the
  // reference benchmarks feed their models (MNIST 0.1307, 0.3081; Fashion-MNIST 0.2860,
  // 0.3530). Off: pixels in [0, 1].
  bool normalize = true;
};

class Stream {
 public:
  // Loads the base set (UserError when it is missing) and builds the tasks.
  static Stream make(const StreamOptions& options);
  // The same from a base set already in memory, pixels in [0, 1] (tests use small synthetic
  // ones); `normalize` uses the MNIST statistics.
  static Stream from_base(const StreamOptions& options, data::Splits base);

  const std::string& name() const { return name_; }
  int size() const { return static_cast<int>(tasks_.size()); }
  const Task& task(int t) const { return tasks_.at(static_cast<std::size_t>(t)); }
  std::int64_t num_classes() const { return base_.train.num_classes; }
  // Split streams scored within each task's classes (task-incremental).
  bool masks_classes() const { return masks_classes_; }
  // T x num_classes bool: which logits count for each task (all true unless masks_classes).
  const at::Tensor& class_mask() const { return class_mask_; }

  // Task t's training / test samples, transformed (inputs on the CPU).
  data::Dataset train_set(int t) const;
  data::Dataset test_set(int t) const;
  // Samples `local` (int64 indices into task(t).train_rows) of task t's training set,
  // transformed: joint training draws from several tasks without keeping them all.
  data::Dataset train_samples(int t, const at::Tensor& local) const;

 private:
  at::Tensor transform(int t, const at::Tensor& images) const;
  std::string name_;
  double mean_ = 0.0, std_ = 1.0;
  data::Splits base_;
  std::vector<Task> tasks_;
  bool masks_classes_ = false;
  at::Tensor class_mask_;
};

// linspace(0, 180, tasks): the rotation of each task of rotated-mnist.
std::vector<double> rotation_angles(int tasks);

// The class pairs of the split streams: {0,1}, {2,3}, {4,5}, {6,7}, {8,9}.
std::vector<std::vector<std::int64_t>> class_splits();

}  // namespace rebasin::continual
