// Applying permutations to a parameter set through its spec: W' = P_out W P_in^T on every axis
// tied to a group (METHOD.md section 4).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "common/named_tensor.h"
#include "nn/spec.h"

namespace rebasin::nn {

// perms[g] for each group g of the spec: an int64 index vector (hard: new unit i = old unit
// perm[i]) or a float n x n matrix (soft: new unit i = sum_j P_ij old unit j; differentiable).
// Buffers (running statistics) are always re-indexed by a hard permutation: for a soft P, the
// assignment maximising sum P_ij. Parameters are matched to the spec by name (UserError when a
// name is missing from the spec or a shape differs).
NamedTensors permute(const PermutationSpec& spec, const NamedTensors& params,
                     const std::vector<at::Tensor>& perms);

// Identity permutations (hard) for every group, and seeded random ones.
std::vector<at::Tensor> identity_permutations(const PermutationSpec& spec);
std::vector<at::Tensor> random_permutations(const PermutationSpec& spec, std::uint64_t seed);

}  // namespace rebasin::nn
