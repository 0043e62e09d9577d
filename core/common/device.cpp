#include "common/device.h"

#include <torch/cuda.h>

#include "common/error.h"
#include "cuda/gpu_runtime.h"
#include "cuda/sinkhorn_gpu.h"

namespace rebasin {
namespace {

// A GPU that only our kernels can use: LibTorch without CUDA (Debian's) next to a CUDA runtime
// that sees a device. Tensors then stay on the host and the Sinkhorn passes are offloaded.
bool kernels_only_gpu() {
  return !torch::cuda::is_available() && cuda::compiled() && cuda::device_count() > 0;
}

}  // namespace

bool cuda_usable() { return torch::cuda::is_available() || kernels_only_gpu(); }

std::string cuda_status() {
  if (torch::cuda::is_available()) return "LibTorch CUDA, " + cuda::device_description();
  if (kernels_only_gpu()) return "Sinkhorn kernels only (LibTorch without CUDA), " + cuda::device_description();
  if (!cuda::compiled()) return "no CUDA: built without nvcc and LibTorch has no CUDA";
  return cuda::device_description();
}

c10::Device resolve_device(const std::string& spec) {
  cuda::set_offload(false);
  if (spec == "cpu") return c10::Device(c10::kCPU);
  if (spec == "cuda" || spec == "auto") {
    if (spec == "cuda")
      require(cuda_usable(), "--device cuda: no usable CUDA GPU here (" + cuda_status() +
                                 "); use --device cpu or auto");
    if (torch::cuda::is_available()) return c10::Device(c10::kCUDA, 0);
    if (kernels_only_gpu()) cuda::set_offload(true);
    return c10::Device(c10::kCPU);
  }
  throw UserError("--device must be cpu, cuda or auto (got '" + spec + "')");
}

std::string device_name(const c10::Device& device) {
  if (device.is_cuda()) return "cuda";
  return cuda::offload() ? "cuda-offload" : "cpu";
}

}  // namespace rebasin
