// Mapping a checkpoint's tensors onto a built-in architecture. By NAME when the checkpoint uses
// the architecture's names (torchvision's, the CIFAR built-ins' PyTorch names) once a wrapper
// prefix every name carries is stripped (DDP "module.", Lightning "model.", torch.compile
// "_orig_mod."): order then does
// not matter, and a wrong shape or a left-over tensor is an error naming it. Otherwise (fc1/fc2/
// head, Sequential 0/2/4, ...) by order - PyTorch stores tensors in module order - with a shape
// check per tensor. `auto` tries every built-in that the shapes allow and accepts exactly one,
// preferring those whose names the checkpoint uses.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/named_tensor.h"
#include "nn/architecture.h"

namespace rebasin::nn {

struct MappedModel {
  std::unique_ptr<Architecture> arch;
  NamedTensors params;                      // spec names, spec order, float32 where floating
  std::vector<std::string> stored_names;    // the checkpoint's name for each spec entry ("" if absent)
};

// arch: an ARCH string or "auto". io: shapes from the data (VGG/ResNet); MLPs ignore it and
// `auto` infers it from the tensors. Buffers named num_batches_tracked may be absent (old
// PyTorch). Throws UserError naming the first tensor that does not fit, or (auto) listing what
// was found.
MappedModel map_checkpoint(const NamedTensors& stored, const std::string& arch,
                           const ModelIO& io = {});

// A checkpoint's tensors onto an architecture already made (B onto A's, the further models of a
// merge onto the first's): as its family binds them (family_registry.h). stored_names as in
// MappedModel.
NamedTensors bind_checkpoint(const NamedTensors& stored, const Architecture& arch, std::vector<std::string>* stored_names);

// The architecture `auto` would pick, or "" when none or several fit.
std::string detect_architecture(const NamedTensors& stored);

// Throws UserError naming the first tensor whose name or shape differs between two models.
void check_same_layout(const NamedTensors& a, const NamedTensors& b);

}  // namespace rebasin::nn
