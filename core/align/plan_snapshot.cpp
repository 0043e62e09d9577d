// Plan snapshots for the plan view (plan_snapshot.h).
#include "align/plan_snapshot.h"

#include <ATen/ATen.h>

#include "ot/permutation.h"

namespace rebasin::align {
namespace {

std::vector<float> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Adaptive average pooling to side x side: cell i covers rows floor(i n / side) ..
// ceil((i + 1) n / side) - 1, which the widgets' plan geometry mirrors.
at::Tensor block_average(const at::Tensor& plan, std::int64_t side) {
  if (plan.size(0) <= side) return plan;
  return at::adaptive_avg_pool2d(plan.unsqueeze(0).unsqueeze(0), {side, side}).squeeze(0).squeeze(0);
}

bool is_permutation(const std::vector<std::int64_t>& a, std::int64_t n) {
  if (static_cast<std::int64_t>(a.size()) != n) return false;
  std::vector<bool> seen(static_cast<std::size_t>(n), false);
  for (std::int64_t c : a) {
    if (c < 0 || c >= n || seen[static_cast<std::size_t>(c)]) return false;
    seen[static_cast<std::size_t>(c)] = true;
  }
  return true;
}

}  // namespace

PlanSnapshot make_snapshot(int step, int group, const std::string& name, const at::Tensor& plan,
                           const at::Tensor& assignment, std::int64_t max_side, std::int64_t heads) {
  PlanSnapshot s;
  s.step = step;
  s.group = group;
  s.name = name;
  s.size = plan.size(0);
  const at::Tensor full = plan.detach().to(at::kCPU, at::kFloat);
  const at::Tensor shown = block_average(full, max_side);
  s.shown = shown.size(0);
  s.values = to_vector(shown);
  const at::Tensor as = assignment.to(at::kCPU, at::kLong).contiguous();
  s.assignment.assign(as.data_ptr<std::int64_t>(), as.data_ptr<std::int64_t>() + as.numel());
  const bool valid = is_permutation(s.assignment, s.size);
  // Reordering an averaged plan can only sort whole cells, which smears the diagonal; put the
  // columns in assignment order at full resolution first, then average.
  if (valid && s.size > s.shown) s.reordered = to_vector(block_average(full.index_select(1, as), max_side));
  if (heads > 1 && s.size % heads == 0 && valid) {
    const std::int64_t d = s.size / heads;
    s.heads = heads;
    // (h, d, h, d): block (i, j) is [i, :, j, :].
    const at::Tensor blocks = full.reshape({heads, d, heads, d});
    s.head_values = to_vector(blocks.sum({1, 3}) / static_cast<double>(d));
    for (std::int64_t i = 0; i < heads; ++i) {
      const std::int64_t j = s.assignment[static_cast<std::size_t>(i * d)] / d;
      s.head_assignment.push_back(j);
      at::Tensor inner = blocks.select(0, i).select(1, j);  // (d, d)
      const double mass = inner.sum().item<double>();
      const std::vector<float> v = to_vector(mass > 0 ? inner * (static_cast<double>(d) / mass) : inner);
      s.inner_values.insert(s.inner_values.end(), v.begin(), v.end());
    }
  }
  return s;
}

void send_result_plans(const nn::PermutationSpec& spec, const std::vector<at::Tensor>& perms,
                       const std::vector<at::Tensor>& plans, int step, std::int64_t max_side, EventSink& sink) {
  const auto& groups = spec.groups();
  for (std::size_t g = 0; g < groups.size() && g < perms.size(); ++g) {
    const at::Tensor plan = g < plans.size() && plans[g].defined()
                                ? plans[g]
                                : ot::permutation_matrix(perms[g].to(at::kCPU), at::kFloat);
    PlanSnapshot s = make_snapshot(step, static_cast<int>(g), groups[g].name, plan, perms[g], max_side, groups[g].blocks);
    s.result = true;
    sink.plan(s);
  }
}

}  // namespace rebasin::align
