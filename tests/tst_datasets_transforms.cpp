// Continual-learning transforms and batching: rotation against exact quarter turns, pixel
// permutations undone by their inverse, subsets, and seeded mini-batch orders.
#include <ATen/ATen.h>

#include <QtTest/QtTest>

#include "common/error.h"
#include "data/dataset.h"
#include "data/transforms.h"
#include "ot/permutation.h"

using rebasin::UserError;
using namespace rebasin::data;

namespace {

at::Tensor images(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed) {
  at::manual_seed(seed);
  return at::rand({n, c, h, w});
}

}  // namespace

class TestDataTransforms : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void rotateQuarterTurns_data() {
    QTest::addColumn<int>("size");
    QTest::newRow("odd 5x5") << 5;
    QTest::newRow("even 4x4") << 4;
    QTest::newRow("mnist 28x28") << 28;
  }

  void rotateQuarterTurns() {
    QFETCH(int, size);
    const at::Tensor x = images(3, 2, size, size, 1);
    // Counter-clockwise, as torchvision: a quarter turn is a transpose then an upside-down flip.
    const at::Tensor ccw = x.transpose(-1, -2).flip(-2);
    QVERIFY(at::allclose(rotate(x, 90), ccw, 1e-5, 1e-5));
    QVERIFY(at::allclose(rotate(x, 90, Interpolation::Nearest), ccw));
    QVERIFY(at::allclose(rotate(x, -90), x.transpose(-1, -2).flip(-1), 1e-5, 1e-5));
    QVERIFY(at::allclose(rotate(x, 180), x.flip({-2, -1}), 1e-5, 1e-5));
    QVERIFY(at::equal(rotate(x, 0), x));  // exact: no resampling blur
    QVERIFY(at::allclose(rotate(x, 360), x, 1e-5, 1e-5));
  }

  void rotateKeepsSizeAndFillsZero() {
    const at::Tensor x = at::ones({1, 1, 9, 9});
    const at::Tensor r = rotate(x, 45);
    QCOMPARE(rotate(at::ones({2, 3, 9, 6}), 45).sizes().vec(), (std::vector<int64_t>{2, 3, 9, 6}));
    QCOMPARE(r[0][0][0][0].item<float>(), 0.0f);  // corners come from outside: zero fill
    QCOMPARE(r[0][0][4][4].item<float>(), 1.0f);  // the middle stays inside
    QVERIFY(r.min().item<float>() >= 0.0f && r.max().item<float>() <= 1.0f + 1e-6f);
    QCOMPARE(rotate(x.to(at::kDouble), 30).scalar_type(), at::kDouble);
    QVERIFY_THROWS_EXCEPTION(UserError, rotate(at::ones({3, 3}), 10));
    QVERIFY_THROWS_EXCEPTION(UserError, rotate(at::ones({1, 1, 3, 3}, at::kLong), 10));
    QVERIFY_THROWS_EXCEPTION(UserError, rotate(x, std::nan("")));
  }

  void permutePixels() {
    const at::Tensor x = images(4, 3, 5, 6, 2);
    const at::Tensor p = rebasin::ot::random_permutation(30, 7);
    const at::Tensor y = permute_pixels(x, p);
    QCOMPARE(y.sizes().vec(), x.sizes().vec());
    for (int64_t k : {0, 11, 29})
      QVERIFY(at::equal(y.flatten(2).select(2, k), x.flatten(2).select(2, p[k].item<int64_t>())));
    QVERIFY(at::equal(permute_pixels(y, rebasin::ot::inverse_permutation(p)), x));
    QVERIFY_THROWS_EXCEPTION(UserError, permute_pixels(x, rebasin::ot::random_permutation(29, 7)));
    QVERIFY_THROWS_EXCEPTION(UserError, permute_pixels(x, at::zeros({30}, at::kLong)));
    QVERIFY_THROWS_EXCEPTION(UserError, permute_pixels(x.flatten(1), p));
  }

  void batchIndices() {
    const std::vector<at::Tensor> a = batch_indices(1003, 100, true, 5);
    QCOMPARE(a.size(), size_t(11));
    QCOMPARE(a.back().numel(), 3);
    const at::Tensor all = at::cat(a);
    QVERIFY(at::equal(std::get<0>(all.sort()), at::arange(1003, at::kLong)));  // each index once
    QVERIFY(!at::equal(all, at::arange(1003, at::kLong)));
    const std::vector<at::Tensor> b = batch_indices(1003, 100, true, 5);
    for (size_t i = 0; i < a.size(); ++i) QVERIFY(at::equal(a[i], b[i]));  // seeded
    QVERIFY(!at::equal(at::cat(batch_indices(1003, 100, true, 6)), all));
    // A pinned value: the order must not change between builds or LibTorch versions.
    const at::Tensor small = at::cat(batch_indices(10, 4, true, 0));
    QCOMPARE(small.sizes().vec(), std::vector<int64_t>{10});
    QVERIFY(at::equal(small, at::tensor({7, 2, 0, 8, 3, 9, 6, 1, 5, 4}, at::kLong)));

    QVERIFY(at::equal(at::cat(batch_indices(7, 3, false, 9)), at::arange(7, at::kLong)));
    QVERIFY(batch_indices(0, 5, true, 1).empty());
    QVERIFY_THROWS_EXCEPTION(UserError, batch_indices(10, 0, false, 0));
    QVERIFY_THROWS_EXCEPTION(UserError, batch_indices(-1, 4, false, 0));
  }

  void selectRows() {
    Dataset d{images(6, 1, 2, 2, 3), at::arange(6, at::kLong), 10, "t"};
    const Dataset s = select(d, at::tensor({4, 1}, at::kLong));
    QCOMPARE(s.size(), 2);
    QCOMPARE(s.targets[0].item<int64_t>(), 4);
    QVERIFY(at::equal(s.inputs[1], d.inputs[1]));
    QCOMPARE(s.num_classes, 10);
    QVERIFY_THROWS_EXCEPTION(UserError, select(d, at::tensor({6}, at::kLong)));
    QVERIFY_THROWS_EXCEPTION(UserError, select(d, at::tensor({1.0})));
  }
};

QTEST_APPLESS_MAIN(TestDataTransforms)
#include "tst_datasets_transforms.moc"
