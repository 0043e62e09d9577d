// GPU Sinkhorn forward (sinkhorn_cuda_kernels.h): the first column normalisation in two passes
// (column max, then sums of exponentials), then one fused pass over X per iteration; the
// iteration logic is forward_driver.h's, shared with the CPU reference.
#include <cuda_runtime.h>

#include <math.h>

#include <cmath>
#include <limits>
#include <vector>

#include "cuda/block_reduce.cuh"
#include "cuda/forward_driver.h"
#include "cuda/gpu_runtime.h"
#include "cuda/sinkhorn_cuda_kernels.h"

namespace rebasin::cuda::gpu {
namespace {

using namespace detail;

template <typename T>
__global__ void __launch_bounds__(kThreads) column_max_kernel(const T* __restrict__ X, std::int64_t m,
                                                              std::int64_t n, T s, T* partial,
                                                              bool in_shared, int* bad) {
  T* acc = block_accumulator(partial, n, in_shared);
  for (std::int64_t j = threadIdx.x; j < n; j += kThreads) acc[j] = T(-INFINITY);
  bool nonfinite = false;
  for (std::int64_t i = blockIdx.x; i < m; i += gridDim.x) {
    const T* x = X + i * n;
#pragma unroll 4
    for (std::int64_t j = threadIdx.x; j < n; j += kThreads) {
      const T v = x[j];
      nonfinite |= !isfinite(v);
      const T vs = v * s;
      acc[j] = vs > acc[j] ? vs : acc[j];
    }
  }
  if (nonfinite) atomicOr(bad, 1);
  publish(acc, partial, n, in_shared);
}

template <typename T>
__global__ void column_max_reduce_kernel(const T* partial, int blocks, std::int64_t n, T* cm) {
  const std::int64_t j = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (j >= n) return;
  T mx = T(-INFINITY);
  for (int b = 0; b < blocks; ++b) mx = fmax(mx, partial[b * n + j]);
  cm[j] = mx;
}

template <typename T>
__global__ void __launch_bounds__(kThreads) column_sumexp_kernel(const T* __restrict__ X, std::int64_t m,
                                                                 std::int64_t n, T s,
                                                                 const T* __restrict__ cm,
                                                                 T* partial, bool in_shared) {
  T* acc = block_accumulator(partial, n, in_shared);
  for (std::int64_t j = threadIdx.x; j < n; j += kThreads) acc[j] = 0;
  for (std::int64_t i = blockIdx.x; i < m; i += gridDim.x) {
    const T* x = X + i * n;
#pragma unroll 4
    for (std::int64_t j = threadIdx.x; j < n; j += kThreads) acc[j] += dexp(x[j] * s - cm[j]);
  }
  publish(acc, partial, n, in_shared);
}

// g_j = log b_j - cm_j - log(sum of the slices).
template <typename T>
__global__ void column_init_kernel(const T* partial, int blocks, std::int64_t n, const T* cm,
                                   const T* log_b, T* g) {
  const std::int64_t j = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (j >= n) return;
  double sum = 0;
  for (int b = 0; b < blocks; ++b) sum += partial[b * n + j];
  g[j] = static_cast<T>(log_b[j] - cm[j] - log(sum));
}

// The fused iteration: f_i = log a_i - LSE_j(X_ij s + g_j) and the plan row into the column
// sums (and into `plan` when given). X is read from memory once; the second sweep of a row
// finds it in L2.
template <typename T>
__global__ void __launch_bounds__(kThreads) row_pass_kernel(const T* __restrict__ X,
                                                            const T* __restrict__ log_a,
                                                            const T* __restrict__ g, std::int64_t m,
                                                            std::int64_t n, T s, T* __restrict__ f,
                                                            T* __restrict__ plan, T* partial,
                                                            bool in_shared) {
  __shared__ T scratch_m[kWarps], scratch_s[kWarps];
  T* acc = block_accumulator(partial, n, in_shared);
  for (std::int64_t j = threadIdx.x; j < n; j += kThreads) acc[j] = 0;
  for (std::int64_t i = blockIdx.x; i < m; i += gridDim.x) {
    const T* x = X + i * n;
    T mx = T(-INFINITY), se = 0;
    std::int64_t j = threadIdx.x;
    // Four of a thread's columns at a time: four independent loads and exps and one rescale.
    // One at a time, every element's update waited on the previous one's exp (a serial chain
    // that left the loads idle: 4.6 to 7.5 reads of X per iteration on an H200).
    for (; j + 3 * kThreads < n; j += 4 * kThreads) {
      const T v0 = x[j] * s + g[j], v1 = x[j + kThreads] * s + g[j + kThreads];
      const T v2 = x[j + 2 * kThreads] * s + g[j + 2 * kThreads];
      const T v3 = x[j + 3 * kThreads] * s + g[j + 3 * kThreads];
      const T m01 = v0 > v1 ? v0 : v1, m23 = v2 > v3 ? v2 : v3;
      const T m4 = m01 > m23 ? m01 : m23;
      if (m4 > mx) {
        se *= dexp(mx - m4);
        mx = m4;
      }
      se += (dexp(v0 - mx) + dexp(v1 - mx)) + (dexp(v2 - mx) + dexp(v3 - mx));
    }
    for (; j < n; j += kThreads) {
      const T v = x[j] * s + g[j];
      if (v > mx) {
        se = se * dexp(mx - v) + T(1);
        mx = v;
      } else {
        se += dexp(v - mx);
      }
    }
    block_lse(mx, se, scratch_m, scratch_s);
    const T la = log_a[i];
    if (threadIdx.x == 0) f[i] = la - mx - dlog(se);
    const T r = dexp(la) / se;
    T* out = plan ? plan + i * n : nullptr;
#pragma unroll 4
    for (std::int64_t j = threadIdx.x; j < n; j += kThreads) {
      const T p = dexp(x[j] * s + g[j] - mx) * r;
      acc[j] += p;
      if (out) out[j] = p;
    }
  }
  publish(acc, partial, n, in_shared);
}

template <typename T>
__global__ void column_sum_kernel(const T* partial, int blocks, std::int64_t n, double* colsum) {
  const std::int64_t j = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (j >= n) return;
  double sum = 0;
  for (int b = 0; b < blocks; ++b) sum += partial[b * n + j];
  colsum[j] = sum;
}

// Per block: sum of |colsum_j - b_j| over its columns (the host adds the blocks).
template <typename T>
__global__ void __launch_bounds__(kThreads) column_error_kernel(const double* colsum, const T* log_b,
                                                                std::int64_t n, double* err_part) {
  __shared__ double scratch[kWarps];
  const std::int64_t j = blockIdx.x * std::int64_t(kThreads) + threadIdx.x;
  const double e = j < n ? fabs(colsum[j] - exp(double(log_b[j]))) : 0.0;
  const double total = block_sum(e, scratch);
  if (threadIdx.x == 0) err_part[blockIdx.x] = total;
}

template <typename T>
__global__ void update_columns_kernel(const T* __restrict__ X, const T* __restrict__ f,
                                      const T* __restrict__ log_b, const double* colsum,
                                      std::int64_t m, std::int64_t n, T s, double tiny, T* g) {
  const std::int64_t j = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (j >= n) return;
  const double cs = colsum[j];
  if (cs > tiny) {
    g[j] = static_cast<T>(g[j] + log_b[j] - log(cs));
    return;
  }
  // The column's mass underflowed in T: its exact log-sum-exp (rare; a strided walk).
  double mx = -INFINITY;
  for (std::int64_t i = 0; i < m; ++i) mx = fmax(mx, double(X[i * n + j] * s + f[i]));
  double se = 0;
  for (std::int64_t i = 0; i < m; ++i) se += exp(double(X[i * n + j] * s + f[i]) - mx);
  g[j] = static_cast<T>(log_b[j] - (mx + log(se)));
}

template <typename T>
class GpuPasses final : public ForwardPasses {
 public:
  GpuPasses(const T* X, const T* log_a, const T* log_b, const ForwardSpec& spec, T* plan, T* f,
            T* g, void* workspace, cudaStream_t stream)
      : X_(X), log_a_(log_a), log_b_(log_b), m_(spec.m), n_(spec.n),
        s_(static_cast<T>(spec.inv_tau)), plan_(plan), f_(f), g_(g), stream_(stream) {
    Carver c(workspace);
    blocks_ = blocks_for(m_);
    partial_ = c.take<T>(std::int64_t(blocks_) * n_);
    cm_ = c.take<T>(n_);
    colsum_ = c.take<double>(n_);
    err_part_ = c.take<double>(cover(n_));
    bad_ = c.take<int>(1);
    // Mass and the underflow threshold, as the CPU kernels compute them.
    std::vector<T> la(m_), lb(n_);
    check(cudaMemcpyAsync(la.data(), log_a, m_ * sizeof(T), cudaMemcpyDeviceToHost, stream_), "marginals");
    check(cudaMemcpyAsync(lb.data(), log_b, n_ * sizeof(T), cudaMemcpyDeviceToHost, stream_), "marginals");
    check(cudaStreamSynchronize(stream_), "marginals");
    double amax = 0;
    for (T v : la) amax = std::max(amax, std::exp(double(v)));
    for (T v : lb) mass_ += std::exp(double(v));
    tiny_ = double(std::numeric_limits<T>::min()) * 1e13 * std::max(1.0, amax);
    err_host_.resize(cover(n_));
  }

