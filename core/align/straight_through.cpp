// Straight-through estimator (Git Re-Basin, METHOD.md section 6): a proxy model theta~ (started
// at A) is projected each step onto the nearest permutation of B by weight matching; the
// forward uses that projection pi(B), the backward passes its gradient straight to theta~;
// the loss is the task loss of the midpoint (A + pi(B)) / 2.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <chrono>

#include "align/methods.h"
#include "common/error.h"
#include "train/optimizer.h"

namespace rebasin::align {
namespace {

constexpr int kDefaultSteps = 100;
constexpr double kDefaultLr = 1e-3;

}  // namespace

AlignResult straight_through(const nn::Architecture& arch, const NamedTensors& a, const NamedTensors& b,
                             const data::Dataset& data, const AlignOptions& o, EventSink* sink,
                             const CancelToken* cancel) {
  const auto& spec = arch.spec();
  const int steps = o.steps > 0 ? o.steps : kDefaultSteps;
  NamedTensors proxy;
  std::vector<at::Tensor> learnable;
  for (std::size_t i = 0; i < a.size(); ++i) {
    at::Tensor t = a[i].tensor.detach().clone();
    if (!spec.params()[i].buffer) {
      t.requires_grad_(true);
      learnable.push_back(t);
    }
    proxy.push_back({a[i].name, t});
  }
  train::AdamW opt(learnable, {o.lr > 0 ? o.lr : kDefaultLr, 0.9, 0.999, 1e-8, 0.0});
  std::vector<at::Tensor> perms, batches;
  std::size_t next = 0;
  AlignResult r;
  const auto t0 = std::chrono::steady_clock::now();
  for (int step = 1; step <= steps; ++step) {
    check_cancel(cancel);
    NamedTensors proxy_now;
    for (const auto& e : proxy) proxy_now.push_back({e.name, e.tensor.detach()});
    perms = weight_matching(spec, proxy_now, b, perms, o.max_rounds, o.seed + step, nullptr, cancel);
    const NamedTensors projected = nn::permute(spec, b, perms);
    NamedTensors ste;
    for (std::size_t i = 0; i < proxy.size(); ++i) {
      const at::Tensor& p = proxy[i].tensor;
      ste.push_back({proxy[i].name, spec.params()[i].buffer ? projected[i].tensor
                                                            : projected[i].tensor + (p - p.detach())});
    }
    if (next >= batches.size()) {
      batches = data::batch_indices(data.size(), o.batch_size, true, o.seed + step);
      next = 0;
    }
    const at::Tensor& idx = batches[next++];
    const at::Tensor x = data.inputs.index_select(0, idx), y = data.targets.index_select(0, idx);
    const at::Tensor loss = path_loss(arch, a, ste, 0.5, x, y);
    opt.zero_grad();
    torch::autograd::backward({loss});
    opt.step();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.steps = step;
    r.cost = loss.item<double>();
    if (sink) {
      sink->step({step, steps, r.cost, r.cost, seconds});
      sink->progress({"align", double(step) / steps, seconds, seconds / step * (steps - step)});
    }
  }
  r.perms = perms;
  return r;
}

AlignResult run_straight_through(const MethodCall& c) {
  return straight_through(c.arch, c.a, c.b, *c.data, c.options, c.sink, c.cancel);
}

}  // namespace rebasin::align
