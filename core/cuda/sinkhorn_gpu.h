// Tensor front end of the GPU Sinkhorn passes: takes LibTorch tensors, finds their memory on the
// GPU (CUDA tensors of a CUDA LibTorch) or stages host tensors through device buffers (a
// CPU-only LibTorch on a machine with a GPU: "offload"), and runs the forward or the implicit
// backward there. Backend::Reference runs the same glue over the CPU references instead, which
// is how this code is tested on machines without a GPU. Kernels go to the legacy default stream,
// which is also LibTorch's default CUDA stream: ordered with its ops without any ATen CUDA header
// (so this builds against any LibTorch, CPU-only included).
#pragma once

#include <ATen/core/Tensor.h>

#include "cuda/sinkhorn_cuda_kernels.h"
#include "ot/sinkhorn.h"

namespace rebasin::cuda {

enum class Backend { Gpu, Reference };

// Process-wide: CPU tensors' Sinkhorn runs on the GPU through copies. Set by
// resolve_device("cuda"/"auto") when LibTorch has no CUDA but the CUDA runtime sees a GPU.
void set_offload(bool on);
bool offload();

// True when sinkhorn_forward / implicit_backward with Backend::Gpu take this tensor: a CUDA
// tensor with the kernels compiled in, or a CPU tensor while offload() is on.
bool runs_on_gpu(const at::Tensor& t);

struct ForwardOutput {
  at::Tensor plan, f, g;  // on X's device
  ForwardStats stats;
};

// X: m x n float32/float64 (finite-checked by the passes); log_a (m), log_b (n) same dtype.
ForwardOutput sinkhorn_forward(const at::Tensor& X, const at::Tensor& log_a, const at::Tensor& log_b,
                               const ForwardSpec& spec, Backend backend = Backend::Gpu);

// dL/dX at the fixed point, as ot::sinkhorn_implicit_backward (same checks, same CG on the
// Schur complement), with the passes over P on the backend. Result on P's device.
at::Tensor implicit_backward(const at::Tensor& P, const at::Tensor& grad_P, double tau,
                             double cg_tol, int cg_max_iters, ot::ImplicitBackwardStats* stats,
                             Backend backend = Backend::Gpu);

}  // namespace rebasin::cuda
