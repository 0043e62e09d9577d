// --device cpu|cuda|auto, resolved once per command. "cuda" without a usable GPU is a user
// error (exit 1), "auto" quietly falls back to the CPU.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace rebasin {

bool cuda_usable();
c10::Device resolve_device(const std::string& spec);
std::string device_name(const c10::Device& device);

}  // namespace rebasin
