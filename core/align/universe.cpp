// C2M3's universe alignment: Frank-Wolfe over each model's plans into a shared universe. The
// gradient comes from autograd through the soft permutation of every model; the linear
// minimisation oracle over the Birkhoff polytope is an exact assignment per group (two-level
// for head groups, structured_assignment.h); the step is an exact line search: along a segment
// every permuted parameter is a polynomial in the step of degree at most its number of axis
// ties (d), so its values at d + 1 nodes give the objective at any step through Gram matrices
// of those values - d extra evaluations per iteration instead of a scalar search's ~20.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "align/merge.h"
#include "align/structured_assignment.h"
#include "common/error.h"
#include "nn/permute.h"
#include "ot/permutation.h"

namespace rebasin::align {
namespace {

// The learnable entries of a model (buffers take no part in the objective, and permuting them
// by a soft plan would cost an assignment each time).
NamedTensors learnable(const nn::PermutationSpec& spec, const NamedTensors& model) {
  NamedTensors out;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (!spec.params()[i].buffer) out.push_back(model[i]);
  return out;
}

int max_ties(const nn::PermutationSpec& spec) {
  int d = 1;
  for (const auto& ps : spec.params()) {
    if (ps.buffer) continue;
    int k = 0;
    for (const auto& axis : ps.axes) k += static_cast<int>(axis.size());
    d = std::max(d, k);
  }
  return d;
}

// f from permuted learnable sets: sum over tensors of (|sum_i w_i a_i|^2 - sum_i w_i^2 |a_i|^2) / 2.
at::Tensor objective(const std::vector<NamedTensors>& aligned, const std::vector<double>& w) {
  at::Tensor f;
  for (std::size_t p = 0; p < aligned.front().size(); ++p) {
    at::Tensor s, diag;
    for (std::size_t i = 0; i < aligned.size(); ++i) {
      const at::Tensor a = aligned[i][p].tensor.reshape(-1);
      s = s.defined() ? s + w[i] * a : w[i] * a;
      const at::Tensor d = w[i] * w[i] * at::dot(a, a);
      diag = diag.defined() ? diag + d : d;
    }
    const at::Tensor term = 0.5 * (at::dot(s, s) - diag);
    f = f.defined() ? f + term : term;
  }
  return f;
}

double lagrange(const std::vector<double>& nodes, std::size_t m, double t) {
  double v = 1.0;
  for (std::size_t k = 0; k < nodes.size(); ++k)
    if (k != m) v *= (t - nodes[k]) / (nodes[m] - nodes[k]);
  return v;
}

}  // namespace

double universe_objective(const nn::PermutationSpec& spec, const std::vector<NamedTensors>& models,
                          const std::vector<double>& weights, const ModelPermutations& perms) {
  at::NoGradGuard no_grad;
  std::vector<NamedTensors> aligned;
  for (std::size_t i = 0; i < models.size(); ++i) {
    NamedTensors a = nn::permute(spec, learnable(spec, models[i]), perms[i]);
    for (auto& t : a) t.tensor = t.tensor.to(at::kDouble);  // hard scores are compared exactly
    aligned.push_back(std::move(a));
  }
  return objective(aligned, weights).item<double>();
}

UniverseResult universe_alignment(const nn::PermutationSpec& spec, const std::vector<NamedTensors>& models,
                                  const std::vector<double>& weights, ModelPermutations start,
                                  int max_steps, const CancelToken* cancel) {
  const std::size_t n = models.size(), groups = spec.groups().size();
  require(n >= 2 && weights.size() == n && start.size() == n, "universe: one weight and one start per model");
  std::vector<NamedTensors> sets;
  for (const auto& m : models) sets.push_back(learnable(spec, m));
  const at::TensorOptions opts = sets.front().front().tensor.options();
  UniverseResult r;
  r.objective_start = universe_objective(spec, models, weights, start);

  std::vector<std::vector<at::Tensor>> plans(n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t g = 0; g < groups; ++g)
      plans[i].push_back(ot::permutation_matrix(start[i][g], opts.dtype().toScalarType()).to(opts.device()));
  const int d = max_ties(spec);
  std::vector<double> nodes;
  for (int m = 0; m <= d; ++m) nodes.push_back(static_cast<double>(m) / d);

  for (int step = 0; step < max_steps; ++step) {
    check_cancel(cancel);
    // Objective and gradient at the current plans.
    std::vector<std::vector<at::Tensor>> leaves(n);
    std::vector<NamedTensors> aligned(n);
    double f0 = 0;
    {
      at::AutoGradMode grad(true);
      for (std::size_t i = 0; i < n; ++i) {
        for (const at::Tensor& p : plans[i]) leaves[i].push_back(p.detach().requires_grad_(true));
        aligned[i] = nn::permute(spec, sets[i], leaves[i]);
      }
      const at::Tensor f = objective(aligned, weights);
      f0 = f.item<double>();
      f.backward();
    }
    // Frank-Wolfe vertex per model: the permutations maximising <gradient, V>.
    std::vector<std::vector<at::Tensor>> dirs(n);
    double gap = 0;
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<at::Tensor> grads;
      for (const at::Tensor& leaf : leaves[i]) grads.push_back(leaf.grad().detach());
      const std::vector<at::Tensor> vertex = assign_all(spec, grads);
      for (std::size_t g = 0; g < groups; ++g) {
        const at::Tensor v = ot::permutation_matrix(vertex[g], opts.dtype().toScalarType()).to(opts.device());
        dirs[i].push_back(v - plans[i][g]);
        gap += (grads[g] * dirs[i][g]).sum().item<double>();
      }
    }
    // The duality gap bounds how far f is from the relaxation's optimum.
    if (gap <= 1e-7 * std::max(1.0, std::abs(f0))) break;
    // Exact line search on [0, 1].
    at::NoGradGuard no_grad;
    std::vector<std::vector<NamedTensors>> at_node(nodes.size(), std::vector<NamedTensors>(n));
    for (std::size_t m = 0; m < nodes.size(); ++m)
      for (std::size_t i = 0; i < n; ++i) {
        if (m == 0) {
          at_node[0][i] = aligned[i];
          for (auto& t : at_node[0][i]) t.tensor = t.tensor.detach();
          continue;
        }
        std::vector<at::Tensor> moved;
        for (std::size_t g = 0; g < groups; ++g) moved.push_back(plans[i][g] + nodes[m] * dirs[i][g]);
        at_node[m][i] = nn::permute(spec, sets[i], moved);
      }
    const std::size_t k = nodes.size();
    std::vector<double> gram(k * k, 0.0);  // sum over tensors of <S_m, S_m'> - sum_i w_i^2 <a_im, a_im'>
    for (std::size_t p = 0; p < sets.front().size(); ++p) {
      std::vector<at::Tensor> s(k);
      for (std::size_t m = 0; m < k; ++m)
        for (std::size_t i = 0; i < n; ++i) {
          const at::Tensor a = at_node[m][i][p].tensor.reshape(-1);
          s[m] = s[m].defined() ? s[m] + weights[i] * a : weights[i] * a;
        }
      for (std::size_t m = 0; m < k; ++m)
        for (std::size_t q = m; q < k; ++q) {
          double v = at::dot(s[m], s[q]).item<double>();
          for (std::size_t i = 0; i < n; ++i)
            v -= weights[i] * weights[i] *
                 at::dot(at_node[m][i][p].tensor.reshape(-1), at_node[q][i][p].tensor.reshape(-1)).item<double>();
          gram[m * k + q] += 0.5 * v;
          if (q != m) gram[q * k + m] += 0.5 * v;
        }
    }
    auto f_at = [&](double t) {
      double v = 0;
      for (std::size_t m = 0; m < k; ++m)
        for (std::size_t q = 0; q < k; ++q) v += lagrange(nodes, m, t) * lagrange(nodes, q, t) * gram[m * k + q];
      return v;
    };
    double best_t = 0, best_f = f_at(0.0);
    for (int j = 1; j <= 1000; ++j) {
      const double t = j / 1000.0, v = f_at(t);
      if (v > best_f) best_t = t, best_f = v;
    }
    if (best_t == 0.0 || best_f <= f0 + 1e-9 * std::max(1.0, std::abs(f0))) break;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t g = 0; g < groups; ++g) plans[i][g] = plans[i][g] + best_t * dirs[i][g];
    r.steps = step + 1;
  }

  // Nearest permutations to the final plans; the start when they score lower (the relaxation's
  // optimum need not round to a better vertex).
  ModelPermutations hard(n);
  for (std::size_t i = 0; i < n; ++i) hard[i] = assign_all(spec, plans[i]);
  const double f_hard = universe_objective(spec, models, weights, hard);
  ModelPermutations chosen = f_hard >= r.objective_start ? hard : start;
  r.objective = std::max(f_hard, r.objective_start);
  // Re-based onto model 0's frame: maps into the universe and then back into model 0.
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<at::Tensor> to_first;
    for (std::size_t g = 0; g < groups; ++g)
      to_first.push_back(ot::compose(chosen[i][g].cpu(), ot::inverse_permutation(chosen[0][g].cpu())));
    r.perms.push_back(std::move(to_first));
  }
  return r;
}

}  // namespace rebasin::align
