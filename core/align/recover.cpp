#include "align/recover.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "nn/permute.h"
#include "ot/permutation.h"

namespace rebasin::align {

RecoverResult recover(const nn::Architecture& arch, AlignOptions o, std::uint64_t seed, EventSink* sink,
                      const CancelToken* cancel, const c10::Device& device) {
  require(!needs_data(o.method, o.cost),
          "recover: use a data-free method (naive, weight, sinkhorn with cost l2 or l1)");
  const auto& spec = arch.spec();
  NamedTensors a = arch.init(seed);
  const std::vector<at::Tensor> hidden = nn::random_permutations(spec, seed + 1);
  NamedTensors b = nn::permute(spec, a, hidden);
  for (NamedTensors* set : {&a, &b})
    for (auto& t : *set) t.tensor = t.tensor.to(device);
  o.stop_at_zero_hard_cost = true;
  const AlignResult r = align(arch, a, b, nullptr, o, sink, cancel);
  RecoverResult out;
  out.steps = r.steps;
  out.seconds = r.seconds;
  out.perms = r.perms;
  std::int64_t right = 0, total = 0;
  for (std::size_t g = 0; g < spec.groups().size(); ++g) {
    // permute(B, p) = A needs p = hidden^-1 (B's unit i is A's unit hidden[i]).
    const at::Tensor truth = ot::inverse_permutation(hidden[g]);
    const std::int64_t ok = (r.perms[g].cpu() == truth).sum().item<std::int64_t>();
    const std::int64_t n = spec.groups()[g].size;
    out.groups.push_back({spec.groups()[g].name, n, double(ok) / double(n)});
    right += ok;
    total += n;
  }
  out.recovered_fraction = double(right) / double(std::max<std::int64_t>(total, 1));
  return out;
}

}  // namespace rebasin::align
