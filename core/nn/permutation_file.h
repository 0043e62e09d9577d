// Permutations on disk (--perm-out / --perm): JSON
//   {"format": "rebasin-permutations", "version": 1, "arch": "mlp:784,512,512,10",
//    "groups": [{"name": "fc1", "size": 512, "perm": [17, 3, ...]}, ...]}
// perm[i] = the unit of model B that goes to position i (B aligned = permute(B, perms)).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "nn/spec.h"

namespace rebasin::nn {

// Atomic write; perms are int64 index vectors, one per spec group.
void write_permutations(const std::string& path, const std::string& arch, const PermutationSpec& spec,
                        const std::vector<at::Tensor>& perms);

// Reads and validates against the spec (group names, sizes, each a permutation). UserError with
// one line naming the file and the problem.
std::vector<at::Tensor> read_permutations(const std::string& path, const PermutationSpec& spec);

}  // namespace rebasin::nn