  bool init_columns() override {
    int bad = 0;
    check(cudaMemsetAsync(bad_, 0, sizeof(int), stream_), "cudaMemset");
    const Geometry gm = geometry(column_max_kernel<T>, m_, n_, sizeof(T));
    column_max_kernel<T><<<gm.blocks, kThreads, gm.shared_bytes, stream_>>>(X_, m_, n_, s_, partial_,
                                                                           gm.in_shared, bad_);
    launched("column max");
    column_max_reduce_kernel<T><<<cover(n_), kThreads, 0, stream_>>>(partial_, gm.blocks, n_, cm_);
    launched("column max reduce");
    check(cudaMemcpyAsync(&bad, bad_, sizeof(int), cudaMemcpyDeviceToHost, stream_), "flag");
    check(cudaStreamSynchronize(stream_), "column max");
    if (bad) return false;
    const Geometry ge = geometry(column_sumexp_kernel<T>, m_, n_, sizeof(T));
    column_sumexp_kernel<T><<<ge.blocks, kThreads, ge.shared_bytes, stream_>>>(X_, m_, n_, s_, cm_,
                                                                              partial_, ge.in_shared);
    launched("column sum");
    column_init_kernel<T><<<cover(n_), kThreads, 0, stream_>>>(partial_, ge.blocks, n_, cm_, log_b_, g_);
    launched("column init");
    check(cudaMemsetAsync(f_, 0, m_ * sizeof(T), stream_), "cudaMemset");
    return true;
  }

