// Exact assignment under a spec's structure: plain groups take one linear assignment; head
// groups (blocks > 1, and the groups linked to them) take the two-level one - an assignment
// per pair of heads gives the pair's best inner matching and its score, then one assignment
// over heads, shared by every linked group, picks the head order (METHOD.md section 6,
// extended to attention heads).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "nn/spec.h"

namespace rebasin::align {

// The permutations of the groups in `set` (one linked set of spec.linked_sets(), in that order)
// maximising sum over the set of <P_g, scores[k]> (scores[k]: n x n, A's units by B's units,
// for group set[k]). Returns int64 index vectors in the order of `set`.
std::vector<at::Tensor> assign_set(const nn::PermutationSpec& spec, const std::vector<int>& set,
                                   const std::vector<at::Tensor>& scores);

// Every group at once: scores[g] for each group g of the spec.
std::vector<at::Tensor> assign_all(const nn::PermutationSpec& spec, const std::vector<at::Tensor>& scores);

}  // namespace rebasin::align
