// The few CUDA runtime services core needs, behind a torch-free, CUDA-header-free interface:
// is a GPU there, device buffers and copies (the path for a CPU-only LibTorch on a machine with
// a GPU), and a device copy bandwidth for the benchmarks. Built from gpu_runtime.cu when nvcc is
// found, from gpu_runtime_stub.cpp otherwise (no device, every allocation throws).
#pragma once

#include <cstddef>
#include <string>

namespace rebasin::cuda {

// True when this binary carries the CUDA kernels (nvcc was found at build time).
bool compiled();

// Devices the CUDA runtime can use; 0 when none, the driver is missing, or !compiled(). Never
// throws. The first call initialises the runtime (cached afterwards).
int device_count();

// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79 GiB)" for device 0, or why there is none.
std::string device_description();

// Selects the device that later launches and allocations from this thread use.
void set_device(int index);

// Waits for all work on the device; throws std::runtime_error on a pending CUDA error.
void synchronize();

// Owns one device allocation (cudaMalloc); move-only.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return ptr_; }
  std::size_t bytes() const { return bytes_; }
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

void copy_to_device(void* dst, const void* src, std::size_t bytes);
void copy_to_host(void* dst, const void* src, std::size_t bytes);

// Device-to-device copy rate of a `bytes` buffer in GB/s, counting one read and one write per
// byte (best of `reps` after a warm-up, timed with CUDA events).
double device_copy_bandwidth(std::size_t bytes, int reps = 5);

}  // namespace rebasin::cuda