  void row_pass(bool write) override {
    const Geometry geo = geometry(row_pass_kernel<T>, m_, n_, sizeof(T));
    row_pass_kernel<T><<<geo.blocks, kThreads, geo.shared_bytes, stream_>>>(
        X_, log_a_, g_, m_, n_, s_, f_, write ? plan_ : nullptr, partial_, geo.in_shared);
    launched("row pass");
    column_sum_kernel<T><<<cover(n_), kThreads, 0, stream_>>>(partial_, geo.blocks, n_, colsum_);
    launched("column sums");
  }

  double column_error() override {
    column_error_kernel<T><<<cover(n_), kThreads, 0, stream_>>>(colsum_, log_b_, n_, err_part_);
    launched("column error");
    check(cudaMemcpyAsync(err_host_.data(), err_part_, err_host_.size() * sizeof(double),
                          cudaMemcpyDeviceToHost, stream_),
          "column error");
    check(cudaStreamSynchronize(stream_), "Sinkhorn iteration");
    double err = 0;
    for (double e : err_host_) err += e;
    return err / mass_;
  }

  void update_columns() override {
    update_columns_kernel<T><<<cover(n_), kThreads, 0, stream_>>>(X_, f_, log_b_, colsum_, m_, n_, s_,
                                                                 tiny_, g_);
    launched("column update");
  }

 private:
  const T *X_, *log_a_, *log_b_;
  std::int64_t m_, n_;
  T s_;
  T *plan_, *f_, *g_;
  cudaStream_t stream_;
  int blocks_ = 1;
  T *partial_ = nullptr, *cm_ = nullptr;
  double *colsum_ = nullptr, *err_part_ = nullptr;
  int* bad_ = nullptr;
  double mass_ = 0, tiny_ = 0;
  std::vector<double> err_host_;
};

}  // namespace

std::size_t forward_workspace_bytes(std::int64_t m, std::int64_t n, std::size_t elem) {
  if (device_count() == 0) return 0;
  const std::size_t blocks = blocks_for(m);
  return Carver::align(blocks * n * elem) + Carver::align(n * elem) + Carver::align(n * sizeof(double)) +
         Carver::align(cover(n) * sizeof(double)) + Carver::align(sizeof(int));
}

template <typename T>
ForwardStats sinkhorn_forward(const T* X, const T* log_a, const T* log_b, const ForwardSpec& spec,
                              T* plan, T* f, T* g, void* workspace, cudaStream_t stream) {
  GpuPasses<T> passes(X, log_a, log_b, spec, plan, f, g, workspace, stream);
  return run_forward(passes, spec);
}

REBASIN_INSTANTIATE_SINKHORN_FORWARD(float)
REBASIN_INSTANTIATE_SINKHORN_FORWARD(double)

}  // namespace rebasin::cuda::gpu
