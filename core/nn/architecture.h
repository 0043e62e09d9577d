// Built-in architectures as functional models: forward(parameters, input) with gradients
// flowing to the parameters, so permuted, soft-permuted and interpolated parameter sets can be
// evaluated and differentiated without module objects. Each declares its permutation spec.
//
// ARCH strings (PRODUCT.md): mlp:784,512,512,10[:relu|tanh|gelu]; vgg11|vgg13|vgg16|vgg19 and
// vgg:8,M,32,M,64 (3x3 conv widths, M = 2x2 max-pool; add :bn for BatchNorm);
// resnet20xK[:ln] (CIFAR ResNet-20, width multiplier K, BatchNorm or LayerNorm); resnet18 (the
// CIFAR variant: 3x3 stem, shortcut.N, linear); torchvision's ImageNet models under their own
// names: tv:resnet18|34|50|101|152[:wN], tv:vgg11|13|16|19[_bn][:wN][:hM] (torchvision.cpp);
// transformers with head-structured groups: vit:P,D,L,H,M (torchvision's VisionTransformer) and
// gpt:V,T,D,L,H (nanoGPT), :shared to permute the residual stream too (transformer.cpp);
// the path of a TorchScript archive (nn/graph: any model, spec derived from its graph).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/named_tensor.h"
#include "nn/spec.h"

namespace rebasin::nn {

// What the data gives a model: the shape of one input (e.g. {1, 28, 28} or {784}) and the
// number of outputs (classes, or 1 for regression). MLPs take both from their ARCH string.
struct ModelIO {
  std::vector<std::int64_t> input_shape = {3, 32, 32};
  std::int64_t outputs = 10;
};

class Architecture {
 public:
  virtual ~Architecture() = default;
  const std::string& name() const { return name_; }
  const PermutationSpec& spec() const { return spec_; }
  const ModelIO& io() const { return io_; }

  // Parameters and buffers in spec order, initialised as PyTorch's defaults do, seeded (a
  // TorchScript model: its own tensors).
  virtual NamedTensors init(std::uint64_t seed) const;

  // Logits (N x outputs) for a batch (N x input_shape, or anything reshapeable to it).
  // `train`: BatchNorm uses batch statistics and updates the running buffers in place.
  // Throws UserError when a parameter is missing or has the wrong shape.
  at::Tensor forward(const NamedTensors& params, const at::Tensor& x, bool train = false) const;

  // Called with (group, activation) wherever the units of a permutation group leave a layer
  // (after the nonlinearity; N x units or N x channels x H x W). Residual streams report every
  // block output. Activation matching correlates these between two models.
  using ActivationHook = std::function<void(int group, const at::Tensor& activation)>;
  at::Tensor forward(const NamedTensors& params, const at::Tensor& x, bool train,
                     const ActivationHook& hook) const;

  // Called where a layer's units leave its affine part - before the nonlinearity and any
  // residual addition - with the prefix of the parameters (`layer`.weight, `layer`.bias) that
  // scale and shift each unit there; the returned tensor replaces z. REPAIR (eval/repair.h)
  // measures and corrects the units' statistics at these points, then folds the correction
  // into those parameters. Built-in MLP, VGG and CIFAR ResNet families report them.
  using UnitHook = std::function<at::Tensor(const std::string& layer, int group, const at::Tensor& z)>;
  at::Tensor forward(const NamedTensors& params, const at::Tensor& x, bool train, const UnitHook& hook) const;
  virtual bool reports_units() const { return false; }

  bool has_batchnorm() const;

  class Params;  // name -> tensor view of a parameter set, checked against the spec

 protected:
  Architecture(std::string name, ModelIO io) : name_(std::move(name)), io_(std::move(io)) {}
  virtual at::Tensor run(const Params& p, const at::Tensor& x, bool train,
                         const ActivationHook* hook) const = 0;
  at::Tensor forward_params(const Params& p, const at::Tensor& x, bool train, const ActivationHook* hook) const;

  std::string name_;
  ModelIO io_;
  PermutationSpec spec_;
};

// Parses an ARCH string (UserError for unknown or malformed ones).
std::unique_ptr<Architecture> make_architecture(const std::string& arch, const ModelIO& io = {});

// `arch` (a built-in transformer) with its residual stream permuted as one group ("shared") or
// left as it is ("identity"); UserError for other architectures or modes (`--residual`).
std::string with_residual(const std::string& arch, const std::string& mode);

}  // namespace rebasin::nn
