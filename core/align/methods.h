// The individual methods behind align(); internal to core/align.
#pragma once

#include "align/align.h"
#include "nn/permute.h"

namespace rebasin::align {

// One run of a method (method_registry.h): what align() was given.
struct MethodCall {
  const nn::Architecture& arch;
  const NamedTensors& a;
  const NamedTensors& b;
  const data::Dataset* data;  // non-null when method_needs_data
  const AlignOptions& options;
  EventSink* sink;
  const CancelToken* cancel;
};

AlignResult sinkhorn_rebasin(const nn::Architecture& arch, const NamedTensors& a, const NamedTensors& b,
                             const data::Dataset* data, const AlignOptions& o, EventSink* sink,
                             const CancelToken* cancel);

std::vector<at::Tensor> activation_matching(const nn::Architecture& arch, const NamedTensors& a,
                                            const NamedTensors& b, const data::Dataset& data,
                                            const AlignOptions& o, const CancelToken* cancel);

AlignResult straight_through(const nn::Architecture& arch, const NamedTensors& a, const NamedTensors& b,
                             const data::Dataset& data, const AlignOptions& o, EventSink* sink,
                             const CancelToken* cancel);

// Task loss of (1 - lambda) a + lambda b on a batch (differentiable in both).
at::Tensor path_loss(const nn::Architecture& arch, const NamedTensors& a, const NamedTensors& b,
                     double lambda, const at::Tensor& x, const at::Tensor& y);

}  // namespace rebasin::align
