// Internal to core/continual: what every method shares (Context: stream, test sets, replay
// memory, loss, evaluation, progress and cancellation) and the methods behind one interface.
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/cancel.h"
#include "common/events.h"
#include "common/named_tensor.h"
#include "continual/continual.h"
#include "continual/replay.h"
#include "continual/stream.h"
#include "nn/architecture.h"

namespace rebasin::continual {

class Context {
 public:
  Context(const nn::Architecture& arch, const Stream& stream, const ContinualOptions& options, EventSink* sink,
          const CancelToken* cancel);

  const nn::Architecture& arch;
  const Stream& stream;
  const ContinualOptions& options;
  ReplayBuffer replay;
  std::int64_t total_steps = 1;  // optimisation steps of the whole run, for progress

  // Before every optimisation step: throws Cancelled when cancelled, reports progress
  // (throttled to ~10 events a second).
  void step();
  void check_cancel() const { rebasin::check_cancel(cancel_); }
  double seconds() const;

  // Cross-entropy over the logits each sample's task scores (split streams, task-incremental:
  // its two classes). per_task: the sum over the tasks in the batch of each one's mean, as the
  // reference's re-basin loss weighs new data and replayed tasks.
  at::Tensor loss(const at::Tensor& logits, const Batch& batch, bool per_task) const;

  // Accuracy on every task's test set (inference mode).
  std::vector<double> evaluate(const NamedTensors& params) const;

  // The model's initial parameters, on the device.
  NamedTensors initial_params() const;

  // Runs options.epochs epochs over `set` (task t) in shuffled mini-batches, calling ctx.step()
  // then fn(batch, seed of this step) for each.
  void for_each_batch(int t, const data::Dataset& set, std::int64_t batch_size,
                      const std::function<void(const Batch&, std::uint64_t)>& fn);

 private:
  EventSink* sink_;
  const CancelToken* cancel_;
  std::vector<data::Dataset> tests_;
  at::Tensor mask_;
  std::int64_t steps_done_ = 0;
  std::chrono::steady_clock::time_point t0_, last_progress_;
};

class Learner {
 public:
  virtual ~Learner() = default;
  virtual std::int64_t batch_size() const = 0;
  virtual bool uses_replay() const { return false; }
  // Learns task t from its training set (on the device); the replay memory holds tasks < t.
  virtual void learn(int t, const data::Dataset& train) = 0;
  // The model to evaluate after the last learn().
  virtual const NamedTensors& model() const = 0;
  // rebasin-il: the same step's model at the training mix (nullptr for other methods).
  virtual const NamedTensors* train_mix_model() const { return nullptr; }
};

std::unique_ptr<Learner> make_plain_learner(Context& ctx, const std::string& method);  // finetune|ewc|replay|joint
std::unique_ptr<Learner> make_rebasin_il(Context& ctx);

// One learn() of ordinary training shared by the baselines and rebasin-il's first task: every
// learnable parameter, a fresh optimizer (SGD when sgd, else AdamW with PyTorch's default
// weight decay 0.01), new-task batches plus up to replay_batch replayed samples (with the
// per-task loss when replay_batch > 0). `source`, when set, replaces each new-task batch (joint
// training draws from every task seen); `extra`, when set, runs after backward and before the
// optimizer step (EWC adds its penalty's gradient).
using BatchSource = std::function<Batch(const Batch&, std::uint64_t)>;
void train_plain(Context& ctx, int t, const data::Dataset& train, NamedTensors& params, std::int64_t batch_size,
                 double lr, bool sgd, std::int64_t replay_batch, const BatchSource& source = {},
                 const std::function<void(const NamedTensors&)>& extra = {});

NamedTensors detached(const NamedTensors& params);

}  // namespace rebasin::continual
