#include "nn/permute.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "ot/permutation.h"

namespace rebasin::nn {
namespace {

std::vector<std::int64_t> split_shape(const at::Tensor& x, std::int64_t axis, std::int64_t g,
                                      std::int64_t inner) {
  std::vector<std::int64_t> s(x.sizes().begin(), x.sizes().end());
  s[axis] = g;
  s.insert(s.begin() + axis + 1, inner);
  return s;
}

at::Tensor permute_axis(const at::Tensor& x, std::int64_t axis, const AxisTie& tie,
                        std::int64_t group_size, const at::Tensor& perm, bool hard) {
  const at::Tensor y = x.reshape(split_shape(x, axis, group_size, tie.inner));
  at::Tensor out;
  if (hard) {
    out = y.index_select(axis, perm.to(x.device()));
  } else {
    // Contract P's second index with the group axis: move it first, multiply, move it back.
    const at::Tensor front = y.movedim(axis, 0);
    const at::Tensor mixed = at::mm(perm.to(x.device(), x.scalar_type()), front.reshape({group_size, -1}));
    out = mixed.reshape(front.sizes()).movedim(0, axis);
  }
  return out.reshape(x.sizes());
}

}  // namespace

NamedTensors permute(const PermutationSpec& spec, const NamedTensors& params,
                     const std::vector<at::Tensor>& perms) {
  const auto& groups = spec.groups();
  require(perms.size() == groups.size(), "permute: expected " + std::to_string(groups.size()) +
                                             " permutations, got " + std::to_string(perms.size()));
  std::vector<at::Tensor> hard(groups.size());
  std::vector<bool> is_hard(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const at::Tensor& p = perms[g];
    const std::int64_t n = groups[g].size;
    is_hard[g] = p.dim() == 1;
    if (is_hard[g]) {
      ot::check_permutation(p, n);
      hard[g] = p;
    } else {
      require(p.dim() == 2 && p.size(0) == n && p.size(1) == n && at::isFloatingType(p.scalar_type()),
              "permute: group '" + groups[g].name + "' needs a " + std::to_string(n) +
                  "-long index vector or a " + std::to_string(n) + "x" + std::to_string(n) + " matrix");
    }
  }
  auto hard_of = [&](std::size_t g) -> const at::Tensor& {
    if (!hard[g].defined()) hard[g] = ot::hard_permutation(perms[g]);
    return hard[g];
  };
  NamedTensors out;
  out.reserve(params.size());
  for (const auto& [name, tensor] : params) {
    const ParamSpec* ps = spec.find(name);
    require(ps != nullptr, "permute: '" + name + "' is not in the permutation spec");
    require(tensor.sizes().vec() == ps->shape, "permute: '" + name + "' has the wrong shape for the spec");
    at::Tensor t = tensor;
    for (std::size_t a = 0; a < ps->axes.size(); ++a) {
      const AxisTie& tie = ps->axes[a];
      if (tie.group < 0) continue;
      const std::size_t g = static_cast<std::size_t>(tie.group);
      const bool use_hard = is_hard[g] || ps->buffer;
      t = permute_axis(t, static_cast<std::int64_t>(a), tie, groups[g].size,
                       use_hard ? hard_of(g) : perms[g], use_hard);
    }
    out.push_back({name, t});
  }
  return out;
}

std::vector<at::Tensor> identity_permutations(const PermutationSpec& spec) {
  std::vector<at::Tensor> out;
  for (const auto& g : spec.groups()) out.push_back(at::arange(g.size, at::kLong));
  return out;
}

std::vector<at::Tensor> random_permutations(const PermutationSpec& spec, std::uint64_t seed) {
  std::vector<at::Tensor> out;
  for (std::size_t g = 0; g < spec.groups().size(); ++g)
    out.push_back(ot::random_permutation(spec.groups()[g].size, seed * 1000003u + g));
  return out;
}

}  // namespace rebasin::nn
