// The general spec: ties on pieces of an axis (fused Q/K/V, concatenated groups), repeated
// ties (the per-head dims of an axis split into heads x dims) and head-structured groups -
// hard and soft permutations agree, random permutations keep the structure, the two-level
// assignment finds structured optima, weight matching recovers a hidden structured
// permutation, and specs round-trip through JSON.
#include <QtTest/QtTest>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "align/align.h"
#include "align/structured_assignment.h"
#include "common/error.h"
#include "common/runtime.h"
#include "nn/permute.h"
#include "nn/spec.h"
#include "ot/permutation.h"

using namespace rebasin;
using namespace rebasin::nn;

namespace {

// An attention block's parameters, as a derived spec describes them: embedding E (6 units),
// heads 2 x dims 3 for query/key (QK, head group) and value/output (VO, linked to QK), fused
// in_proj (18 x 6: Q, K, V pieces) and a second layer whose weight splits its rows into
// heads x dims with one tie per factor (H: inner 3, D: outer 2).
PermutationSpec attention_spec() {
  PermutationSpec s;
  const int e = s.add_group("embed", 6);
  const int qk = s.add_group("attn.qk", 6, 2);
  const int vo = s.add_group("attn.vo", 6, 2, qk);
  const int h = s.add_group("mlp.heads", 2);
  const int d = s.add_group("mlp.dims", 3);
  s.add_ties("emb.weight", {10, 6}, {{}, {{e}}});
  s.add_ties("in_proj.weight", {18, 6}, {{{qk, 1, 0}, {qk, 1, 6}, {vo, 1, 12}}, {{e}}});
  s.add_ties("in_proj.bias", {18}, {{{qk, 1, 0}, {qk, 1, 6}, {vo, 1, 12}}});
  s.add_ties("out.weight", {6, 6}, {{{e}}, {{vo}}});
  s.add_ties("fc.weight", {6, 6}, {{{h, 3}, {d, 1, 0, 2, 3}}, {{e}}});
  s.add_ties("fc2.weight", {4, 6}, {{}, {{h, 3}, {d, 1, 0, 2, 3}}});
  s.validate();
  return s;
}

NamedTensors random_params(const PermutationSpec& s, std::uint64_t seed) {
  at::manual_seed(seed);
  NamedTensors out;
  for (const auto& p : s.params()) out.push_back({p.name, at::randn(p.shape, at::kDouble)});
  return out;
}

}  // namespace

