#include "train/train.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <chrono>

#include "common/error.h"
#include "train/optimizer.h"

namespace rebasin::train {

void check_data_fits(const nn::Architecture& arch, const data::Dataset& set) {
  require(set.size() > 0, "train: the training set '" + set.name + "' is empty");
  require(set.is_regression() || set.num_classes == arch.io().outputs,
          arch.name() + " has " + std::to_string(arch.io().outputs) + " outputs but '" + set.name +
              "' has " + std::to_string(set.num_classes) + " classes");
  std::int64_t per_sample = 1;
  for (auto d : arch.io().input_shape) per_sample *= d;
  const auto& want = arch.io().input_shape;
  if (want.size() == 3 && set.inputs.dim() == 4 && want[0] != set.inputs.size(1)) {
    // An image model fed images with another channel count (a 3-channel torchvision model and
    // MNIST): say so rather than count values.
    throw UserError(arch.name() + " takes images of " + std::to_string(want[0]) + " channels but '" + set.name +
                    "' has " + std::to_string(set.inputs.size(1)) + " (" + std::to_string(set.inputs.size(1)) + "x" +
                    std::to_string(set.inputs.size(2)) + "x" + std::to_string(set.inputs.size(3)) + ")");
  }
  require(set.inputs[0].numel() == per_sample,
          arch.name() + " takes inputs of " + std::to_string(per_sample) + " values but '" + set.name +
              "' has " + std::to_string(set.inputs[0].numel()) + " per sample");
}

TrainResult train(const nn::Architecture& arch, const data::Splits& data, const TrainOptions& o,
                  const std::function<void(const EpochReport&)>& on_epoch, const CancelToken* cancel) {
  require(o.epochs >= 1, "train: epochs must be at least 1");
  require(o.batch_size >= 1, "train: batch size must be at least 1");
  require(o.lr > 0, "train: learning rate must be positive");
  const data::Dataset& set = data.train;
  check_data_fits(arch, set);

  TrainResult result;
  result.params = arch.init(o.seed);
  for (auto& p : result.params) p.tensor = p.tensor.to(o.device);
  const at::Tensor inputs = set.inputs.to(o.device), targets = set.targets.to(o.device);
  data::Dataset test = data.test;
  test.inputs = test.inputs.to(o.device);
  test.targets = test.targets.to(o.device);
  std::vector<at::Tensor> learnable;
  for (std::size_t i = 0; i < result.params.size(); ++i)
    if (!arch.spec().params()[i].buffer) {
      result.params[i].tensor.requires_grad_(true);
      learnable.push_back(result.params[i].tensor);
    }
  AdamW opt(learnable, {o.lr, 0.9, 0.999, 1e-8, o.weight_decay});
  const auto t0 = std::chrono::steady_clock::now();
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    double loss_sum = 0;
    std::int64_t batches = 0;
    for (const at::Tensor& idx : data::batch_indices(set.size(), o.batch_size, true, o.seed * 7919 + epoch)) {
      check_cancel(cancel);
      const at::Tensor i = idx.to(o.device);
      const at::Tensor x = inputs.index_select(0, i);
      const at::Tensor y = targets.index_select(0, i);
      opt.zero_grad();
      const at::Tensor loss = eval::task_loss(arch.forward(result.params, x, true), y);
      torch::autograd::backward({loss});
      opt.step();
      loss_sum += loss.item<double>();
      ++batches;
    }
    EpochReport r;
    r.epoch = epoch;
    r.epochs = o.epochs;
    r.train_loss = loss_sum / static_cast<double>(batches);
    r.test = eval::evaluate(arch, result.params, test);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.eta_seconds = r.seconds / epoch * (o.epochs - epoch);
    result.epochs.push_back(r);
    if (on_epoch) on_epoch(r);
  }
  for (auto& p : result.params) p.tensor = p.tensor.detach().to(at::kCPU).requires_grad_(false);
  result.test = result.epochs.back().test;
  result.seconds = result.epochs.back().seconds;
  return result;
}

}  // namespace rebasin::train
