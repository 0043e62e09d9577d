// Activation matching (Git Re-Basin, METHOD.md section 6): run A and B on the same data, record
// each group's activations, correlate every unit of A with every unit of B (Pearson, over
// samples and spatial positions, summed over the places a residual stream is read), and take
// the assignment maximising the total correlation, group by group.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "align/methods.h"
#include "align/structured_assignment.h"
#include "common/error.h"
#include "ot/permutation.h"

namespace rebasin::align {
namespace {

// N x C [x H x W] -> C x (N*H*W), standardised per unit.
at::Tensor units_by_samples(const at::Tensor& act) {
  const at::Tensor m = act.dim() == 2 ? act.t() : act.movedim(1, 0).reshape({act.size(1), -1});
  const at::Tensor d = m.to(at::kDouble);
  const at::Tensor centred = d - d.mean(1, true);
  return centred / (centred.pow(2).mean(1, true).sqrt() + 1e-8);
}

}  // namespace

std::vector<at::Tensor> activation_matching(const nn::Architecture& arch, const NamedTensors& a,
                                            const NamedTensors& b, const data::Dataset& data,
                                            const AlignOptions& o, const CancelToken* cancel) {
  const auto& groups = arch.spec().groups();
  c10::InferenceMode guard;
  // Correlations of one batch large enough to estimate them (the reference uses one pass over
  // a few thousand samples).
  const std::int64_t n = std::min<std::int64_t>(data.size(), std::max<std::int64_t>(o.batch_size, 1000));
  const at::Tensor idx = data::batch_indices(data.size(), n, true, o.seed).front();
  const at::Tensor x = data.inputs.index_select(0, idx);
  std::vector<std::vector<at::Tensor>> acts_a(groups.size());
  std::vector<at::Tensor> corr(groups.size());
  arch.forward(a, x, false, [&](int g, const at::Tensor& act) { acts_a[g].push_back(units_by_samples(act)); });
  std::vector<std::size_t> seen(groups.size(), 0);
  check_cancel(cancel);
  arch.forward(b, x, false, [&](int g, const at::Tensor& act) {
    const at::Tensor& ua = acts_a[g][seen[g]++];
    const at::Tensor ub = units_by_samples(act);
    const at::Tensor c = at::mm(ua, ub.t()) / static_cast<double>(ua.size(1));
    corr[g] = corr[g].defined() ? corr[g] + c : c;
  });
  for (std::size_t g = 0; g < groups.size(); ++g)
    require(corr[g].defined(), "activation matching: group '" + groups[g].name + "' reported no activations");
  return assign_all(arch.spec(), corr);
}

AlignResult run_activation_matching(const MethodCall& c) {
  AlignResult r;
  r.perms = activation_matching(c.arch, c.a, c.b, *c.data, c.options, c.cancel);
  r.steps = 1;
  return r;
}

}  // namespace rebasin::align