class TestSpecTies : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { configure_threads(2); }

  void repeatedTieMovesTheRightEntries() {
    // Axis of 12 = 2 repeats (stride 6) x 3 units x inner 2.
    const AxisTie t{0, 2, 0, 2, 6};
    const at::Tensor x = at::arange(12, at::kDouble).unsqueeze(0);
    const at::Tensor perm = at::tensor({2, 0, 1}, at::kLong);
    const at::Tensor y = permute_tie(x, 1, t, 3, perm, true);
    const at::Tensor want = at::tensor({4, 5, 0, 1, 2, 3, 10, 11, 6, 7, 8, 9}, at::kDouble).unsqueeze(0);
    QVERIFY(at::equal(y, want));
    // A piece at an offset leaves the rest alone.
    const AxisTie piece{0, 1, 5, 1, 0};
    const at::Tensor z = permute_tie(x, 1, piece, 3, perm, true);
    const at::Tensor want2 = at::tensor({0, 1, 2, 3, 4, 7, 5, 6, 8, 9, 10, 11}, at::kDouble).unsqueeze(0);
    QVERIFY(at::equal(z, want2));
  }

  void softAgreesWithHard() {
    const PermutationSpec s = attention_spec();
    const NamedTensors p = random_params(s, 1);
    const auto perms = random_permutations(s, 5);
    std::vector<at::Tensor> soft;
    for (const auto& q : perms) soft.push_back(ot::permutation_matrix(q, at::kDouble));
    const NamedTensors h = permute(s, p, perms), m = permute(s, p, soft);
    for (std::size_t i = 0; i < h.size(); ++i) QVERIFY2(at::allclose(h[i].tensor, m[i].tensor), h[i].name.c_str());
  }

  void softPermutationIsDifferentiable() {
    // d/dP of <W, permute(x, P)> by finite differences, through a piece and a repeated tie.
    const AxisTie t{0, 1, 1, 2, 5};
    const at::Tensor x = at::randn({3, 11}, at::kDouble), w = at::randn({3, 11}, at::kDouble);
    const at::Tensor P0 = at::rand({3, 3}, at::kDouble);
    const at::Tensor P = P0.clone().requires_grad_(true);
    (permute_tie(x, 1, t, 3, P, false) * w).sum().backward();
    const double eps = 1e-6;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        at::Tensor up = P0.clone(), down = P0.clone();
        up[i][j] += eps;
        down[i][j] -= eps;
        const double fd = ((permute_tie(x, 1, t, 3, up, false) * w).sum() -
                           (permute_tie(x, 1, t, 3, down, false) * w).sum()).item<double>() / (2 * eps);
        QVERIFY(std::abs(fd - P.grad()[i][j].item<double>()) < 1e-6);
      }
  }

  void randomPermutationsKeepTheHeads() {
    const PermutationSpec s = attention_spec();
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
      const auto perms = random_permutations(s, seed);
      check_permutations(s, perms);
      QVERIFY(at::equal(block_order(perms[1], 2), block_order(perms[2], 2)));
    }
    auto perms = random_permutations(s, 3);
    perms[1] = at::tensor({0, 1, 3, 2, 4, 5}, at::kLong);  // splits head 0 across heads
    QVERIFY_THROWS_EXCEPTION(UserError, check_permutations(s, perms));
    perms = random_permutations(s, 3);
    // The value/output heads in another order than the query/key heads they are linked to.
    perms[2] = block_permutation(block_order(perms[1], 2).flip(0), {at::arange(3, at::kLong), at::arange(3, at::kLong)});
    QVERIFY_THROWS_EXCEPTION(UserError, check_permutations(s, perms));
  }

  void twoLevelAssignmentFindsTheStructuredOptimum() {
    const PermutationSpec s = attention_spec();
    const auto truth = random_permutations(s, 11);
    std::vector<at::Tensor> scores;
    for (int g : {1, 2}) scores.push_back(ot::permutation_matrix(truth[g], at::kDouble) + 0.05 * at::rand({6, 6}, at::kDouble));
    const auto got = align::assign_set(s, {1, 2}, scores);
    QVERIFY(at::equal(got[0], truth[1]));
    QVERIFY(at::equal(got[1], truth[2]));
    // Unstructured scores still give a structured answer.
    const auto any = align::assign_set(s, {1, 2}, {at::randn({6, 6}, at::kDouble), at::randn({6, 6}, at::kDouble)});
    std::vector<at::Tensor> all = identity_permutations(s);
    all[1] = any[0];
    all[2] = any[1];
    check_permutations(s, all);
  }

  void weightMatchingRecoversAHiddenStructuredPermutation() {
    const PermutationSpec s = attention_spec();
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
      const NamedTensors a = random_params(s, seed);
      const auto hidden = random_permutations(s, seed + 100);
      const NamedTensors b = permute(s, a, hidden);
      const auto perms = align::weight_matching(s, a, b, {}, 100, seed);
      const NamedTensors back = permute(s, b, perms);
      for (std::size_t i = 0; i < a.size(); ++i) QVERIFY2(at::equal(back[i].tensor, a[i].tensor), a[i].name.c_str());
    }
  }

  void jsonRoundTrip() {
    const PermutationSpec s = attention_spec();
    const nlohmann::json j = s.to_json();
    const PermutationSpec back = PermutationSpec::from_json(nlohmann::json::parse(j.dump()));
    QCOMPARE(back.to_json(), j);
    QCOMPARE(back.groups()[2].link, 1);
    QCOMPARE(back.groups()[1].blocks, std::int64_t(2));
    QCOMPARE(back.find("fc.weight")->axes[0].size(), std::size_t(2));
  }

  void validationNamesTheProblem() {
    PermutationSpec s;
    const int g = s.add_group("g", 4, 3);  // 4 units cannot form 3 blocks
    s.add_ties("w", {4}, {{{g}}});
    QVERIFY_THROWS_EXCEPTION(UserError, s.validate());
    PermutationSpec t;
    const int h = t.add_group("h", 4);
    t.add_ties("w", {6}, {{{h, 1, 3}}});  // 3 + 4 > 6
    QVERIFY_THROWS_EXCEPTION(UserError, t.validate());
  }
};

QTEST_APPLESS_MAIN(TestSpecTies)
#include "tst_spec_ties.moc"
