#include "continual/stream.h"

#include <ATen/ATen.h>

#include <cstdio>

#include "common/error.h"
#include "continual/seeds.h"
#include "data/transforms.h"
#include "ot/permutation.h"

namespace rebasin::continual {
namespace {

bool is_split(const std::string& name) { return name == "split-mnist" || name == "split-fashion"; }

// The rows of `targets` whose class is in `classes` (all rows when `classes` has every class),
// then at most `limit` of them in a seeded random order (limit <= 0: all, in order).
at::Tensor task_rows(const at::Tensor& targets, const std::vector<std::int64_t>& classes, std::int64_t limit,
                     std::uint64_t seed) {
  at::Tensor keep = at::zeros_like(targets, at::kBool);
  for (std::int64_t c : classes) keep = keep.logical_or(targets == c);
  at::Tensor rows = keep.nonzero().reshape({-1});
  if (limit > 0 && limit < rows.size(0)) {
    const at::Tensor order = ot::random_permutation(rows.size(0), seed).narrow(0, 0, limit);
    rows = rows.index_select(0, std::get<0>(order.sort()));
  }
  return rows;
}

}  // namespace

std::vector<double> rotation_angles(int tasks) {
  std::vector<double> a;
  for (int t = 0; t < tasks; ++t) a.push_back(tasks == 1 ? 0.0 : 180.0 * t / (tasks - 1));
  return a;
}

std::vector<std::vector<std::int64_t>> class_splits() { return {{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}}; }

Stream Stream::make(const StreamOptions& o) {
  require(o.name == "rotated-mnist" || o.name == "permuted-mnist" || is_split(o.name),
          "continual: unknown stream '" + o.name + "' (expected rotated-mnist, permuted-mnist, split-mnist or split-fashion)");
  data::DataOptions d;
  d.data_dir = o.data_dir;
  Stream s = from_base(o, data::load_dataset(o.name == "split-fashion" ? "fashion-mnist" : "mnist", d));
  if (o.normalize && o.name == "split-fashion") s.mean_ = 0.2860, s.std_ = 0.3530;
  return s;
}

Stream Stream::from_base(const StreamOptions& o, data::Splits base) {
  const bool split = is_split(o.name);
  require(o.name == "rotated-mnist" || o.name == "permuted-mnist" || split,
          "continual: unknown stream '" + o.name + "' (expected rotated-mnist, permuted-mnist, split-mnist or split-fashion)");
  require(split || (o.tasks >= 1 && o.tasks <= 1000), "continual: --tasks must be between 1 and 1000");
  require(o.train_per_task >= 0 && o.test_per_task >= 0, "continual: samples per task must not be negative");
  require(base.train.num_classes == 10 && base.train.inputs.dim() == 4,
          "continual: the stream needs 10-class images, got '" + base.train.name + "'");
  Stream s;
  s.name_ = o.name;
  s.masks_classes_ = split && !o.class_incremental;
  if (o.normalize) s.mean_ = 0.1307, s.std_ = 0.3081;
  const int count = split ? 5 : o.tasks;
  const std::int64_t pixels = base.train.inputs.size(2) * base.train.inputs.size(3);
  const std::vector<double> angles = rotation_angles(count);
  std::vector<std::int64_t> all(10);
  for (int c = 0; c < 10; ++c) all[c] = c;
  s.class_mask_ = at::ones({count, 10}, at::kBool);
  for (int t = 0; t < count; ++t) {
    Task task;
    char name[64];
    if (split) {
      task.classes = class_splits()[t];
      std::snprintf(name, sizeof name, "%s %lld,%lld", o.name == "split-mnist" ? "digits" : "classes",
                    static_cast<long long>(task.classes[0]), static_cast<long long>(task.classes[1]));
      if (s.masks_classes_) {
        s.class_mask_[t].fill_(false);
        for (std::int64_t c : task.classes) s.class_mask_[t][c].fill_(true);
      }
    } else if (o.name == "rotated-mnist") {
      task.classes = all;
      task.angle = angles[t];
      std::snprintf(name, sizeof name, "rotate %.1f", task.angle);
    } else {
      task.classes = all;
      if (t > 0) task.pixel_perm = ot::random_permutation(pixels, derive_seed(o.seed, kPixelPerm, t));
      std::snprintf(name, sizeof name, t == 0 ? "identity" : "permutation %d", t);
    }
    task.name = name;
    task.train_rows = task_rows(base.train.targets, task.classes, o.train_per_task, derive_seed(o.seed, kTrainSubset, t));
    task.test_rows = task_rows(base.test.targets, task.classes, o.test_per_task, derive_seed(o.seed, kTestSubset, t));
    require(task.train_rows.size(0) > 0 && task.test_rows.size(0) > 0,
            "continual: task '" + task.name + "' has no samples in '" + base.train.name + "'");
    s.tasks_.push_back(std::move(task));
  }
  s.base_ = std::move(base);
  return s;
}

at::Tensor Stream::transform(int t, const at::Tensor& images) const {
  const Task& k = task(t);
  // Rotation first: the corners it brings in are black pixels (0) before normalising.
  at::Tensor x = images;
  if (k.pixel_perm.defined()) x = data::permute_pixels(x, k.pixel_perm);
  else if (k.angle != 0.0) x = data::rotate(x, k.angle, data::Interpolation::Nearest);
  if (mean_ != 0.0 || std_ != 1.0) x = (x - mean_) / std_;
  return x;
}

data::Dataset Stream::train_samples(int t, const at::Tensor& local) const {
  data::Dataset d = data::select(base_.train, task(t).train_rows.index_select(0, local));
  d.inputs = transform(t, d.inputs);
  return d;
}

data::Dataset Stream::train_set(int t) const {
  data::Dataset d = data::select(base_.train, task(t).train_rows);
  d.inputs = transform(t, d.inputs);
  d.name = name_ + " task " + std::to_string(t) + " (" + task(t).name + ")";
  return d;
}

data::Dataset Stream::test_set(int t) const {
  data::Dataset d = data::select(base_.test, task(t).test_rows);
  d.inputs = transform(t, d.inputs);
  d.name = name_ + " task " + std::to_string(t) + " test (" + task(t).name + ")";
  return d;
}

}  // namespace rebasin::continual
