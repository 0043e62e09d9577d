// Task loss and accuracy of a parameter set on a data set: the measurement behind training
// reports, interpolation curves and barriers (cross-entropy for classification, MSE for
// regression).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "common/named_tensor.h"
#include "data/dataset.h"
#include "nn/architecture.h"

namespace rebasin::eval {

struct Metrics {
  double loss = 0.0;      // mean over samples
  double accuracy = 0.0;  // fraction in [0, 1]; NaN for regression
  std::int64_t samples = 0;
};

// Mean cross-entropy (int64 targets) or mean squared error (float targets); differentiable.
at::Tensor task_loss(const at::Tensor& outputs, const at::Tensor& targets);

// Evaluates in inference mode (no autograd, BatchNorm with running statistics), in batches.
Metrics evaluate(const nn::Architecture& arch, const NamedTensors& params, const data::Dataset& set,
                 std::int64_t batch_size = 1000);

// The ensemble of several parameter sets of one architecture: the mean of their softmax
// outputs (classification; loss: negative log of the mean probability of the target) or of
// their outputs (regression; MSE).
Metrics evaluate_ensemble(const nn::Architecture& arch, const std::vector<NamedTensors>& members,
                          const data::Dataset& set, std::int64_t batch_size = 1000);

}  // namespace rebasin::eval
