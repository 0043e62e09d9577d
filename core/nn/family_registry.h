// The architecture families as one table: the factory (make_architecture), --arch auto's
// candidates, the sizes an explicitly named ARCH takes from a checkpoint without data, the
// binding of a checkpoint's tensors, error messages and help texts all iterate it. A new family
// is one source file (its factory and detection) plus one line in family_registry.cpp.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/named_tensor.h"
#include "nn/architecture.h"

namespace rebasin::nn {

// A checkpoint as the families see it when they guess: its tensors, their names with any
// wrapper prefix ("module.", "model.", "_orig_mod.") stripped, and a look-up by those names.
struct CheckpointView {
  const NamedTensors& tensors;
  const std::vector<std::string>& names;
  const at::Tensor* find(const std::string& name) const;
};

using ArchCandidates = std::vector<std::pair<std::string, ModelIO>>;

struct ArchFamily {
  std::string name;    // "torchscript", "mlp", "torchvision", "resnet", "vgg", "transformer"
  std::string syntax;  // its ARCH strings, for messages and help
  bool (*owns)(const std::string& arch) = nullptr;
  std::unique_ptr<Architecture> (*make)(const std::string& arch, const ModelIO& io) = nullptr;
  // --arch auto: the ARCH strings (with their IO) the checkpoint's names and shapes suggest;
  // io is the data's (its image size), or the default without data.
  void (*candidates)(const CheckpointView& c, const ModelIO& io, ArchCandidates& out) = nullptr;
  // --arch auto: a checkpoint the family recognises but cannot complete (a transformer's heads
  // are not stored): the message naming the ARCH to give, or "".
  std::string (*incomplete)(const CheckpointView& c) = nullptr;
  // An ARCH given without data: the IOs to try, read from the checkpoint's own tensors.
  std::vector<ModelIO> (*sizes_from)(const std::string& arch, const CheckpointView& c) = nullptr;
  // Binding a checkpoint onto the architecture: null for the built-ins' rule (by name where the
  // names fit, else by order: mapping.cpp); set for families bound by name only (TorchScript).
  NamedTensors (*bind)(const NamedTensors& stored, const Architecture& arch,
                       std::vector<std::string>* stored_names) = nullptr;
};

const std::vector<ArchFamily>& arch_families();
// The family whose ARCH strings include `arch` (its owns()), or nullptr.
const ArchFamily* family_of(const std::string& arch);
// "mlp:784,512,512,10[:relu|tanh|gelu], vgg11|13|16|19[:bn], ...": every family's syntax.
std::string arch_syntax();

// Shared by the convolutional families: a checkpoint without data says its input channels
// (first tensor) and classes (last), at the usual image sides.
std::vector<ModelIO> conv_sizes(const std::string& arch, const CheckpointView& c);

}  // namespace rebasin::nn
