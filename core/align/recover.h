// The optimal-transport finding experiment (METHOD.md section 8): model A random, B = A with a
// hidden random permutation of every group, align B back to A; success = every group's hard
// assignment equals the inverse of the hidden permutation.
#pragma once

#include <string>
#include <vector>

#include "align/align.h"

namespace rebasin::align {

struct GroupRecovery {
  std::string name;
  std::int64_t size = 0;
  double recovered_fraction = 0.0;  // units sent to their original place
};

struct RecoverResult {
  double recovered_fraction = 0.0;  // over all units of all groups
  std::vector<GroupRecovery> groups;
  std::vector<at::Tensor> perms;  // the permutations the method returned, one per group
  int steps = 0;
  double seconds = 0.0;
};

// Data-free costs only (l2, l1) and the data-free methods (naive, weight, sinkhorn); the seed
// picks both A and the hidden permutations. Stops at a zero hard cost. The models are made on
// the CPU (the same for every device) and moved to `device` for the alignment.
RecoverResult recover(const nn::Architecture& arch, AlignOptions options, std::uint64_t seed,
                      EventSink* sink = nullptr, const CancelToken* cancel = nullptr,
                      const c10::Device& device = c10::kCPU);

}  // namespace rebasin::align
