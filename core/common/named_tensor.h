// A parameter set as files and models see it: tensors in a fixed order, each with its name.
// Order matters (checkpoints are mapped onto architectures in parameter order), so this is a
// vector, not a map.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace rebasin {

struct NamedTensor {
  std::string name;
  at::Tensor tensor;
};

using NamedTensors = std::vector<NamedTensor>;

}  // namespace rebasin
