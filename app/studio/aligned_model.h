// The result of an alignment as the studio keeps it: both models, the permutations and aligned
// B, so it can be exported or reused by a later interpolation. Internal to the job sources.
#pragma once

#include <ATen/core/Tensor.h>

#include <QString>

#include <vector>

#include "app/studio/jobs.h"
#include "nn/model_pair.h"

namespace rebasin::studio {

struct AlignedModel {
  QString a_path, b_path, method;
  nn::ModelPair pair;
  std::vector<at::Tensor> perms;
  NamedTensors aligned;
};

}  // namespace rebasin::studio
