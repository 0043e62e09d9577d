#include "train/optimizer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

namespace rebasin::train {

AdamW::AdamW(std::vector<at::Tensor> params, AdamWOptions options)
    : params_(std::move(params)), o_(options) {
  for (const auto& p : params_) {
    m_.push_back(at::zeros_like(p));
    v_.push_back(at::zeros_like(p));
  }
}

void AdamW::step() {
  c10::NoGradGuard no_grad;
  ++t_;
  const double bc1 = 1.0 - std::pow(o_.beta1, static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(o_.beta2, static_cast<double>(t_));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (o_.weight_decay != 0) p.mul_(1.0 - o_.lr * o_.weight_decay);
    m_[i].mul_(o_.beta1).add_(g, 1.0 - o_.beta1);
    v_[i].mul_(o_.beta2).addcmul_(g, g, 1.0 - o_.beta2);
    const at::Tensor denom = (v_[i] / bc2).sqrt_().add_(o_.eps);
    p.addcdiv_(m_[i], denom, -o_.lr / bc1);
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

Sgd::Sgd(std::vector<at::Tensor> params, SgdOptions options) : params_(std::move(params)), o_(options) {
  buf_.resize(params_.size());
}

void Sgd::step() {
  c10::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    at::Tensor d = p.grad();
    if (o_.weight_decay != 0) d = d + o_.weight_decay * p;
    if (o_.momentum != 0) {
      buf_[i] = buf_[i].defined() ? buf_[i].mul_(o_.momentum).add_(d) : d.clone();
      d = buf_[i];
    }
    p.add_(d, -o_.lr);
  }
}

void Sgd::zero_grad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

}  // namespace rebasin::train
