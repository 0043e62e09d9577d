// Weight matching (Git Re-Basin, METHOD.md section 6): for each group p, in random order, build
// S_p = sum over the parameters touching p of W_A (p-axis rows) . W_B (p-axis rows, every other
// axis already permuted by the current permutations)^T and take the assignment maximising
// <P, S_p>; repeat until a whole round improves nothing. The first round grows out from what is
// fixed: a group's S_p then sums only the parameters whose other axes are unpermuted or belong to
// groups already assigned this round, and groups with no such parameter wait until one has.
// (From the identity, a term through a group not yet assigned is noise: in a 4-layer ViT the
// stream's few anchored terms - patch embedding, classifier - drown in the 16 block matrices
// and the descent settles at 2% of a hidden permutation instead of all of it.) Later rounds use
// every term. Linked head groups (attention's
// query/key and value/output groups) are one step of the descent: their scores go to one
// two-level assignment (structured_assignment.h).
#include <ATen/ATen.h>

#include <algorithm>
#include <random>

#include "align/align.h"
#include "align/methods.h"
#include "align/structured_assignment.h"
#include "common/error.h"
#include "nn/permute.h"
#include "ot/permutation.h"

namespace rebasin::align {
namespace {

// The entries of one tie as a (units, rest) matrix: the tie's units first, everything else
// (its repeats and inner block, the other axes) flattened behind.
at::Tensor tie_rows(const at::Tensor& t, std::int64_t axis, const nn::AxisTie& tie, std::int64_t n) {
  if (tie.whole(t.size(axis), n)) {
    std::vector<std::int64_t> split(t.sizes().begin(), t.sizes().end());
    split[axis] = n;
    split.insert(split.begin() + axis + 1, tie.inner);
    return t.reshape(split).movedim(axis, 0).reshape({n, -1});
  }
  const at::Tensor pos = nn::tie_positions(tie, n).to(t.device());
  const at::Tensor block = t.index_select(axis, pos.flatten()).movedim(axis, 0);
  std::vector<std::int64_t> shape = {tie.outer, n, tie.inner};
  shape.insert(shape.end(), block.sizes().begin() + 1, block.sizes().end());
  return block.reshape(shape).movedim(1, 0).reshape({n, -1});
}

// x with every tie to a group other than `skip` permuted by perms (hard), as the rows of
// group `skip`: one (n, rest) block per tie of `skip`, concatenated along rest. Where `skip`
// ties the parameter more than once (a square P W P^T), the other ties take skip's current
// permutation, which linearises the problem as Git Re-Basin does. Returns an undefined tensor
// when the parameter does not touch `skip`. perms == nullptr: nothing is permuted (model A).
at::Tensor rows_for_group(const nn::ParamSpec& ps, const at::Tensor& x, const nn::PermutationSpec& spec,
                          const std::vector<at::Tensor>* perms, int skip) {
  const auto& groups = spec.groups();
  at::Tensor t = x;
  std::vector<std::pair<std::int64_t, const nn::AxisTie*>> own;
  for (std::size_t a = 0; a < ps.axes.size(); ++a) {
    for (const nn::AxisTie& tie : ps.axes[a]) {
      if (tie.group == skip) {
        own.push_back({static_cast<std::int64_t>(a), &tie});
      } else if (perms) {
        t = nn::permute_tie(t, static_cast<std::int64_t>(a), tie, groups[tie.group].size, (*perms)[tie.group], true);
      }
    }
  }
  if (own.empty()) return {};
  const std::int64_t n = groups[skip].size;
  std::vector<at::Tensor> rows;
  for (std::size_t k = 0; k < own.size(); ++k) {
    at::Tensor u = t;
    if (perms)
      for (std::size_t j = 0; j < own.size(); ++j)
        if (j != k) u = nn::permute_tie(u, own[j].first, *own[j].second, n, (*perms)[skip], true);
    rows.push_back(tie_rows(u, own[k].first, *own[k].second, n));
  }
  return rows.size() == 1 ? rows.front() : at::cat(rows, 1);
}

}  // namespace

std::vector<at::Tensor> weight_matching(const nn::PermutationSpec& spec, const NamedTensors& a,
                                        const NamedTensors& b, std::vector<at::Tensor> perms,
                                        int max_rounds, std::uint64_t seed, int* rounds_done,
                                        const CancelToken* cancel, bool anchored_start) {
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
  // B with every tie permuted by the current permutations, and its rows per group, kept until
  // a permutation of a group the tensor touches changes (late rounds change few: most steps
  // then reuse everything). Rows of fully permuted B are P_g's reordering of the rows Git
  // Re-Basin uses (B permuted on every axis but g's): S = S' with its columns put back.
  std::vector<at::Tensor> b_perm(params.size());
  std::vector<std::vector<at::Tensor>> b_rows(params.size(), std::vector<at::Tensor>(groups.size()));
  std::vector<std::vector<int>> touched(groups.size());  // group -> tensors tied to it
  for (std::size_t i = 0; i < params.size(); ++i)
    for (const auto& axis : params[i].axes)
      for (const auto& tie : axis)
        if (touched[tie.group].empty() || touched[tie.group].back() != static_cast<int>(i))
          touched[tie.group].push_back(static_cast<int>(i));
  auto b_rows_for = [&](std::size_t i, int g) -> const at::Tensor& {
    if (!b_perm[i].defined()) {
      at::Tensor t = b[i].tensor;
      for (std::size_t ax = 0; ax < params[i].axes.size(); ++ax)
        for (const auto& tie : params[i].axes[ax])
          t = nn::permute_tie(t, static_cast<std::int64_t>(ax), tie, groups[tie.group].size, perms[tie.group], true);
      b_perm[i] = t;
    }
    if (!b_rows[i][g].defined()) b_rows[i][g] = rows_for_group(params[i], b_perm[i], spec, nullptr, g);
    return b_rows[i][g];
  };
  std::vector<std::vector<int>> sets = spec.linked_sets();
  std::vector<bool> assigned(groups.size(), false);
  // Every tie of parameter i other than to group g is to an unpermuted axis or an assigned group.
  auto anchored = [&](std::size_t i, int g) {
    for (const auto& axis : params[i].axes)
      for (const auto& tie : axis)
        if (tie.group != g && !assigned[tie.group]) return false;
    return true;
  };
  auto has_anchor = [&](const std::vector<int>& set) {
    for (int g : set)
      for (const auto& entry : a_rows[g])
        if (anchored(entry.first, g)) return true;
    return false;
  };
  std::mt19937_64 rng(seed);
  int round = 0;
  for (; round < max_rounds; ++round) {
    const bool growing = round == 0 && anchored_start;
    bool improved = growing;  // the first round saw only part of every S: always a second
    std::shuffle(sets.begin(), sets.end(), rng);
    if (growing) {
      // Visit order: the next set (in the shuffled order) with an anchored parameter; a set
      // with none (nothing assigned around it yet) waits, unless no set has one.
      std::vector<std::vector<int>> order, left = sets;
      while (!left.empty()) {
        auto it = std::find_if(left.begin(), left.end(), has_anchor);
        if (it == left.end()) it = left.begin();
        order.push_back(*it);
        for (int g : *it) assigned[g] = true;
        left.erase(it);
      }
      std::fill(assigned.begin(), assigned.end(), false);
      sets = order;
    }
    for (const auto& set : sets) {
      check_cancel(cancel);
      std::vector<at::Tensor> scores;
      const bool partial = growing && has_anchor(set);
      for (int g : set) {
        const std::int64_t n = groups[g].size;
        // On the models' device (a GPU when they live there); the assignment copies it back.
        at::Tensor S;
        for (const auto& [i, ra] : a_rows[g]) {
          if (partial && !anchored(i, g)) continue;
          // The product in the models' dtype (float32: twice double's speed), summed in double.
          const at::Tensor term = at::mm(ra, b_rows_for(i, g).t()).to(at::kDouble);
          S = S.defined() ? S + term : term;
        }
        if (S.defined()) S = S.index_select(1, ot::inverse_permutation(perms[g]).to(S.device()));
        scores.push_back(S.defined() ? S : at::zeros({n, n}, at::kDouble));
      }
      const std::vector<at::Tensor> best = assign_set(spec, set, scores);
      for (int g : set) assigned[g] = true;
      double old_score = 0, new_score = 0;
      for (std::size_t k = 0; k < set.size(); ++k) {
        old_score += scores[k].gather(1, perms[set[k]].to(scores[k].device()).unsqueeze(1)).sum().item<double>();
        new_score += scores[k].gather(1, best[k].to(scores[k].device()).unsqueeze(1)).sum().item<double>();
      }
      if (new_score > old_score + 1e-12 * std::max(1.0, std::abs(old_score))) {
        for (std::size_t k = 0; k < set.size(); ++k) {
          perms[set[k]] = best[k];
          for (int i : touched[set[k]]) {
            b_perm[i] = at::Tensor();
            for (auto& r : b_rows[i]) r = at::Tensor();
          }
        }
        improved = true;
      }
    }
    if (!improved) break;
  }
  if (rounds_done) *rounds_done = round + 1;
  return perms;
}

AlignResult run_weight_matching(const MethodCall& c) {
  AlignResult r;
  r.perms = weight_matching(c.arch.spec(), c.a, c.b, {}, c.options.max_rounds, c.options.seed, &r.steps, c.cancel);
  return r;
}

}  // namespace rebasin::align
