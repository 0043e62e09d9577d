#include "align/soft_plans.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "align/structured_assignment.h"
#include "common/error.h"
#include "nn/permute.h"
#include "ot/permutation.h"

namespace rebasin::align {
namespace {

double lr_scale(std::int64_t side) { return std::log(std::max<double>(double(side), std::exp(1.0))); }
// The warm start's logit gap: ~1 - 1/n of each row's mass on the given permutation.
double warm_gap(std::int64_t side) { return 2.0 * std::log(std::max<double>(double(side), 2.0)); }

}  // namespace

at::Tensor assemble_two_level(const at::Tensor& head_plan, const at::Tensor& inner_plans) {
  const std::int64_t h = head_plan.size(0), d = inner_plans.size(-1);
  require(head_plan.dim() == 2 && head_plan.size(1) == h && inner_plans.dim() == 3 && inner_plans.size(0) == h * h &&
              inner_plans.size(1) == d,
          "two-level plan: a head plan of h x h and h*h inner plans of d x d");
  // (h, h, d, d) scaled by S_ij, then rows (i, a) and columns (j, b): entry [i*d + a][j*d + b].
  const at::Tensor blocks = inner_plans.reshape({h, h, d, d}) * head_plan.reshape({h, h, 1, 1});
  return blocks.permute({0, 2, 1, 3}).reshape({h * d, h * d});
}

SoftPlans::SoftPlans(const nn::PermutationSpec& spec, const std::vector<at::Tensor>& start,
                     const at::TensorOptions& options)
    : spec_(&spec) {
  const auto& groups = spec.groups();
  require(start.empty() || start.size() == groups.size(), "soft plans: one start permutation per group");
  auto add = [&](at::Tensor t, std::int64_t side) {
    params_.emplace_back(t.to(options).requires_grad_(true), lr_scale(side));
    return int(params_.size()) - 1;
  };
  for (const auto& set : spec.linked_sets()) {
    Set s;
    s.groups = set;
    s.heads = groups[set.front()].blocks;
    if (s.heads <= 1) {
      // One plain group (linked sets of plain groups do not occur: links are for heads).
      for (int g : set) {
        Set one;
        one.groups = {g};
        const std::int64_t n = groups[g].size;
        one.outer = add(start.empty() ? at::eye(n, at::kFloat)
                                      : ot::permutation_matrix(start[g], at::kFloat) * warm_gap(n),
                        n);
        sets_.push_back(std::move(one));
      }
      continue;
    }
    const std::int64_t h = s.heads, d = groups[set.front()].size / h;
    s.dims = d;
    at::Tensor sigma;
    if (!start.empty()) sigma = nn::block_order(start[set.front()].to(at::kCPU), h);
    s.outer = add(start.empty() ? at::eye(h, at::kFloat) : ot::permutation_matrix(sigma, at::kFloat) * warm_gap(h), h);
    for (int g : set) {
      at::Tensor z;
      if (start.empty()) {
        z = at::eye(d, at::kFloat).expand({h * h, d, d}).clone();
      } else {
        // The chosen pair (i, sigma_i) of each head starts at its inner permutation; the
        // other pairs at uniform inner plans (their head weight S_ij starts near zero).
        z = at::zeros({h * h, d, d}, at::kFloat);
        const at::Tensor perm = start[g].to(at::kCPU);
        const auto sig = sigma.accessor<std::int64_t, 1>();
        for (std::int64_t i = 0; i < h; ++i) {
          const at::Tensor inner = perm.narrow(0, i * d, d) - sig[i] * d;
          z[i * h + sig[i]] = ot::permutation_matrix(inner, at::kFloat) * warm_gap(d);
        }
      }
      s.inner.push_back(add(z, d));
    }
    sets_.push_back(std::move(s));
  }
}

at::Tensor SoftPlans::plan_of(const at::Tensor& z, const at::Tensor& heads, const ot::SinkhornOptions& o) {
  std::vector<at::Tensor> inner;
  inner.reserve(std::size_t(z.size(0)));
  for (std::int64_t b = 0; b < z.size(0); ++b) inner.push_back(ot::sinkhorn(z[b], o).plan);
  return assemble_two_level(heads, at::stack(inner));
}

std::vector<at::Tensor> SoftPlans::plans(const ot::SinkhornOptions& o) const {
  std::vector<at::Tensor> out(spec_->groups().size());
  for (const Set& s : sets_) {
    const at::Tensor outer = ot::sinkhorn(params_[s.outer].first, o).plan;
    if (s.heads <= 1) {
      out[s.groups.front()] = outer;
      continue;
    }
    for (std::size_t k = 0; k < s.groups.size(); ++k) out[s.groups[k]] = plan_of(params_[s.inner[k]].first, outer, o);
  }
  return out;
}

std::vector<at::Tensor> SoftPlans::hard(const ot::SinkhornOptions& o) const {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> out(spec_->groups().size());
  for (const Set& s : sets_) {
    if (s.heads <= 1) {
      out[s.groups.front()] = ot::linear_assignment(params_[s.outer].first.detach(), /*maximize=*/true);
      continue;
    }
    const at::Tensor outer = ot::sinkhorn(params_[s.outer].first.detach(), o).plan;
    std::vector<at::Tensor> scores;
    for (std::size_t k = 0; k < s.groups.size(); ++k)
      scores.push_back(at::log(plan_of(params_[s.inner[k]].first.detach(), outer, o).to(at::kDouble).clamp_min(1e-300)));
    const std::vector<at::Tensor> p = assign_set(*spec_, s.groups, scores);
    for (std::size_t k = 0; k < s.groups.size(); ++k) out[s.groups[k]] = p[k];
  }
  return out;
}

}  // namespace rebasin::align
