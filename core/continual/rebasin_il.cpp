// rebasin-il (METHOD.md section 9): the first task is learned by ordinary training; every later
// task by a Sinkhorn re-basin network over the previous model theta_{t-1} plus a small
// residual delta. Training sees
//     theta = train_alpha theta_{t-1} + (1 - train_alpha) pi_P(theta_{t-1}) + delta,
// P = Sinkhorn(X / tau) soft, with the loss on new data plus replay; afterwards, with the hard
// assignment of X,
//     theta_t = alpha theta_{t-1} + (1 - alpha) pi_Phard(theta_{t-1}) + delta.
// The X logits, the soft permutation through the spec and the hard assignment are those of the
// alignment method (core/align/sinkhorn_rebasin.cpp): ot::sinkhorn, nn::permute,
// ot::hard_permutation.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>

#include "continual/learner.h"
#include "continual/seeds.h"
#include "nn/permute.h"
#include "ot/permutation.h"
#include "ot/sinkhorn.h"
#include "train/optimizer.h"

namespace rebasin::continual {
namespace {

// a * x + (1 - a) * y + d over float tensors (buffers and integer tensors: x's).
NamedTensors mix(const NamedTensors& x, const NamedTensors& y, const NamedTensors& d, double a,
                 const nn::PermutationSpec& spec) {
  NamedTensors out;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const at::Tensor& xi = x[i].tensor;
    if (spec.params()[i].buffer || !at::isFloatingType(xi.scalar_type())) out.push_back({x[i].name, xi});
    else out.push_back({x[i].name, xi * a + y[i].tensor * (1.0 - a) + d[i].tensor});
  }
  return out;
}

class RebasinIl : public Learner {
 public:
  explicit RebasinIl(Context& ctx) : ctx_(ctx) {
    const auto& o = ctx.options;
    batch_ = o.batch_size > 0 ? o.batch_size : 500;
    lr_ = o.lr > 0 ? o.lr : 1e-3;
    theta_ = ctx.initial_params();
  }

  std::int64_t batch_size() const override { return batch_; }
  bool uses_replay() const override { return true; }
  const NamedTensors& model() const override { return theta_; }
  const NamedTensors* train_mix_model() const override { return mix_.empty() ? nullptr : &mix_; }

  void learn(int t, const data::Dataset& train) override {
    const std::int64_t replay = ctx_.options.replay_batch > 0 ? ctx_.options.replay_batch : batch_;
    if (t == 0) {
      train_plain(ctx_, t, train, theta_, batch_, lr_, false, replay);
      mix_ = theta_;
      return;
    }
    const auto& o = ctx_.options;
    const auto& spec = ctx_.arch.spec();
    const auto& groups = spec.groups();
    const NamedTensors prev = detached(theta_);
    const auto device = prev.front().tensor.device();

    // The reference starts each task's X at I + N(0, 0.1^2): the noise breaks the ties of a
    // plain identity, whose soft plan is nearly uniform for wide groups.
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(derive_seed(o.seed, kRebasinInit, t));
    std::vector<at::Tensor> X;
    for (const auto& g : groups) {
      at::Tensor x = at::eye(g.size, at::kFloat) + at::randn({g.size, g.size}, gen, at::kFloat) * 0.1;
      X.push_back(x.to(device).requires_grad_(true));
    }
    NamedTensors delta;
    std::vector<at::Tensor> delta_learnable;
    for (std::size_t i = 0; i < prev.size(); ++i) {
      const at::Tensor& p = prev[i].tensor;
      at::Tensor d = at::zeros_like(p);
      if (!spec.params()[i].buffer && at::isFloatingType(p.scalar_type())) {
        d = (at::randn(p.sizes(), gen, at::kFloat) * o.residual_init).to(p.options()).requires_grad_(true);
        delta_learnable.push_back(d);
      }
      delta.push_back({prev[i].name, d});
    }
    train::AdamW opt_x(X, {o.rebasin_lr, 0.9, 0.999, 1e-8, 0.01});
    train::Sgd opt_d(delta_learnable, {o.residual_lr, 0.0, o.residual_weight_decay});
    ot::SinkhornOptions so;
    so.tau = o.tau;
    so.iters = o.sinkhorn_iters;

    ctx_.for_each_batch(t, train, batch_, [&](const Batch& fresh, std::uint64_t seed) {
      Batch b = fresh;
      if (ctx_.replay.size() > 0) {
        const Batch m = ctx_.replay.draw(replay, derive_seed(seed, kReplayDraw));
        b = {at::cat({b.x, m.x}), at::cat({b.y, m.y}), at::cat({b.task, m.task})};
      }
      std::vector<at::Tensor> plans;
      for (const auto& x : X) plans.push_back(ot::sinkhorn(x, so).plan);
      const NamedTensors w = mix(prev, nn::permute(spec, prev, plans), delta, o.train_alpha, spec);
      opt_x.zero_grad();
      opt_d.zero_grad();
      torch::autograd::backward({ctx_.loss(ctx_.arch.forward(w, b.x, true), b, true)});
      opt_x.step();
      {
        c10::NoGradGuard no_grad;
        for (auto& d : delta_learnable)
          if (d.grad().defined()) d.mutable_grad().clamp_(-o.residual_clip, o.residual_clip);
      }
      opt_d.step();
    });

    std::vector<at::Tensor> hard;
    for (const auto& x : X) hard.push_back(ot::hard_permutation(x.detach()));
    const NamedTensors permuted = detached(nn::permute(spec, prev, hard));
    const NamedTensors d = detached(delta);
    theta_ = detached(mix(prev, permuted, d, o.alpha, spec));
    mix_ = detached(mix(prev, permuted, d, o.train_alpha, spec));
  }

 private:
  Context& ctx_;
  std::int64_t batch_ = 500;
  double lr_ = 1e-3;
  NamedTensors theta_, mix_;
};

}  // namespace

std::unique_ptr<Learner> make_rebasin_il(Context& ctx) { return std::make_unique<RebasinIl>(ctx); }

}  // namespace rebasin::continual
