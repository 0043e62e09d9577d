// What the plan view is sent: a permutation group's transport plan with the hard assignment of
// the same iterate, block-averaged for display, and the run's result as a final snapshot. Kept
// apart from the methods so every method's result can be drawn the same way.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "common/events.h"
#include "nn/spec.h"

namespace rebasin::align {

// Block-averaged copy of an n x n plan for display, with `assignment` (the hard assignment of
// the same iterate); when n > max_side also the plan with its columns put in assignment order
// at full resolution before averaging (PlanSnapshot::reordered). heads > 1: the head plan and
// the matched heads' inner plans too.
PlanSnapshot make_snapshot(int step, int group, const std::string& name, const at::Tensor& plan,
                           const at::Tensor& assignment, std::int64_t max_side, std::int64_t heads = 1);

// The final snapshots of a run, one per group, marked `result`: `plans` (soft, of the iterate
// the permutations were chosen at) or, when empty, the permutations themselves as 0/1 plans -
// so every method's result fills the plan view and the drawn assignment is the returned one.
void send_result_plans(const nn::PermutationSpec& spec, const std::vector<at::Tensor>& perms,
                       const std::vector<at::Tensor>& plans, int step, std::int64_t max_side, EventSink& sink);

}  // namespace rebasin::align
