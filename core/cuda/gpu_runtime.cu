// gpu_runtime.h over the CUDA runtime (linked statically unless LibTorch has CUDA, see
// CMakeLists.txt: the binary runs, and reports "no device", on machines without a driver).
#include <cuda_runtime.h>

#include <algorithm>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/gpu_runtime.h"

namespace rebasin::cuda {
namespace {

struct Probe {
  int count = 0;
  std::string description;
};

const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    const cudaError_t e = cudaGetDeviceCount(&r.count);
    if (e != cudaSuccess || r.count <= 0) {
      cudaGetLastError();  // clear the sticky "no device" error for later callers
      r.count = 0;
      r.description = std::string("no usable CUDA device (") +
                      (e != cudaSuccess ? cudaGetErrorString(e) : "none found") + ")";
      return r;
    }
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
      std::ostringstream s;
      s << prop.name << " (sm_" << prop.major << prop.minor << ", " << prop.multiProcessorCount
        << " SMs, " << (prop.totalGlobalMem >> 30) << " GiB)";
      r.description = s.str();
    } else {
      r.description = "CUDA device 0 (properties unreadable)";
    }
    return r;
  }();
  return p;
}

}  // namespace

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

bool compiled() { return true; }
int device_count() { return probe().count; }
std::string device_description() { return probe().description; }
void set_device(int index) { check(cudaSetDevice(index), "cudaSetDevice"); }
void synchronize() { check(cudaDeviceSynchronize(), "CUDA kernel"); }

DeviceBuffer::DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
  if (bytes > 0) check(cudaMalloc(&ptr_, bytes), "cudaMalloc");
}
DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);
}
DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept : ptr_(other.ptr_), bytes_(other.bytes_) {
  other.ptr_ = nullptr;
  other.bytes_ = 0;
}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  std::swap(ptr_, other.ptr_);
  std::swap(bytes_, other.bytes_);
  return *this;
}

void copy_to_device(void* dst, const void* src, std::size_t bytes) {
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "copy to the GPU");
}
void copy_to_host(void* dst, const void* src, std::size_t bytes) {
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "copy from the GPU");
}

double device_copy_bandwidth(std::size_t bytes, int reps) {
  DeviceBuffer a(bytes), b(bytes);
  check(cudaMemset(a.get(), 0, bytes), "cudaMemset");
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  float best_ms = 1e30f;
  for (int r = 0; r <= reps; ++r) {
    check(cudaEventRecord(start), "cudaEventRecord");
    check(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice), "device copy");
    check(cudaEventRecord(stop), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    if (r > 0) best_ms = std::min(best_ms, ms);  // the first is the warm-up
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return 2.0 * double(bytes) / (double(best_ms) * 1e-3) / 1e9;
}

}  // namespace rebasin::cuda
