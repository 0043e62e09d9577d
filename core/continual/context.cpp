// The shared part of every continual method: loss, evaluation, batches, progress, and the
// ordinary training step the baselines and rebasin-il's first task use.
#include <ATen/ATen.h>
#include <ATen/core/Reduction.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>

#include "continual/learner.h"
#include "continual/seeds.h"
#include "train/optimizer.h"

namespace rebasin::continual {

namespace {
using Clock = std::chrono::steady_clock;
}

NamedTensors detached(const NamedTensors& params) {
  NamedTensors out;
  for (const auto& p : params) out.push_back({p.name, p.tensor.detach()});
  return out;
}

Context::Context(const nn::Architecture& a, const Stream& s, const ContinualOptions& o, EventSink* sink,
                 const CancelToken* cancel)
    : arch(a), stream(s), options(o), sink_(sink), cancel_(cancel) {
  t0_ = Clock::now();
  last_progress_ = t0_ - std::chrono::hours(1);
  for (int t = 0; t < stream.size(); ++t) {
    data::Dataset d = stream.test_set(t);
    d.inputs = d.inputs.to(options.device);
    d.targets = d.targets.to(options.device);
    tests_.push_back(std::move(d));
  }
  mask_ = stream.class_mask().to(options.device);
}

double Context::seconds() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }

void Context::step() {
  check_cancel();
  ++steps_done_;
  if (!sink_) return;
  const auto now = Clock::now();
  if (now - last_progress_ < std::chrono::milliseconds(100) && steps_done_ < total_steps) return;
  last_progress_ = now;
  const double fraction = std::min(1.0, double(steps_done_) / double(std::max<std::int64_t>(total_steps, 1)));
  const double s = seconds();
  sink_->progress({"continual", fraction, s, fraction > 0 ? s / fraction * (1.0 - fraction) : 0.0});
}

at::Tensor Context::loss(const at::Tensor& logits, const Batch& b, bool per_task) const {
  at::Tensor z = logits;
  // A large negative logit rather than -inf: the excluded classes get exactly zero
  // probability and gradient, without inf - inf in the softmax.
  if (stream.masks_classes()) z = z.masked_fill(mask_.index_select(0, b.task).logical_not(), -1e9);
  if (!per_task) return at::cross_entropy_loss(z, b.y);
  const at::Tensor ce = at::cross_entropy_loss(z, b.y, {}, at::Reduction::None);
  const std::int64_t tasks = stream.size();
  const at::Tensor sums = at::zeros({tasks}, ce.options()).index_add(0, b.task, ce);
  const at::Tensor counts = at::bincount(b.task, {}, tasks).to(ce.scalar_type());
  return (sums / counts.clamp_min(1.0)).sum();
}

std::vector<double> Context::evaluate(const NamedTensors& params) const {
  c10::InferenceMode guard;
  std::vector<double> acc;
  for (int t = 0; t < stream.size(); ++t) {
    const data::Dataset& d = tests_[static_cast<std::size_t>(t)];
    at::Tensor correct = at::zeros({}, d.targets.options());
    for (std::int64_t start = 0; start < d.size(); start += 2000) {
      const std::int64_t len = std::min<std::int64_t>(2000, d.size() - start);
      at::Tensor z = arch.forward(params, d.inputs.narrow(0, start, len), false);
      if (stream.masks_classes()) z = z.masked_fill(mask_[t].logical_not(), -1e9);
      correct += (z.argmax(1) == d.targets.narrow(0, start, len)).sum();
    }
    acc.push_back(double(correct.item<std::int64_t>()) / double(d.size()));
  }
  return acc;
}

NamedTensors Context::initial_params() const {
  NamedTensors p = arch.init(options.seed);
  for (auto& e : p) e.tensor = e.tensor.to(options.device);
  return p;
}

void Context::for_each_batch(int t, const data::Dataset& set, std::int64_t batch_size,
                             const std::function<void(const Batch&, std::uint64_t)>& fn) {
  const at::Tensor task = at::full({set.size()}, t, set.targets.options().dtype(at::kLong));
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    const auto batches = data::batch_indices(set.size(), batch_size, true,
                                             derive_seed(options.seed, kBatchOrder, std::uint64_t(t) * 1000 + epoch));
    std::uint64_t i = 0;
    for (const at::Tensor& idx_cpu : batches) {
      step();
      const at::Tensor idx = idx_cpu.to(set.inputs.device());
      fn({set.inputs.index_select(0, idx), set.targets.index_select(0, idx), task.index_select(0, idx)},
         derive_seed(options.seed, std::uint64_t(t) * 1000 + epoch, ++i));
    }
  }
}

void train_plain(Context& ctx, int t, const data::Dataset& train, NamedTensors& params, std::int64_t batch_size,
                 double lr, bool sgd, std::int64_t replay_batch, const BatchSource& source,
                 const std::function<void(const NamedTensors&)>& extra) {
  std::vector<at::Tensor> learnable;
  for (std::size_t i = 0; i < params.size(); ++i) {
    params[i].tensor = params[i].tensor.detach();
    if (!ctx.arch.spec().params()[i].buffer) {
      params[i].tensor.requires_grad_(true);
      learnable.push_back(params[i].tensor);
    }
  }
  // Both optimizers start fresh on every task, as the reference strategies reset theirs.
  std::unique_ptr<train::Sgd> s;
  std::unique_ptr<train::AdamW> a;
  if (sgd) s = std::make_unique<train::Sgd>(learnable, train::SgdOptions{lr, 0.0, 0.0});
  else a = std::make_unique<train::AdamW>(learnable, train::AdamWOptions{lr, 0.9, 0.999, 1e-8, 0.01});
  ctx.for_each_batch(t, train, batch_size, [&](const Batch& fresh, std::uint64_t seed) {
    Batch b = source ? source(fresh, seed) : fresh;
    if (replay_batch > 0 && ctx.replay.size() > 0) {
      const Batch m = ctx.replay.draw(replay_batch, derive_seed(seed, kReplayDraw));
      b = {at::cat({b.x, m.x}), at::cat({b.y, m.y}), at::cat({b.task, m.task})};
    }
    if (s) s->zero_grad();
    else a->zero_grad();
    const at::Tensor loss = ctx.loss(ctx.arch.forward(params, b.x, true), b, replay_batch > 0);
    torch::autograd::backward({loss});
    if (extra) extra(params);
    if (s) s->step();
    else a->step();
  });
  params = detached(params);
}

}  // namespace rebasin::continual
