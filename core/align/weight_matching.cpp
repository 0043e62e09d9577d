// Weight matching (Git Re-Basin, METHOD.md section 6): for each group p, in random order, build
// S_p = sum over the parameters touching p of W_A (p-axis rows) . W_B (p-axis rows, every other
// axis already permuted by the current permutations)^T and take the assignment maximising
// <P, S_p>; repeat until a whole round improves nothing.
#include <ATen/ATen.h>

#include <algorithm>
#include <random>

#include "align/align.h"
#include "common/error.h"
#include "ot/permutation.h"

namespace rebasin::align {
namespace {

// x with every axis tied to a group other than `skip` permuted by perms (hard), and the axis of
// `skip` moved to the front as a (n, rest) matrix. Returns an undefined tensor when the
// parameter does not touch `skip`.
at::Tensor rows_for_group(const nn::ParamSpec& ps, const at::Tensor& x, const nn::PermutationSpec& spec,
                          const std::vector<at::Tensor>* perms, int skip) {
  int axis_of_skip = -1;
  at::Tensor t = x;
  for (std::size_t a = 0; a < ps.axes.size(); ++a) {
    const nn::AxisTie& tie = ps.axes[a];
    if (tie.group < 0) continue;
    if (tie.group == skip) {
      axis_of_skip = static_cast<int>(a);
      continue;
    }
    if (perms) {
      const std::int64_t g = spec.groups()[tie.group].size;
      std::vector<std::int64_t> split(t.sizes().begin(), t.sizes().end());
      split[a] = g;
      split.insert(split.begin() + a + 1, tie.inner);
      t = t.reshape(split).index_select(static_cast<std::int64_t>(a), (*perms)[tie.group]).reshape(x.sizes());
    }
  }
  if (axis_of_skip < 0) return {};
  const nn::AxisTie& tie = ps.axes[axis_of_skip];
  const std::int64_t n = spec.groups()[skip].size;
  std::vector<std::int64_t> split(t.sizes().begin(), t.sizes().end());
  split[axis_of_skip] = n;
  split.insert(split.begin() + axis_of_skip + 1, tie.inner);
  return t.reshape(split).movedim(axis_of_skip, 0).reshape({n, -1}).to(at::kDouble);
}

}  // namespace

std::vector<at::Tensor> weight_matching(const nn::PermutationSpec& spec, const NamedTensors& a,
                                        const NamedTensors& b, std::vector<at::Tensor> perms,
                                        int max_rounds, std::uint64_t seed, int* rounds_done,
                                        const CancelToken* cancel) {
  const auto& groups = spec.groups();
  const auto& params = spec.params();
  require(a.size() == params.size() && b.size() == params.size(), "weight matching: parameter sets do not match the spec");
  if (perms.empty())
    for (const auto& g : groups) perms.push_back(at::arange(g.size, at::kLong));
  // A's side of every S_p never changes: flatten it once.
  std::vector<std::vector<std::pair<std::size_t, at::Tensor>>> a_rows(groups.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (params[i].buffer) continue;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      at::Tensor r = rows_for_group(params[i], a[i].tensor, spec, nullptr, static_cast<int>(g));
      if (r.defined()) a_rows[g].push_back({i, r});
    }
  }
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> order(groups.size());
  for (std::size_t g = 0; g < order.size(); ++g) order[g] = g;
  int round = 0;
  for (; round < max_rounds; ++round) {
    bool improved = false;
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t g : order) {
      check_cancel(cancel);
      const std::int64_t n = groups[g].size;
      at::Tensor S = at::zeros({n, n}, at::kDouble);
      for (const auto& [i, ra] : a_rows[g])
        S += at::mm(ra, rows_for_group(params[i], b[i].tensor, spec, &perms, static_cast<int>(g)).t());
      const at::Tensor best = ot::linear_assignment(S, /*maximize=*/true);
      const double old_score = S.gather(1, perms[g].unsqueeze(1)).sum().item<double>();
      const double new_score = S.gather(1, best.unsqueeze(1)).sum().item<double>();
      if (new_score > old_score + 1e-12 * std::max(1.0, std::abs(old_score))) {
        perms[g] = best;
        improved = true;
      }
    }
    if (!improved) break;
  }
  if (rounds_done) *rounds_done = round + 1;
  return perms;
}

}  // namespace rebasin::align
