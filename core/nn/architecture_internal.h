// Shared pieces of the architecture implementations: parameter lookup by name and the
// spec-building helpers for common layers. Not part of the public API.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <unordered_map>

#include "nn/architecture.h"

namespace rebasin::nn {

class Architecture::Params {
 public:
  Params(const PermutationSpec& spec, const NamedTensors& params, const UnitHook* units = nullptr);
  const at::Tensor& operator()(const std::string& name) const;
  // z as the unit hook returns it (z itself without one): see Architecture::UnitHook.
  at::Tensor units(const std::string& layer, int group, const at::Tensor& z) const {
    return units_ ? (*units_)(layer, group, z) : z;
  }

 private:
  std::unordered_map<std::string, at::Tensor> map_;
  const UnitHook* units_ = nullptr;
};

// Spec helpers: each adds a layer's tensors with PyTorch's names and default initialisation.
// `out`/`in` are group indices (-1: not permuted).
void add_linear(PermutationSpec& s, const std::string& prefix, std::int64_t in_features,
                std::int64_t out_features, int in, int out, std::int64_t in_inner = 1);
void add_conv(PermutationSpec& s, const std::string& prefix, std::int64_t cin, std::int64_t cout,
              std::int64_t k, int in, int out, bool bias);
void add_batchnorm(PermutationSpec& s, const std::string& prefix, std::int64_t c, int group);
void add_layernorm(PermutationSpec& s, const std::string& prefix, std::int64_t c, int group);

at::Tensor batchnorm(const Architecture::Params& p, const std::string& prefix, const at::Tensor& x,
                     bool train);
// LayerNorm over (C, H, W) with a per-channel affine: GroupNorm with one group, so permuting
// channels permutes only the affine.
at::Tensor layernorm(const Architecture::Params& p, const std::string& prefix, const at::Tensor& x);

std::unique_ptr<Architecture> make_mlp(const std::string& arch);
std::unique_ptr<Architecture> make_vgg(const std::string& arch, const ModelIO& io);
std::unique_ptr<Architecture> make_resnet(const std::string& arch, const ModelIO& io);
std::unique_ptr<Architecture> make_torchvision(const std::string& arch, const ModelIO& io);
std::unique_ptr<Architecture> make_transformer(const std::string& arch, const ModelIO& io);

}  // namespace rebasin::nn
