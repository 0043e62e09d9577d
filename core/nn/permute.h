// Applying permutations to a parameter set through its spec: W' = P_out W P_in^T on every axis
// tied to a group (METHOD.md section 4), and the permutations a spec allows.
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

// One tensor's axis reordered through one tie (hard index vector or soft matrix perm).
at::Tensor permute_tie(const at::Tensor& x, std::int64_t axis, const AxisTie& tie, std::int64_t group_size,
                       const at::Tensor& perm, bool hard);

// Positions along the axis of the entries a tie covers, as an (outer, group size, inner) int64
// tensor: unit u of repeat o, element r sits at [o][u][r].
at::Tensor tie_positions(const AxisTie& tie, std::int64_t group_size);

// Identity permutations (hard) for every group, and seeded random ones that respect the head
// structure (whole blocks move; linked groups move their blocks alike).
std::vector<at::Tensor> identity_permutations(const PermutationSpec& spec);
std::vector<at::Tensor> random_permutations(const PermutationSpec& spec, std::uint64_t seed);

// A head-structured permutation: block i of the result is block sigma[i] of the input, its
// units reordered by inner[i] (each an index vector over the block's units).
at::Tensor block_permutation(const at::Tensor& sigma, const std::vector<at::Tensor>& inner);
// The block order of a head-structured permutation (sigma above).
at::Tensor block_order(const at::Tensor& perm, std::int64_t blocks);

// Throws UserError unless every perm is an index vector of its group's size that respects
// the head structure ("group 'x': ..." naming the first that does not).
void check_permutations(const PermutationSpec& spec, const std::vector<at::Tensor>& perms);

}  // namespace rebasin::nn
