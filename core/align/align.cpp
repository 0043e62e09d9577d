// Method dispatch, option parsing and the costs shared by the methods.
#include "align/align.h"

#include <ATen/ATen.h>

#include <chrono>

#include "align/methods.h"
#include "common/error.h"

namespace rebasin::align {

Method parse_method(const std::string& t) {
  if (t == "naive") return Method::Naive;
  if (t == "weight") return Method::Weight;
  if (t == "activation") return Method::Activation;
  if (t == "ste") return Method::Ste;
  if (t == "sinkhorn") return Method::Sinkhorn;
  throw UserError("unknown method '" + t + "' (naive, weight, activation, ste, sinkhorn)");
}

Cost parse_cost(const std::string& t) {
  if (t == "l2") return Cost::L2;
  if (t == "l1") return Cost::L1;
  if (t == "mid") return Cost::Mid;
  if (t == "rnd") return Cost::Rnd;
  throw UserError("unknown cost '" + t + "' (l2, l1, mid, rnd)");
}

std::string to_string(Method m) {
  switch (m) {
    case Method::Naive: return "naive";
    case Method::Weight: return "weight";
    case Method::Activation: return "activation";
    case Method::Ste: return "ste";
    case Method::Sinkhorn: return "sinkhorn";
  }
  return "?";
}

std::string to_string(Cost c) {
  switch (c) {
    case Cost::L2: return "l2";
    case Cost::L1: return "l1";
    case Cost::Mid: return "mid";
    case Cost::Rnd: return "rnd";
  }
  return "?";
}

bool needs_data(Method m, Cost c) {
  return m == Method::Activation || m == Method::Ste ||
         (m == Method::Sinkhorn && (c == Cost::Mid || c == Cost::Rnd));
}

at::Tensor distance_cost(const nn::Architecture& arch, const NamedTensors& a, const NamedTensors& b, Cost cost) {
  at::Tensor total;
  std::int64_t count = 0;
  const auto& params = arch.spec().params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (params[i].buffer) continue;
    const at::Tensor d = a[i].tensor - b[i].tensor;
    const at::Tensor term = cost == Cost::L1 ? d.abs().sum() : d.pow(2).sum();
    total = total.defined() ? total + term : term;
    count += d.numel();
  }
  return total / static_cast<double>(std::max<std::int64_t>(count, 1));
}

AlignResult align(const nn::Architecture& arch, const NamedTensors& a, const NamedTensors& b,
                  const data::Dataset* data, const AlignOptions& o, EventSink* sink,
                  const CancelToken* cancel) {
  const auto& spec = arch.spec();
  require(a.size() == spec.params().size() && b.size() == spec.params().size(),
          "align: both models must be parameter sets of " + arch.name());
  require(!needs_data(o.method, o.cost) || (data && data->size() > 0),
          "align: method " + to_string(o.method) +
              (o.method == Method::Sinkhorn ? " with cost " + to_string(o.cost) : "") + " needs --data");
  const auto t0 = std::chrono::steady_clock::now();
  AlignResult r;
  switch (o.method) {
    case Method::Naive:
      for (const auto& g : spec.groups()) r.perms.push_back(at::arange(g.size, at::kLong));
      break;
    case Method::Weight: {
      int rounds = 0;
      r.perms = weight_matching(spec, a, b, {}, o.max_rounds, o.seed, &rounds, cancel);
      r.steps = rounds;
      break;
    }
    case Method::Activation:
      r.perms = activation_matching(arch, a, b, *data, o, cancel);
      r.steps = 1;
      break;
    case Method::Ste:
      r = straight_through(arch, a, b, *data, o, sink, cancel);
      break;
    case Method::Sinkhorn:
      r = sinkhorn_rebasin(arch, a, b, data, o, sink, cancel);
      break;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (o.method != Method::Sinkhorn && o.method != Method::Ste) {
    const NamedTensors aligned = nn::permute(spec, b, r.perms);
    r.cost = distance_cost(arch, a, aligned, o.cost == Cost::L1 ? Cost::L1 : Cost::L2).item<double>();
    if (sink) {
      StepEvent e;
      e.step = e.steps = r.steps;
      e.cost = e.hard_cost = r.cost;
      e.seconds = r.seconds;
      sink->step(e);
      // The optimising methods report progress every step; these only once, when done.
      sink->progress({"align", 1.0, r.seconds, 0.0});
    }
  }
  return r;
}

}  // namespace rebasin::align
