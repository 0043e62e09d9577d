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

// Block-averaged copy of an n x n plan for display (with the head plan and the matched heads'
// inner plans when heads > 1: PlanSnapshot).
PlanSnapshot make_snapshot(int step, int group, const std::string& name, const at::Tensor& plan,
                           const at::Tensor& assignment, std::int64_t max_side, std::int64_t heads = 1);

}  // namespace rebasin::align
