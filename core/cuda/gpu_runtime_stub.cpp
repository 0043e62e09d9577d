// gpu_runtime.h for builds without nvcc: no device is ever usable, and anything that would need
// one throws (callers check device_count() first, so reaching a throw here is a bug).
#include <stdexcept>

#include "cuda/gpu_runtime.h"
#include "cuda/sinkhorn_cuda_kernels.h"

namespace rebasin::cuda {
namespace {

[[noreturn]] void unavailable() {
  throw std::runtime_error("this build has no CUDA kernels (nvcc was not found when it was built)");
}

}  // namespace

bool compiled() { return false; }
int device_count() { return 0; }
std::string device_description() { return "no CUDA support compiled in (nvcc not found at build time)"; }
void set_device(int) { unavailable(); }
void synchronize() {}
DeviceBuffer::DeviceBuffer(std::size_t) { unavailable(); }
DeviceBuffer::~DeviceBuffer() = default;
DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept : ptr_(other.ptr_), bytes_(other.bytes_) {}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&&) noexcept { return *this; }
void copy_to_device(void*, const void*, std::size_t) { unavailable(); }
void copy_to_host(void*, const void*, std::size_t) { unavailable(); }
double device_copy_bandwidth(std::size_t, int) { unavailable(); }

namespace gpu {

std::size_t forward_workspace_bytes(std::int64_t, std::int64_t, std::size_t) { return 0; }
std::size_t backward_workspace_bytes(std::int64_t, std::int64_t, std::size_t) { return 0; }

template <typename T>
ForwardStats sinkhorn_forward(const T*, const T*, const T*, const ForwardSpec&, T*, T*, T*, void*,
                              cudaStream_t) {
  unavailable();
}
template <typename T>
void schur_matvec(const T*, std::int64_t, std::int64_t, const T*, const T*, const T*, T*, void*,
                  cudaStream_t) {
  unavailable();
}
template <typename T>
void implicit_prepare(const T*, const T*, std::int64_t, std::int64_t, T*, T*, double*, double*,
                      double*, double*, void*, cudaStream_t) {
  unavailable();
}
template <typename T>
void implicit_finish(const T*, const T*, std::int64_t, std::int64_t, const T*, const T*, const T*,
                     T, T*, void*, cudaStream_t) {
  unavailable();
}

REBASIN_INSTANTIATE_SINKHORN_FORWARD(float)
REBASIN_INSTANTIATE_IMPLICIT_BACKWARD(float)
REBASIN_INSTANTIATE_SINKHORN_FORWARD(double)
REBASIN_INSTANTIATE_IMPLICIT_BACKWARD(double)

}  // namespace gpu
}  // namespace rebasin::cuda
