// GPU passes of the implicit backward (sinkhorn_cuda_kernels.h): the Schur-complement product
// of each CG step (P p and P^T of the result in one pass over P), and the passes before and
// after the solve.
#include <cuda_runtime.h>

#include <math.h>

#include <cstdint>

#include "cuda/block_reduce.cuh"
#include "cuda/gpu_runtime.h"
#include "cuda/sinkhorn_cuda_kernels.h"

namespace rebasin::cuda::gpu {
namespace {

using namespace detail;

template <typename T>
__global__ void __launch_bounds__(kThreads) schur_rows_kernel(const T* __restrict__ P,
                                                              std::int64_t m, std::int64_t n,
                                                              const T* __restrict__ inv_a,
                                                              const T* __restrict__ p, T* partial,
                                                              bool in_shared) {
  __shared__ T scratch[kWarps];
  T* acc = block_accumulator(partial, n, in_shared);
  for (std::int64_t j = threadIdx.x; j < n; j += kThreads) acc[j] = 0;
  for (std::int64_t i = blockIdx.x; i < m; i += gridDim.x) {
    const T* row = P + i * n;
    T d = 0;
#pragma unroll 4
    for (std::int64_t j = threadIdx.x; j < n; j += kThreads) d += row[j] * p[j];
    const T t = block_sum(d, scratch) * inv_a[i];
#pragma unroll 4
    for (std::int64_t j = threadIdx.x; j < n; j += kThreads) acc[j] += t * row[j];
  }
  publish(acc, partial, n, in_shared);
}

template <typename T>
__global__ void schur_reduce_kernel(const T* partial, int blocks, std::int64_t n, const T* b,
                                    const T* p, T* y) {
  const std::int64_t j = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (j >= n) return;
  double w = 0;
  for (int k = 0; k < blocks; ++k) w += partial[k * n + j];
  y[j] = static_cast<T>(double(b[j]) * p[j] - w);
}

// Accumulators: [b | h2 | dsq | t], 4n wide.
template <typename T>
__global__ void __launch_bounds__(kThreads) prepare_rows_kernel(const T* __restrict__ P,
                                                                const T* __restrict__ G,
                                                                std::int64_t m, std::int64_t n,
                                                                T* a, T* h1, T* partial,
                                                                bool in_shared) {
  __shared__ T scratch[kWarps];
  T* acc = block_accumulator(partial, 4 * n, in_shared);
  for (std::int64_t j = threadIdx.x; j < 4 * n; j += kThreads) acc[j] = 0;
  for (std::int64_t i = blockIdx.x; i < m; i += gridDim.x) {
    const T* p = P + i * n;
    const T* gr = G + i * n;
    T ai = 0, hi = 0;
    for (std::int64_t j = threadIdx.x; j < n; j += kThreads) {
      ai += p[j];
      hi += gr[j] * p[j];
    }
    ai = block_sum(ai, scratch);
    hi = block_sum(hi, scratch);
    if (threadIdx.x == 0) {
      a[i] = ai;
      h1[i] = hi;
    }
    const T inv = T(1) / ai, ha = hi / ai;
    for (std::int64_t j = threadIdx.x; j < n; j += kThreads) {
      const T pj = p[j];
      acc[j] += pj;
      acc[n + j] += gr[j] * pj;
      acc[2 * n + j] += pj * pj * inv;
      acc[3 * n + j] += pj * ha;
    }
  }
  publish(acc, partial, 4 * n, in_shared);
}

template <typename T>
__global__ void prepare_reduce_kernel(const T* partial, int blocks, std::int64_t n, double* b,
                                      double* h2, double* dsq, double* t) {
  const std::int64_t k = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (k >= 4 * n) return;
  double sum = 0;
  for (int blk = 0; blk < blocks; ++blk) sum += partial[blk * 4 * n + k];
  const std::int64_t which = k / n, j = k % n;  // branches: an indexed pointer array would spill
  if (which == 0)
    b[j] = sum;
  else if (which == 1)
    h2[j] = sum;
  else if (which == 2)
    dsq[j] = sum;
  else
    t[j] = sum;
}

template <typename T>
__global__ void __launch_bounds__(kThreads) finish_rows_kernel(const T* __restrict__ P,
                                                               const T* __restrict__ G,
                                                               std::int64_t m, std::int64_t n,
                                                               const T* __restrict__ a,
                                                               const T* __restrict__ h1,
                                                               const T* __restrict__ v, T inv_tau,
                                                               T* __restrict__ grad) {
  __shared__ T scratch[kWarps];
  for (std::int64_t i = blockIdx.x; i < m; i += gridDim.x) {
    const T* p = P + i * n;
    const T* gr = G + i * n;
    T d = 0;
    for (std::int64_t j = threadIdx.x; j < n; j += kThreads) d += p[j] * v[j];
    const T ui = (h1[i] - block_sum(d, scratch)) / a[i];
    T* out = grad + i * n;
    for (std::int64_t j = threadIdx.x; j < n; j += kThreads) out[j] = p[j] * (gr[j] - ui - v[j]) * inv_tau;
  }
}

}  // namespace

std::size_t backward_workspace_bytes(std::int64_t m, std::int64_t n, std::size_t elem) {
  if (device_count() == 0) return 0;
  return Carver::align(std::size_t(blocks_for(m)) * 4 * n * elem);
}

template <typename T>
void schur_matvec(const T* P, std::int64_t m, std::int64_t n, const T* inv_a, const T* b,
                  const T* p, T* y, void* workspace, cudaStream_t stream) {
  T* partial = static_cast<T*>(workspace);
  const Geometry geo = geometry(schur_rows_kernel<T>, m, n, sizeof(T));
  schur_rows_kernel<T><<<geo.blocks, kThreads, geo.shared_bytes, stream>>>(P, m, n, inv_a, p, partial,
                                                                          geo.in_shared);
  launched("Schur rows");
  schur_reduce_kernel<T><<<cover(n), kThreads, 0, stream>>>(partial, geo.blocks, n, b, p, y);
  launched("Schur reduce");
}

template <typename T>
void implicit_prepare(const T* P, const T* G, std::int64_t m, std::int64_t n, T* a, T* h1,
                      double* b, double* h2, double* dsq, double* t, void* workspace,
                      cudaStream_t stream) {
  T* partial = static_cast<T*>(workspace);
  const Geometry geo = geometry(prepare_rows_kernel<T>, m, 4 * n, sizeof(T));
  prepare_rows_kernel<T><<<geo.blocks, kThreads, geo.shared_bytes, stream>>>(P, G, m, n, a, h1, partial,
                                                                            geo.in_shared);
  launched("backward prepare");
  prepare_reduce_kernel<T><<<cover(4 * n), kThreads, 0, stream>>>(partial, geo.blocks, n, b, h2, dsq, t);
  launched("backward prepare reduce");
}

template <typename T>
void implicit_finish(const T* P, const T* G, std::int64_t m, std::int64_t n, const T* a,
                     const T* h1, const T* v, T inv_tau, T* grad, void*, cudaStream_t stream) {
  finish_rows_kernel<T><<<blocks_for(m), kThreads, 0, stream>>>(P, G, m, n, a, h1, v, inv_tau, grad);
  launched("backward finish");
}

REBASIN_INSTANTIATE_IMPLICIT_BACKWARD(float)
REBASIN_INSTANTIATE_IMPLICIT_BACKWARD(double)

}  // namespace rebasin::cuda::gpu
