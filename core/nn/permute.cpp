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

// Soft permutation of the axis' leading index after moving it to the front: y is (n, rest).
at::Tensor mix(const at::Tensor& perm, const at::Tensor& y) {
  return at::mm(perm.to(y.device(), y.scalar_type()), y);
}

}  // namespace

at::Tensor tie_positions(const AxisTie& t, std::int64_t n) {
  const auto opts = at::TensorOptions().dtype(at::kLong);
  const at::Tensor o = at::arange(t.outer, opts).mul_(t.outer > 1 ? t.stride : 0).view({-1, 1, 1});
  const at::Tensor u = at::arange(n, opts).mul_(t.inner).view({1, -1, 1});
  const at::Tensor r = at::arange(t.inner, opts).view({1, 1, -1});
  return o + u + r + t.offset;
}

at::Tensor permute_tie(const at::Tensor& x, std::int64_t axis, const AxisTie& tie, std::int64_t n,
                       const at::Tensor& perm, bool hard) {
  if (tie.whole(x.size(axis), n)) {
    const at::Tensor y = x.reshape(split_shape(x, axis, n, tie.inner));
    at::Tensor out;
    if (hard) {
      out = y.index_select(axis, perm.to(x.device()));
    } else {
      // Contract P's second index with the group axis: move it first, multiply, move it back.
      const at::Tensor front = y.movedim(axis, 0);
      out = mix(perm, front.reshape({n, -1})).reshape(front.sizes()).movedim(0, axis);
    }
    return out.reshape(x.sizes());
  }
  const at::Tensor pos = tie_positions(tie, n).to(x.device());
  if (hard) {
    // Every covered entry takes the entry of its permuted unit; the rest stay.
    const at::Tensor src = pos.index_select(1, perm.to(x.device()));
    const at::Tensor idx = at::arange(x.size(axis), pos.options()).index_copy_(0, pos.flatten(), src.flatten());
    return x.index_select(axis, idx);
  }
  // Gather the covered entries as (outer, n, inner, rest...) with the axis first, mix the
  // units, and put them back (index_copy is differentiable in both arguments).
  const at::Tensor block = x.index_select(axis, pos.flatten()).movedim(axis, 0);
  std::vector<std::int64_t> shape = {tie.outer, n, tie.inner};
  shape.insert(shape.end(), block.sizes().begin() + 1, block.sizes().end());
  const at::Tensor units = block.reshape(shape).movedim(1, 0);  // (n, outer, inner, rest...)
  const at::Tensor mixed = mix(perm, units.reshape({n, -1})).reshape(units.sizes()).movedim(0, 1);
  return x.index_copy(axis, pos.flatten(), mixed.reshape(block.sizes()).movedim(0, axis));
}

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
      for (const AxisTie& tie : ps->axes[a]) {
        const std::size_t g = static_cast<std::size_t>(tie.group);
        const bool use_hard = is_hard[g] || ps->buffer;
        t = permute_tie(t, static_cast<std::int64_t>(a), tie, groups[g].size,
                        use_hard ? hard_of(g) : perms[g], use_hard);
      }
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

at::Tensor block_permutation(const at::Tensor& sigma, const std::vector<at::Tensor>& inner) {
  const std::int64_t h = sigma.size(0);
  require(static_cast<std::int64_t>(inner.size()) == h && h > 0, "block permutation: one inner permutation per block");
  const std::int64_t m = inner[0].size(0);
  std::vector<at::Tensor> parts;
  const at::Tensor s = sigma.to(at::kCPU);
  for (std::int64_t i = 0; i < h; ++i) parts.push_back(inner[i].to(at::kCPU) + s[i].item<std::int64_t>() * m);
  return at::cat(parts);
}

at::Tensor block_order(const at::Tensor& perm, std::int64_t blocks) {
  const std::int64_t m = perm.size(0) / blocks;
  return perm.to(at::kCPU).view({blocks, m}).select(1, 0).div(m, "floor");
}

std::vector<at::Tensor> random_permutations(const PermutationSpec& spec, std::uint64_t seed) {
  const auto& groups = spec.groups();
  std::vector<at::Tensor> out(groups.size());
  for (const auto& set : spec.linked_sets()) {
    const Group& lead = groups[set.front()];
    if (lead.blocks <= 1) {
      for (int g : set) out[g] = ot::random_permutation(groups[g].size, seed * 1000003u + g);
      continue;
    }
    // One head order for the whole set, an inner permutation per block of every group.
    const at::Tensor sigma = ot::random_permutation(lead.blocks, seed * 1000003u + set.front() + 500009u);
    for (int g : set) {
      const std::int64_t m = groups[g].size / groups[g].blocks;
      std::vector<at::Tensor> inner;
      for (std::int64_t i = 0; i < lead.blocks; ++i)
        inner.push_back(ot::random_permutation(m, seed * 1000003u + g * 7919u + i));
      out[g] = block_permutation(sigma, inner);
    }
  }
  return out;
}

void check_permutations(const PermutationSpec& spec, const std::vector<at::Tensor>& perms) {
  const auto& groups = spec.groups();
  require(perms.size() == groups.size(), "permutations: expected " + std::to_string(groups.size()) +
                                             " groups, got " + std::to_string(perms.size()));
  std::vector<at::Tensor> orders(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const Group& grp = groups[g];
    try {
      ot::check_permutation(perms[g], grp.size);
    } catch (const UserError& e) {
      throw UserError("group '" + grp.name + "': " + e.what());
    }
    if (grp.blocks <= 1) continue;
    const std::int64_t m = grp.size / grp.blocks;
    const at::Tensor blocks_of = perms[g].to(at::kCPU).div(m, "floor").view({grp.blocks, m});
    require(at::equal(blocks_of, blocks_of.select(1, 0).unsqueeze(1).expand_as(blocks_of)),
            "group '" + grp.name + "': the permutation splits a head (block of " + std::to_string(m) +
                " units) across heads");
    orders[g] = blocks_of.select(1, 0).contiguous();
    if (grp.link >= 0)
      require(at::equal(orders[g], orders[grp.link]),
              "group '" + grp.name + "': the heads are not in the order of linked group '" +
                  groups[grp.link].name + "'");
  }
}

}  // namespace rebasin::nn
