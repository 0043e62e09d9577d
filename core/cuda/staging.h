// Where a GPU pass's arrays live: the tensors' own memory (CUDA tensors, or host tensors for the
// CPU references) or device buffers staged from host tensors (offload). Outputs are created on
// the caller's device and, when staged, copied back by collect().
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "cuda/gpu_runtime.h"

namespace rebasin::cuda {

class Staging {
 public:
  enum class Mode { Host, TorchCuda, Offload };

  // `like` decides the mode: reference -> Host; a CUDA tensor -> TorchCuda; else Offload.
  Staging(bool reference, const at::Tensor& like);

  Mode mode() const { return mode_; }
  // A contiguous copy of t in the caller's device and dtype, and its pointer in compute space.
  void* input(const at::Tensor& t, at::ScalarType dtype);
  template <typename T>
  T* in(const at::Tensor& t, at::ScalarType dtype) { return static_cast<T*>(input(t, dtype)); }
  // Scratch (never read back).
  void* scratch(std::size_t bytes);
  template <typename T>
  T* scratch_of(std::int64_t count) { return static_cast<T*>(scratch(std::size_t(count) * sizeof(T))); }
  // A new tensor on the caller's device; returns its pointer in compute space.
  void* output(at::Tensor& result, at::IntArrayRef sizes, at::ScalarType dtype);
  template <typename T>
  T* out(at::Tensor& result, at::IntArrayRef sizes, at::ScalarType dtype) {
    return static_cast<T*>(output(result, sizes, dtype));
  }
  // Host <-> compute-space copies (plain memcpy in Host mode).
  void upload(void* dst, const void* src, std::size_t bytes) const;
  void download(void* dst, const void* src, std::size_t bytes) const;
  // Copies staged outputs back into their tensors (Offload), and waits for the device.
  void collect();

 private:
  Mode mode_;
  at::Device device_;
  std::vector<at::Tensor> keep_;
  std::vector<DeviceBuffer> buffers_;
  struct Pending {
    at::Tensor tensor;
    const void* src;
  };
  std::vector<Pending> pending_;
};

}  // namespace rebasin::cuda
