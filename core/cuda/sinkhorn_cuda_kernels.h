// The GPU Sinkhorn passes on raw device pointers (no torch: the .cu files compile fast and
// against any LibTorch) and their CPU references with the same signatures (host pointers, the
// workspace and stream ignored). Tests and `rebasin bench sinkhorn --check` compare the two.
// The forward is the log-domain sequence of the reference loop (columns, then rows), one fused
// pass over X per iteration: a row's log-sum-exp, its potential f_i, and the plan row added to
// per-block column sums that the next column normalisation reads.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ot/sinkhorn_kernels.h"

// The CUDA runtime's own declaration, repeated so that C++ callers need no CUDA headers.
typedef struct CUstream_st* cudaStream_t;

namespace rebasin::cuda {

using ot::kernels::ForwardSpec;
using ot::kernels::ForwardStats;

namespace gpu {

// Scratch bytes sinkhorn_forward and the backward passes need on the device for an m x n plan
// of elements of elem_size bytes (queries the current device; 0 when there is none).
std::size_t forward_workspace_bytes(std::int64_t m, std::int64_t n, std::size_t elem_size);
std::size_t backward_workspace_bytes(std::int64_t m, std::int64_t n, std::size_t elem_size);

// Same contract as ot::kernels::sinkhorn_forward (plan, f, g with log P = X s + f + g), always
// in the log domain. X, log_a, log_b, plan, f, g: device pointers. Synchronises the stream to
// read the marginal error (every iteration when spec.tol > 0, else once at the end).
template <typename T>
ForwardStats sinkhorn_forward(const T* X, const T* log_a, const T* log_b, const ForwardSpec& spec,
                              T* plan, T* f, T* g, void* workspace, cudaStream_t stream);

// y = diag(b) p - P^T diag(inv_a) P p: the products by P and P^T of one CG step, one pass.
template <typename T>
void schur_matvec(const T* P, std::int64_t m, std::int64_t n, const T* inv_a, const T* b,
                  const T* p, T* y, void* workspace, cudaStream_t stream);

// a = P 1, h1 = (G .* P) 1; b = P^T 1, h2 = (G .* P)^T 1, dsq_j = sum_i P_ij^2 / a_i,
// t = P^T (h1 / a) (the last four in double), as ot::kernels::implicit_prepare.
template <typename T>
void implicit_prepare(const T* P, const T* G, std::int64_t m, std::int64_t n, T* a, T* h1,
                      double* b, double* h2, double* dsq, double* t, void* workspace,
                      cudaStream_t stream);

// grad = P .* (G - u 1^T - 1 v^T) * inv_tau with u_i = (h1_i - P_i . v) / a_i.
template <typename T>
void implicit_finish(const T* P, const T* G, std::int64_t m, std::int64_t n, const T* a,
                     const T* h1, const T* v, T inv_tau, T* grad, void* workspace,
                     cudaStream_t stream);

}  // namespace gpu

namespace ref {

template <typename T>
ForwardStats sinkhorn_forward(const T* X, const T* log_a, const T* log_b, const ForwardSpec& spec,
                              T* plan, T* f, T* g, void* workspace, cudaStream_t stream);
template <typename T>
void schur_matvec(const T* P, std::int64_t m, std::int64_t n, const T* inv_a, const T* b,
                  const T* p, T* y, void* workspace, cudaStream_t stream);
template <typename T>
void implicit_prepare(const T* P, const T* G, std::int64_t m, std::int64_t n, T* a, T* h1,
                      double* b, double* h2, double* dsq, double* t, void* workspace,
                      cudaStream_t stream);
template <typename T>
void implicit_finish(const T* P, const T* G, std::int64_t m, std::int64_t n, const T* a,
                     const T* h1, const T* v, T inv_tau, T* grad, void* workspace,
                     cudaStream_t stream);

}  // namespace ref
}  // namespace rebasin::cuda

// Explicit instantiations for one scalar type, written once for the GPU kernels (forward and
// backward .cu files), the CPU references and the no-GPU stub: each expands them inside its own
// namespace (gpu or ref).
#define REBASIN_INSTANTIATE_SINKHORN_FORWARD(T)                                                  \
  template ForwardStats sinkhorn_forward<T>(const T*, const T*, const T*, const ForwardSpec&,   \
                                            T*, T*, T*, void*, cudaStream_t);
#define REBASIN_INSTANTIATE_IMPLICIT_BACKWARD(T)                                                 \
  template void schur_matvec<T>(const T*, std::int64_t, std::int64_t, const T*, const T*,       \
                                const T*, T*, void*, cudaStream_t);                             \
  template void implicit_prepare<T>(const T*, const T*, std::int64_t, std::int64_t, T*, T*,     \
                                    double*, double*, double*, double*, void*, cudaStream_t);   \
  template void implicit_finish<T>(const T*, const T*, std::int64_t, std::int64_t, const T*,    \
                                   const T*, const T*, T, T*, void*, cudaStream_t);
