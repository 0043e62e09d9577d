// Permutation helpers: index/matrix round trips, inverse, composition, applying along an axis
// (equal to the matrix product), hard permutations recovered from Sinkhorn plans, and errors.
#include <QtTest/QtTest>

#include <ATen/ATen.h>

#include "common/error.h"
#include "ot/permutation.h"
#include "ot/sinkhorn.h"
#include "test_util.h"

using rebasin::UserError;
using namespace rebasin::ot;
using rebasin::test::seeded_randn;

class TestPermutation : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void matrixRoundTrip() {
    const at::Tensor p = random_permutation(50, 1);
    const at::Tensor M = permutation_matrix(p, at::kDouble);
    QVERIFY(at::equal(M.sum(0), at::ones({50}, at::kDouble)));
    QVERIFY(at::equal(permutation_indices(M), p));
    QVERIFY(at::equal(random_permutation(50, 1), p));   // seeded
    QVERIFY(!at::equal(random_permutation(50, 2), p));
  }

  void inverseAndCompose() {
    const at::Tensor p = random_permutation(40, 3), q = random_permutation(40, 4);
    const at::Tensor id = at::arange(40, at::kLong);
    QVERIFY(at::equal(compose(p, inverse_permutation(p)), id));
    QVERIFY(at::equal(compose(inverse_permutation(p), p), id));
    // Matrix form: rows of x picked by q then by p equal rows picked by compose(p, q)... in
    // the order the helpers document: apply(apply(x, p), q) = apply(x, compose(p, q)).
    const at::Tensor x = seeded_randn(40, 3, 5);
    QVERIFY(at::equal(apply_permutation(apply_permutation(x, p, 0), q, 0),
                      apply_permutation(x, compose(p, q), 0)));
  }

  void applyAlongAxisIsMatrixProduct() {
    const at::Tensor p = random_permutation(6, 9);
    const at::Tensor M = permutation_matrix(p, at::kDouble);
    const at::Tensor W = seeded_randn(6, 6, 10);
    QVERIFY(at::allclose(apply_permutation(W, p, 0), at::mm(M, W)));
    QVERIFY(at::allclose(apply_permutation(W, p, 1), at::mm(W, M.t())));
    // Conv-shaped weight (out, in, kh, kw): axis 1 is the input channels.
    const at::Tensor C = at::randn({4, 6, 3, 3}, at::kDouble);
    const at::Tensor Cp = apply_permutation(C, p, 1);
    for (int i = 0; i < 6; ++i)
      QVERIFY(at::equal(Cp.select(1, i), C.select(1, p[i].item<int64_t>())));
    QVERIFY(at::equal(apply_permutation(C, p, -3), Cp));
  }

  void hardPermutationFromPlan() {
    // Scores peaked on a hidden permutation: the soft plan at small tau and the raw scores
    // both give it back.
    const at::Tensor p = random_permutation(200, 11);
    const at::Tensor X = permutation_matrix(p, at::kFloat) + 0.2 * seeded_randn(200, 200, 12, at::kFloat);
    QVERIFY(at::equal(hard_permutation(X), p));
    SinkhornOptions o;
    o.tau = 0.05;
    QVERIFY(at::equal(hard_permutation(sinkhorn(X, o).plan), p));
    QVERIFY(at::equal(linear_assignment(-X), p));
  }

  void errors() {
    QVERIFY_THROWS_EXCEPTION(UserError, check_permutation(at::tensor({0, 0, 1}, at::kLong)));
    QVERIFY_THROWS_EXCEPTION(UserError, check_permutation(at::tensor({0, 3, 1}, at::kLong)));
    QVERIFY_THROWS_EXCEPTION(UserError, check_permutation(at::tensor({0.0, 1.0})));
    QVERIFY_THROWS_EXCEPTION(UserError, check_permutation(random_permutation(4, 1), 5));
    QVERIFY_THROWS_EXCEPTION(UserError, apply_permutation(at::ones({3, 4}), random_permutation(4, 1), 0));
    QVERIFY_THROWS_EXCEPTION(UserError, apply_permutation(at::ones({3, 4}), random_permutation(4, 1), 2));
    QVERIFY_THROWS_EXCEPTION(UserError, permutation_indices(at::ones({2, 2})));
    QVERIFY_THROWS_EXCEPTION(UserError, linear_assignment(at::ones({3})));
    QVERIFY_THROWS_EXCEPTION(UserError, linear_assignment(at::zeros({0, 0})));
  }
};

QTEST_APPLESS_MAIN(TestPermutation)
#include "tst_permutation.moc"
