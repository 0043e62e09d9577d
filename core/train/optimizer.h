// Minimal optimisers over a list of parameter tensors (LibTorch's torch::optim would pull the
// whole torch/nn header tree into core). Update rules match PyTorch's AdamW and SGD.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace rebasin::train {

struct AdamWOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
};

class AdamW {
 public:
  AdamW(std::vector<at::Tensor> params, AdamWOptions options);
  void step();       // uses each parameter's .grad(); parameters without a gradient are skipped
  void zero_grad();
  double lr() const { return o_.lr; }
  void set_lr(double lr) { o_.lr = lr; }  // schedules (warm-up)

 private:
  std::vector<at::Tensor> params_, m_, v_;
  AdamWOptions o_;
  long t_ = 0;
};

struct SgdOptions {
  double lr = 0.01, momentum = 0.0, weight_decay = 0.0;
};

class Sgd {
 public:
  Sgd(std::vector<at::Tensor> params, SgdOptions options);
  void step();
  void zero_grad();

 private:
  std::vector<at::Tensor> params_, buf_;
  SgdOptions o_;
};

}  // namespace rebasin::train
