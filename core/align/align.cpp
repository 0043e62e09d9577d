// Method dispatch, option parsing and the costs shared by the methods.
#include "align/align.h"

#include <ATen/ATen.h>

#include <chrono>

#include "align/methods.h"
#include "align/plan_snapshot.h"
#include "common/error.h"

namespace rebasin::align {

std::string parse_method(const std::string& t) { return find_method(t).name; }

Cost parse_cost(const std::string& t) {
  if (t == "l2") return Cost::L2;
  if (t == "l1") return Cost::L1;
  if (t == "mid") return Cost::Mid;
  if (t == "rnd") return Cost::Rnd;
  throw UserError("unknown cost '" + t + "' (l2, l1, mid, rnd)");
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

bool needs_data(const std::string& method, Cost c) { return method_needs_data(method, to_string(c)); }

AlignResult run_naive(const MethodCall& c) {
  AlignResult r;
  r.perms = nn::identity_permutations(c.arch.spec());
  return r;
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
  const MethodEntry& method = find_method(o.method);
  require(!needs_data(o.method, o.cost) || (data && data->size() > 0),
          "align: method " + o.method + (method.uses_cost ? " with cost " + to_string(o.cost) : "") + " needs --data");
  const auto t0 = std::chrono::steady_clock::now();
  AlignResult r = method.run({arch, a, b, data, o, sink, cancel});
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!method.plans) r.chosen_step = r.steps;
  if (sink && !method.plans) send_result_plans(spec, r.perms, {}, r.chosen_step, o.max_plan_side, *sink);
  if (!method.optimises) {
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
