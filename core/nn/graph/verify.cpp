// Verification of derived groups: a group is a symmetry of the model when permuting the
// model's tensors by a random permutation of it leaves the output unchanged. Checked on a
// perturbed copy of the tensors: a freshly initialised model has zero biases and unit running
// variances, which would hide a wrong tie on them.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "nn/graph/derive.h"
#include "nn/permute.h"

namespace rebasin::nn::graph {

namespace {

constexpr double kTolerance = 1e-4;  // relative: float32 sums taken in another order

NamedTensors perturbed(const Program& program, std::uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  NamedTensors out;
  for (const auto& [name, t] : program.state()) {
    if (!at::isFloatingType(t.scalar_type()) || t.numel() == 0) {
      out.push_back({name, t});
      continue;
    }
    const double scale = 0.1 * (t.numel() > 1 ? t.std().item<double>() : 0.0) + 0.05;
    at::Tensor p = t + scale * at::randn(t.sizes(), gen, t.scalar_type());
    // Variances stay positive (a BatchNorm's running_var under a square root).
    if (name.size() >= 11 && name.compare(name.size() - 11, 11, "running_var") == 0) p = p.abs() + 1e-3;
    out.push_back({name, p});
  }
  return out;
}

std::vector<at::Tensor> values(const NamedTensors& t) {
  std::vector<at::Tensor> v;
  v.reserve(t.size());
  for (const auto& x : t) v.push_back(x.tensor);
  return v;
}

}  // namespace

double permutation_error(const Program& program, const PermutationSpec& spec, const NamedTensors& tensors,
                         const std::vector<at::Tensor>& perms, const at::Tensor& x) {
  const at::Tensor want = program.run(false, x, values(tensors)).front();
  const at::Tensor got = program.run(false, x, values(permute(spec, tensors, perms))).front();
  const double scale = want.abs().max().item<double>();
  const double diff = (got - want).abs().max().item<double>();
  if (!std::isfinite(diff)) return INFINITY;
  return diff / std::max(scale, 1e-12);
}

std::vector<std::size_t> failing_sets(const Program& program, const PermutationSpec& spec, std::uint64_t seed) {
  const auto sets = spec.linked_sets();
  if (sets.empty()) return {};
  NamedTensors tensors = perturbed(program, seed);
  const at::Tensor x = program.input().sample(4, seed + 1);
  {
    // A perturbation that makes the output non-finite (a clamp-free log, say) tells nothing.
    const at::Tensor y = program.run(false, x, values(tensors)).front();
    if (!y.isfinite().all().item<bool>()) tensors = program.state();
  }
  const std::vector<at::Tensor> random = random_permutations(spec, seed + 2);
  const std::vector<at::Tensor> identity = identity_permutations(spec);
  auto fails = [&](std::size_t lo, std::size_t hi) {
    std::vector<at::Tensor> perms = identity;
    for (std::size_t k = lo; k < hi; ++k)
      for (int g : sets[k]) perms[g] = random[g];
    return !(permutation_error(program, spec, tensors, perms, x) <= kTolerance);
  };
  // All at once, then halves of what failed: a model whose groups are right costs one check.
  std::vector<std::size_t> bad;
  std::vector<std::pair<std::size_t, std::size_t>> todo = {{0, sets.size()}};
  while (!todo.empty()) {
    const auto [lo, hi] = todo.back();
    todo.pop_back();
    if (!fails(lo, hi)) continue;
    if (hi - lo == 1) {
      bad.push_back(lo);
      continue;
    }
    const std::size_t mid = lo + (hi - lo) / 2;
    todo.push_back({mid, hi});
    todo.push_back({lo, mid});
  }
  std::sort(bad.begin(), bad.end());
  return bad;
}

}  // namespace rebasin::nn::graph
