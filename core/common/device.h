// --device cpu|cuda|auto, resolved once per command. "cuda" without a usable GPU is a user
// error (exit 1), "auto" quietly falls back to the CPU. With a LibTorch that has no CUDA but a
// GPU the CUDA runtime can use, "cuda"/"auto" keep tensors on the CPU and offload the Sinkhorn
// passes to the GPU (cuda/sinkhorn_gpu.h); device_name() then says "cuda-offload".
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace rebasin {

bool cuda_usable();
// One line: what CUDA this process can use, or why none.
std::string cuda_status();
c10::Device resolve_device(const std::string& spec);
std::string device_name(const c10::Device& device);

}  // namespace rebasin
