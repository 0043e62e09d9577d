// Turns a CUDA runtime error into a std::runtime_error naming the step (for .cu files only).
#pragma once

#include <cuda_runtime.h>

namespace rebasin::cuda {

void check(cudaError_t e, const char* what);

}  // namespace rebasin::cuda
