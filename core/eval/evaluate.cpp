#include "eval/evaluate.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <limits>

#include "common/error.h"

namespace rebasin::eval {

at::Tensor task_loss(const at::Tensor& outputs, const at::Tensor& targets) {
  // Sequences (N x T x classes against N x T): the mean over every position.
  if (targets.scalar_type() == at::kLong && outputs.dim() == 3)
    return at::cross_entropy_loss(outputs.flatten(0, 1), targets.flatten());
  if (targets.scalar_type() == at::kLong) return at::cross_entropy_loss(outputs, targets);
  return at::mse_loss(outputs, targets.reshape(outputs.sizes()));
}

Metrics evaluate(const nn::Architecture& arch, const NamedTensors& params, const data::Dataset& set,
                 std::int64_t batch_size) {
  require(set.size() > 0, "evaluate: the data set '" + set.name + "' is empty");
  require(set.is_regression() || arch.io().outputs == set.num_classes,
          "model has " + std::to_string(arch.io().outputs) + " outputs but '" + set.name +
              "' has " + std::to_string(set.num_classes) + " classes");
  c10::InferenceMode guard;
  double loss_sum = 0;
  std::int64_t correct = 0;
  const std::int64_t n = set.size();
  for (std::int64_t start = 0; start < n; start += batch_size) {
    const std::int64_t len = std::min(batch_size, n - start);
    const at::Tensor x = set.inputs.narrow(0, start, len);
    const at::Tensor y = set.targets.narrow(0, start, len);
    const at::Tensor out = arch.forward(params, x, false);
    loss_sum += task_loss(out, y).item<double>() * static_cast<double>(len);
    if (!set.is_regression()) correct += (out.argmax(-1) == y).sum().item<std::int64_t>();
  }
  Metrics m;
  m.samples = n;
  m.loss = loss_sum / static_cast<double>(n);
  // Of every prediction: one per sample, or one per position of a sequence.
  m.accuracy = set.is_regression() ? std::numeric_limits<double>::quiet_NaN()
                                   : static_cast<double>(correct) / static_cast<double>(set.targets.numel());
  return m;
}

Metrics evaluate_ensemble(const nn::Architecture& arch, const std::vector<NamedTensors>& members,
                          const data::Dataset& set, std::int64_t batch_size) {
  require(!members.empty(), "ensemble: no members");
  require(set.size() > 0, "evaluate: the data set '" + set.name + "' is empty");
  c10::InferenceMode guard;
  const bool regression = set.is_regression();
  double loss_sum = 0;
  std::int64_t correct = 0;
  const std::int64_t n = set.size();
  for (std::int64_t start = 0; start < n; start += batch_size) {
    const std::int64_t len = std::min(batch_size, n - start);
    const at::Tensor x = set.inputs.narrow(0, start, len);
    const at::Tensor y = set.targets.narrow(0, start, len);
    at::Tensor mean;
    for (const NamedTensors& m : members) {
      const at::Tensor out = arch.forward(m, x, false).to(at::kDouble);
      const at::Tensor v = regression ? out : at::softmax(out, -1);
      mean = mean.defined() ? mean + v : v;
    }
    mean = mean / static_cast<double>(members.size());
    if (regression) {
      loss_sum += task_loss(mean, y.to(at::kDouble)).item<double>() * static_cast<double>(len);
    } else {
      const at::Tensor p = mean.gather(-1, y.unsqueeze(-1)).clamp_min(1e-300);
      loss_sum -= p.log().mean().item<double>() * static_cast<double>(len);
      correct += (mean.argmax(-1) == y).sum().item<std::int64_t>();
    }
  }
  Metrics m;
  m.samples = n;
  m.loss = loss_sum / static_cast<double>(n);
  m.accuracy = regression ? std::numeric_limits<double>::quiet_NaN()
                          : static_cast<double>(correct) / static_cast<double>(set.targets.numel());
  return m;
}

}  // namespace rebasin::eval
