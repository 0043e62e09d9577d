#include "common/device.h"

#include <torch/cuda.h>

#include "common/error.h"

namespace rebasin {

bool cuda_usable() { return torch::cuda::is_available(); }

c10::Device resolve_device(const std::string& spec) {
  if (spec == "cpu") return c10::Device(c10::kCPU);
  if (spec == "auto") return cuda_usable() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (spec == "cuda") {
    require(cuda_usable(),
            "--device cuda: no usable CUDA GPU (no GPU found, or this LibTorch was built without "
            "CUDA); use --device cpu or auto");
    return c10::Device(c10::kCUDA, 0);
  }
  throw UserError("--device must be cpu, cuda or auto (got '" + spec + "')");
}

std::string device_name(const c10::Device& device) { return device.is_cuda() ? "cuda" : "cpu"; }

}  // namespace rebasin
