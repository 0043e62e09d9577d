// Building blocks of the GPU Sinkhorn passes (sinkhorn_forward.cu, sinkhorn_backward.cu).
// Layout: a grid of G blocks walks the rows (row i goes to block i mod G); a block reduces each
// row with all its threads, and thread t owns the columns j = t (mod block size), so each block
// keeps private column sums (in shared memory when they fit, else in its own slice of the
// workspace) without atomics. A small kernel then adds the G slices in double in a fixed order:
// results do not depend on scheduling.
#pragma once

#include <cuda_runtime.h>

#include <math.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "cuda/cuda_check.h"

namespace rebasin::cuda::gpu::detail {

// 512 threads and at least 8 rows a block: more loads in flight per SM than 256 and 16 gave
// (n = 4096 ran 256 blocks of 8 warps on 132 SMs).
constexpr int kThreads = 512;
constexpr int kWarps = kThreads / 32;
constexpr std::int64_t kMinRowsPerBlock = 8;
constexpr int kMaxBlocksPerSm = 2;

__device__ __forceinline__ float dexp(float x) { return expf(x); }
__device__ __forceinline__ double dexp(double x) { return exp(x); }
__device__ __forceinline__ float dlog(float x) { return logf(x); }
__device__ __forceinline__ double dlog(double x) { return log(x); }

// Sum over the block, the same value in every thread (fixed order: deterministic).
template <typename T>
__device__ T block_sum(T v, T* scratch) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();  // scratch may still be read from the previous call
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  T r = 0;
  for (int w = 0; w < kWarps; ++w) r += scratch[w];
  return r;
}

// (max, sum of exp(x - max)) pairs merged: a streaming log-sum-exp.
template <typename T>
__device__ __forceinline__ void lse_merge(T& m, T& s, T m2, T s2) {
  if (m2 == T(-INFINITY)) return;
  if (m == T(-INFINITY)) {
    m = m2;
    s = s2;
  } else if (m2 > m) {
    s = s * dexp(m - m2) + s2;
    m = m2;
  } else {
    s = s + s2 * dexp(m2 - m);
  }
}

template <typename T>
__device__ void block_lse(T& m, T& s, T* scratch_m, T* scratch_s) {
  for (int o = 16; o > 0; o >>= 1) {
    const T m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
    lse_merge(m, s, m2, s2);
  }
  __syncthreads();
  if ((threadIdx.x & 31) == 0) {
    scratch_m[threadIdx.x >> 5] = m;
    scratch_s[threadIdx.x >> 5] = s;
  }
  __syncthreads();
  m = T(-INFINITY);
  s = 0;
  for (int w = 0; w < kWarps; ++w) lse_merge(m, s, scratch_m[w], scratch_s[w]);
}

// The block's column accumulators: shared memory, or its slice of `partial`.
template <typename T>
__device__ T* block_accumulator(T* partial, std::int64_t width, bool in_shared) {
  extern __shared__ __align__(16) unsigned char shared_raw[];
  return in_shared ? reinterpret_cast<T*>(shared_raw) : partial + blockIdx.x * width;
}

// Called by every thread of the block. The barrier first: a kernel may update an accumulator
// from a thread other than the one that copies it out (prepare_rows_kernel's four sections of n
// columns), and a block may have had no row, hence no barrier, at all. Without it the copy raced
// the last updates (seen on an H200: float64 column sums of a 200x150 plan off by 23%).
template <typename T>
__device__ void publish(const T* acc, T* partial, std::int64_t width, bool in_shared) {
  if (!in_shared) return;
  __syncthreads();
  for (std::int64_t j = threadIdx.x; j < width; j += kThreads) partial[blockIdx.x * width + j] = acc[j];
}

// --- launch geometry -----------------------------------------------------------------------

struct Geometry {
  int blocks = 1;
  bool in_shared = false;
  std::size_t shared_bytes = 0;
};

inline int current_sm_count() {
  int dev = 0, sms = 1;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev), "SM count");
  return std::max(1, sms);
}

inline int blocks_for(std::int64_t m) {
  const std::int64_t by_rows = (m + kMinRowsPerBlock - 1) / kMinRowsPerBlock;
  return static_cast<int>(std::max<std::int64_t>(
      1, std::min<std::int64_t>(by_rows, std::int64_t(current_sm_count()) * kMaxBlocksPerSm)));
}

// Column accumulators of `width` entries: in shared memory when the device allows that much
// per block (the kernel's limit is raised past the 48 KB default), else in the workspace.
template <typename Kernel>
Geometry geometry(Kernel kernel, std::int64_t m, std::int64_t width, std::size_t elem) {
  Geometry geo;
  geo.blocks = blocks_for(m);
  int dev = 0, optin = 0;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev), "shared memory limit");
  const std::size_t bytes = std::size_t(width) * elem;
  const std::size_t static_bytes = 2 * kWarps * sizeof(double);
  if (bytes + static_bytes <= std::size_t(optin)) {
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
          "shared memory attribute");
    geo.in_shared = true;
    geo.shared_bytes = bytes;
  }
  return geo;
}

inline int cover(std::int64_t n) { return static_cast<int>((n + kThreads - 1) / kThreads); }

inline void launched(const char* what) { check(cudaGetLastError(), what); }

// Carves aligned pieces out of the workspace.
class Carver {
 public:
  explicit Carver(void* base) : p_(static_cast<unsigned char*>(base)) {}
  template <typename U>
  U* take(std::int64_t count) {
    U* r = reinterpret_cast<U*>(p_ + used_);
    used_ += align(std::size_t(count) * sizeof(U));
    return r;
  }
  static std::size_t align(std::size_t b) { return (b + 255) / 256 * 256; }

 private:
  unsigned char* p_;
  std::size_t used_ = 0;
};

}  // namespace rebasin::cuda::gpu::detail
