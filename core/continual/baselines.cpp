// The baselines of METHOD.md section 9 under the common protocol:
//   finetune  SGD on each task in turn, nothing kept (the lower bound).
//   ewc       finetune plus the elastic weight consolidation penalty, one per finished task
//             ("separate" mode): lambda * sum_k sum_i F_k,i (theta_i - theta_k,i)^2.
//   replay    AdamW on new data plus the replay memory, no re-basin: the ablation of
//             rebasin-il that keeps everything except the permutations.
//   joint     the upper bound: each task's step budget spent on batches drawn uniformly from
//             every task seen so far (all their data, not a memory).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>

#include "continual/learner.h"
#include "continual/seeds.h"

namespace rebasin::continual {
namespace {

class PlainLearner : public Learner {
 public:
  PlainLearner(Context& ctx, std::string method) : ctx_(ctx), method_(std::move(method)) {
    sgd_ = method_ == "finetune" || method_ == "ewc";
    const auto& o = ctx.options;
    batch_ = o.batch_size > 0 ? o.batch_size : (sgd_ ? 10 : 500);
    lr_ = o.lr > 0 ? o.lr : (sgd_ ? 0.01 : 1e-3);
    params_ = ctx.initial_params();
  }

  std::int64_t batch_size() const override { return batch_; }
  bool uses_replay() const override { return method_ == "replay"; }
  const NamedTensors& model() const override { return params_; }

  void learn(int t, const data::Dataset& train) override {
    const std::int64_t replay = method_ == "replay" ? replay_batch() : 0;
    BatchSource source;
    if (method_ == "joint") source = [&](const Batch& fresh, std::uint64_t seed) { return joint_batch(t, fresh, seed); };
    std::function<void(const NamedTensors&)> extra;
    if (method_ == "ewc" && !fisher_sum_.empty()) extra = [&](const NamedTensors& p) { add_ewc_gradient(p); };
    train_plain(ctx_, t, train, params_, batch_, lr_, sgd_, replay, source, extra);
    if (method_ == "ewc") consolidate(t, train);
  }

 private:
  std::int64_t replay_batch() const {
    return ctx_.options.replay_batch > 0 ? ctx_.options.replay_batch : batch_;
  }

  // As many samples as the new task's batch, each from a task drawn uniformly among 0..t.
  Batch joint_batch(int t, const Batch& fresh, std::uint64_t seed) const {
    if (t == 0) return fresh;
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(derive_seed(seed, kJointDraw));
    const std::int64_t n = fresh.y.size(0);
    const at::Tensor which = at::randint(t + 1, {n}, gen, at::kLong);
    std::vector<at::Tensor> xs, ys, ts;
    for (int k = 0; k <= t; ++k) {
      const std::int64_t m = (which == k).sum().item<std::int64_t>();
      if (m == 0) continue;
      const at::Tensor local = at::randint(ctx_.stream.task(k).train_rows.size(0), {m}, gen, at::kLong);
      const data::Dataset d = ctx_.stream.train_samples(k, local);
      xs.push_back(d.inputs.to(fresh.x.device()));
      ys.push_back(d.targets.to(fresh.y.device()));
      ts.push_back(at::full({m}, k, fresh.task.options()));
    }
    return {at::cat(xs), at::cat(ys), at::cat(ts)};
  }

  // grad += d/dtheta of the penalty = 2 lambda (A theta - B), with A = sum_k F_k and
  // B = sum_k F_k theta_k: the separate-mode penalty's gradient without keeping every theta_k.
  void add_ewc_gradient(const NamedTensors& p) {
    c10::NoGradGuard no_grad;
    const double lambda = ctx_.options.ewc_lambda;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (!fisher_sum_[i].defined() || !p[i].tensor.grad().defined()) continue;
      p[i].tensor.mutable_grad().add_(fisher_sum_[i] * p[i].tensor - fisher_theta_sum_[i], 2.0 * lambda);
    }
  }

  // The diagonal empirical Fisher of task t at the learned parameters: the mean over
  // mini-batches (the training batch size) of the squared gradient of the batch's loss.
  void consolidate(int t, const data::Dataset& train) {
    NamedTensors p = params_;
    for (std::size_t i = 0; i < p.size(); ++i)
      if (!ctx_.arch.spec().params()[i].buffer) p[i].tensor = p[i].tensor.detach().requires_grad_(true);
    std::vector<at::Tensor> fisher(p.size());
    const std::int64_t limit = ctx_.options.ewc_samples > 0 ? std::min(ctx_.options.ewc_samples, train.size()) : train.size();
    const auto batches = data::batch_indices(train.size(), batch_, true, derive_seed(ctx_.options.seed, kFisherOrder, t));
    std::int64_t seen = 0, count = 0;
    const at::Tensor task = at::full({train.size()}, t, train.targets.options().dtype(at::kLong));
    for (const at::Tensor& idx_cpu : batches) {
      if (seen >= limit) break;
      ctx_.check_cancel();
      const at::Tensor idx = idx_cpu.to(train.inputs.device());
      const Batch b{train.inputs.index_select(0, idx), train.targets.index_select(0, idx), task.index_select(0, idx)};
      for (auto& e : p)
        if (e.tensor.grad().defined()) e.tensor.mutable_grad().zero_();
      torch::autograd::backward({ctx_.loss(ctx_.arch.forward(p, b.x, false), b, false)});
      c10::NoGradGuard no_grad;
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (!p[i].tensor.grad().defined()) continue;
        const at::Tensor g2 = p[i].tensor.grad().square();
        fisher[i] = fisher[i].defined() ? fisher[i].add_(g2) : g2.clone();
      }
      seen += idx.size(0);
      ++count;
    }
    if (fisher_sum_.empty()) fisher_sum_.resize(p.size()), fisher_theta_sum_.resize(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (!fisher[i].defined()) continue;
      fisher[i].div_(double(count));
      const at::Tensor theta = params_[i].tensor.detach();
      fisher_sum_[i] = fisher_sum_[i].defined() ? fisher_sum_[i] + fisher[i] : fisher[i];
      fisher_theta_sum_[i] = fisher_theta_sum_[i].defined() ? fisher_theta_sum_[i] + fisher[i] * theta : fisher[i] * theta;
    }
  }

  Context& ctx_;
  std::string method_;
  bool sgd_ = true;
  std::int64_t batch_ = 10;
  double lr_ = 0.01;
  NamedTensors params_;
  std::vector<at::Tensor> fisher_sum_, fisher_theta_sum_;
};

}  // namespace

std::unique_ptr<Learner> make_plain_learner(Context& ctx, const std::string& method) {
  return std::make_unique<PlainLearner>(ctx, method);
}

}  // namespace rebasin::continual
