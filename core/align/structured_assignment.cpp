#include "align/structured_assignment.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "nn/permute.h"
#include "ot/permutation.h"

namespace rebasin::align {

std::vector<at::Tensor> assign_set(const nn::PermutationSpec& spec, const std::vector<int>& set,
                                   const std::vector<at::Tensor>& scores) {
  require(!set.empty() && scores.size() == set.size(), "assignment: one score matrix per group of the set");
  const auto& groups = spec.groups();
  const std::int64_t h = groups[set.front()].blocks;
  std::vector<at::Tensor> out;
  if (h <= 1) {
    for (const at::Tensor& s : scores) out.push_back(ot::linear_assignment(s, /*maximize=*/true));
    return out;
  }
  // inner[k][i * h + j]: group set[k]'s best matching of A's head i to B's head j.
  at::Tensor head_scores = at::zeros({h, h}, at::kDouble);
  std::vector<std::vector<at::Tensor>> inner(set.size());
  for (std::size_t k = 0; k < set.size(); ++k) {
    const std::int64_t n = groups[set[k]].size, m = n / h;
    const at::Tensor s = scores[k].detach().to(at::kCPU, at::kDouble);
    require(s.dim() == 2 && s.size(0) == n && s.size(1) == n, "assignment: scores of the wrong size");
    auto acc = head_scores.accessor<double, 2>();
    for (std::int64_t i = 0; i < h; ++i) {
      for (std::int64_t j = 0; j < h; ++j) {
        const at::Tensor block = s.narrow(0, i * m, m).narrow(1, j * m, m);
        const at::Tensor p = ot::linear_assignment(block, /*maximize=*/true);
        acc[i][j] += block.gather(1, p.unsqueeze(1)).sum().item<double>();
        inner[k].push_back(p);
      }
    }
  }
  const at::Tensor sigma = ot::linear_assignment(head_scores, /*maximize=*/true);
  const auto sig = sigma.accessor<std::int64_t, 1>();
  for (std::size_t k = 0; k < set.size(); ++k) {
    std::vector<at::Tensor> chosen;
    for (std::int64_t i = 0; i < h; ++i) chosen.push_back(inner[k][i * h + sig[i]]);
    out.push_back(nn::block_permutation(sigma, chosen));
  }
  return out;
}

std::vector<at::Tensor> assign_all(const nn::PermutationSpec& spec, const std::vector<at::Tensor>& scores) {
  require(scores.size() == spec.groups().size(), "assignment: one score matrix per group");
  std::vector<at::Tensor> out(scores.size());
  for (const auto& set : spec.linked_sets()) {
    std::vector<at::Tensor> s;
    for (int g : set) s.push_back(scores[g]);
    const std::vector<at::Tensor> p = assign_set(spec, set, s);
    for (std::size_t k = 0; k < set.size(); ++k) out[set[k]] = p[k];
  }
  return out;
}

}  // namespace rebasin::align
