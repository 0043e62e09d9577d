// GPU correctness checks: every GPU pass against its CPU reference (and the whole GPU implicit
// backward against the CPU one) on seeded random inputs, with a tolerance per dtype. Shared by
// `rebasin bench sinkhorn --check` (runs where there is no Qt, e.g. the GPU machine) and the Qt
// Test tst_cuda, which skips them without a GPU.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rebasin::cuda {

struct CheckResult {
  std::string name;      // e.g. "forward float32 257x129 tau 0.1"
  double error = 0.0;    // max |gpu - reference| / max |reference| (or the mismatch measured)
  double tolerance = 0.0;
  bool passed = false;
};

// True when the GPU path can run here (kernels compiled, a device present).
bool gpu_checks_possible();

// Runs all checks on device 0 (CUDA tensors when LibTorch has CUDA, else the offload path).
// Throws UserError when !gpu_checks_possible().
std::vector<CheckResult> run_gpu_checks(std::uint64_t seed = 0);

}  // namespace rebasin::cuda
