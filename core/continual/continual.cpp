// run_continual: the protocol every method shares - the stream's tasks in order, the replay
// memory filled after each task, and after each task the accuracy on every task's test set.
#include "continual/continual.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "continual/learner.h"
#include "continual/metrics.h"
#include "continual/seeds.h"
#include "continual/stream.h"

namespace rebasin::continual {
namespace {

bool in(const std::vector<std::string>& names, const std::string& s) {
  return std::find(names.begin(), names.end(), s) != names.end();
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

void check_options(const ContinualOptions& o) {
  require(in(stream_names(), o.stream), "continual: unknown stream '" + o.stream + "' (expected " + joined(stream_names()) + ")");
  require(in(method_names(), o.method), "continual: unknown method '" + o.method + "' (expected " + joined(method_names()) + ")");
  require(o.epochs >= 1 && o.epochs <= 10000, "continual: epochs must be between 1 and 10000");
  auto unit = [](double v) { return std::isfinite(v) && v >= 0.0 && v <= 1.0; };
  require(unit(o.alpha), "continual: alpha must be in [0, 1]");
  require(unit(o.train_alpha), "continual: the training mix must be in [0, 1]");
  require(o.batch_size >= 0 && o.replay_size >= 0 && o.replay_batch >= 0 && o.ewc_samples >= 0,
          "continual: batch and memory sizes must not be negative");
  require(std::isfinite(o.lr) && o.lr >= 0, "continual: learning rate must not be negative");
  require(std::isfinite(o.tau) && o.tau > 0, "continual: tau must be positive");
  require(o.sinkhorn_iters >= 1, "continual: Sinkhorn iterations must be at least 1");
  for (double v : {o.rebasin_lr, o.residual_lr, o.residual_weight_decay, o.residual_clip, o.residual_init, o.ewc_lambda})
    require(std::isfinite(v) && v >= 0, "continual: learning rates, decays and penalties must not be negative");
}

}  // namespace

const std::vector<std::string>& stream_names() {
  static const std::vector<std::string> n = {"rotated-mnist", "permuted-mnist", "split-mnist", "split-fashion"};
  return n;
}

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> n = {"rebasin-il", "finetune", "ewc", "replay", "joint"};
  return n;
}

ContinualResult run_continual(const ContinualOptions& o, EventSink* sink, const CancelToken* cancel) {
  check_options(o);
  const auto arch = nn::make_architecture(o.arch);
  require(arch->io().outputs == 10, "continual: the model must have 10 outputs, got " + arch->name());
  require(!arch->has_batchnorm(), "continual: models with BatchNorm are not supported");
  StreamOptions so;
  so.name = o.stream;
  so.tasks = o.tasks;
  so.class_incremental = o.class_incremental;
  so.seed = o.seed;
  so.train_per_task = o.train_per_task;
  so.test_per_task = o.test_per_task;
  so.data_dir = o.data_dir;
  so.normalize = o.normalize;
  const Stream stream = Stream::make(so);
  {
    std::int64_t per_sample = 1;
    for (auto d : arch->io().input_shape) per_sample *= d;
    require(per_sample == 784, "continual: the model must take 784 inputs (28 x 28 images), got " + arch->name());
  }
  check_cancel(cancel);

  Context ctx(*arch, stream, o, sink, cancel);
  std::unique_ptr<Learner> learner =
      o.method == "rebasin-il" ? make_rebasin_il(ctx) : make_plain_learner(ctx, o.method);
  const int tasks = stream.size();
  ctx.replay = ReplayBuffer(o.replay_size / tasks);
  const std::int64_t batch = learner->batch_size();
  ctx.total_steps = 0;
  for (int t = 0; t < tasks; ++t) {
    const std::int64_t n = stream.task(t).train_rows.size(0);
    ctx.total_steps += std::int64_t(o.epochs) * ((n + batch - 1) / batch);
  }

  ContinualResult r;
  r.batch_size = batch;
  r.train_per_task = stream.task(0).train_rows.size(0);
  for (int t = 0; t < tasks; ++t) r.task_names.push_back(stream.task(t).name);
  for (int t = 0; t < tasks; ++t) {
    ctx.check_cancel();
    data::Dataset train = stream.train_set(t);
    train.inputs = train.inputs.to(o.device);
    train.targets = train.targets.to(o.device);
    learner->learn(t, train);
    if (learner->uses_replay()) ctx.replay.add(t, train, stream.task(t).classes, derive_seed(o.seed, kReplaySelect, t));
    r.accuracy_matrix.push_back(ctx.evaluate(learner->model()));
    if (const NamedTensors* m = learner->train_mix_model()) r.train_mix_accuracy_matrix.push_back(ctx.evaluate(*m));
    if (sink) sink->task({t, tasks, r.accuracy_matrix.back(), ctx.seconds()});
  }
  r.average_accuracy = average_accuracy(r.accuracy_matrix);
  r.forgetting = forgetting(r.accuracy_matrix);
  r.backward_transfer = backward_transfer(r.accuracy_matrix);
  if (!r.train_mix_accuracy_matrix.empty()) r.train_mix_average_accuracy = average_accuracy(r.train_mix_accuracy_matrix);
  r.seconds = ctx.seconds();
  return r;
}

}  // namespace rebasin::continual
