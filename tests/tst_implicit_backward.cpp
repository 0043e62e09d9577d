// Implicit differentiation of Sinkhorn against finite differences and against autograd through
// a converged unrolled loop (float64, relative error < 1e-5), through the autograd function,
// and its invariants.
#include <QtTest/QtTest>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include "common/error.h"
#include "common/runtime.h"
#include "ot/sinkhorn.h"
#include "test_util.h"

using rebasin::UserError;
using namespace rebasin::ot;
using rebasin::test::rel_error;
using rebasin::test::seeded_randn;

namespace {

SinkhornOptions converged(double tau) {
  SinkhornOptions o;
  o.tau = tau;
  o.iters = 100000;
  o.tol = 1e-14;
  return o;
}

// L(X) = sum(W .* Sinkhorn(X / tau)) at convergence.
double loss(const at::Tensor& X, const at::Tensor& W, double tau) {
  return (sinkhorn(X, converged(tau)).plan * W).sum().item<double>();
}

}  // namespace

class TestImplicitBackward : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { rebasin::configure_threads(2); }

  void shapes_data() {
    QTest::addColumn<int>("m");
    QTest::addColumn<int>("n");
    QTest::addColumn<double>("tau");
    QTest::newRow("6x6 tau 1") << 6 << 6 << 1.0;
    QTest::newRow("5x8 tau 0.5") << 5 << 8 << 0.5;
    QTest::newRow("9x4 tau 2") << 9 << 4 << 2.0;
    QTest::newRow("12x12 tau 0.3") << 12 << 12 << 0.3;
  }

  void finiteDifferences_data() { shapes_data(); }

  void finiteDifferences() {
    QFETCH(int, m);
    QFETCH(int, n);
    QFETCH(double, tau);
    const at::Tensor X = seeded_randn(m, n, 100 + m);
    const at::Tensor W = seeded_randn(m, n, 200 + n);
    const at::Tensor P = sinkhorn(X, converged(tau)).plan;
    const at::Tensor g = sinkhorn_implicit_backward(P, W, tau);
    at::Tensor fd = at::zeros_like(X);
    const double h = 1e-6;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        at::Tensor e = at::zeros_like(X);
        e[i][j] = h;
        fd[i][j] = (loss(X + e, W, tau) - loss(X - e, W, tau)) / (2 * h);
      }
    QVERIFY2(rel_error(g, fd) < 1e-5, qPrintable(QString::number(rel_error(g, fd))));
  }

  void unrolledAtConvergence_data() { shapes_data(); }

  void unrolledAtConvergence() {
    QFETCH(int, m);
    QFETCH(int, n);
    QFETCH(double, tau);
    const at::Tensor X = seeded_randn(m, n, 300 + m);
    const at::Tensor W = seeded_randn(m, n, 400 + n);
    SinkhornOptions unrolled;
    unrolled.tau = tau;
    unrolled.iters = 1000;  // converged for these sizes and temperatures
    unrolled.backward = SinkhornBackward::Unrolled;
    at::Tensor Xg = X.clone().requires_grad_(true);
    torch::autograd::backward({(sinkhorn(Xg, unrolled).plan * W).sum()});
    const at::Tensor P = sinkhorn(X, converged(tau)).plan;
    ImplicitBackwardStats stats;
    const at::Tensor g = sinkhorn_implicit_backward(P, W, tau, 0.0, 1000, &stats);
    QVERIFY(stats.relative_residual < 1e-12);
    QVERIFY2(rel_error(g, Xg.grad()) < 1e-5, qPrintable(QString::number(rel_error(g, Xg.grad()))));
  }

  void autogradFunctionUsesImplicitBackward() {
    const at::Tensor X = seeded_randn(40, 40, 7);
    const at::Tensor W = seeded_randn(40, 40, 8);
    SinkhornOptions o = converged(0.7);
    at::Tensor Xg = X.clone().requires_grad_(true);
    const SinkhornResult r = sinkhorn(Xg, o);
    QVERIFY(r.plan.requires_grad());
    torch::autograd::backward({(r.plan * W).sum()});
    QVERIFY(Xg.grad().defined());
    QVERIFY(rel_error(Xg.grad(), sinkhorn_implicit_backward(r.plan.detach(), W, 0.7)) < 1e-12);
  }

  void fewIterationsDifferFromUnrolled() {
    // At the paper's K = 20 the plan is not converged: implicit and unrolled gradients differ
    // by a few percent, and that is expected. Printed for the record.
    const at::Tensor X = seeded_randn(64, 64, 17) * 3;
    const at::Tensor W = seeded_randn(64, 64, 18);
    SinkhornOptions o;
    o.iters = 20;
    o.backward = SinkhornBackward::Unrolled;
    at::Tensor Xg = X.clone().requires_grad_(true);
    torch::autograd::backward({(sinkhorn(Xg, o).plan * W).sum()});
    o.backward = SinkhornBackward::Implicit;
    at::Tensor Xi = X.clone().requires_grad_(true);
    torch::autograd::backward({(sinkhorn(Xi, o).plan * W).sum()});
    const double diff = rel_error(Xi.grad(), Xg.grad());
    qInfo("K = 20, 64x64, logits 3 N(0,1): implicit vs unrolled relative difference %.3g", diff);
    QVERIFY(std::isfinite(diff) && diff > 0);
  }

  void gradientIsInvariantDirectionFree() {
    // P does not change when a constant is added to a row or column of X, so every row and
    // column of dL/dX sums to zero.
    const at::Tensor X = seeded_randn(30, 50, 5);
    const at::Tensor P = sinkhorn(X, converged(0.5)).plan;
    const at::Tensor g = sinkhorn_implicit_backward(P, seeded_randn(30, 50, 6), 0.5);
    QVERIFY(g.sum(0).abs().max().item<double>() < 1e-10);
    QVERIFY(g.sum(1).abs().max().item<double>() < 1e-10);
  }

  void float32MatchesFloat64() {
    const at::Tensor X = seeded_randn(512, 512, 9);
    const at::Tensor W = seeded_randn(512, 512, 10);
    SinkhornOptions o;
    o.iters = 200;
    const at::Tensor P64 = sinkhorn(X, o).plan;
    const at::Tensor P32 = sinkhorn(X.to(at::kFloat), o).plan;
    const at::Tensor g64 = sinkhorn_implicit_backward(P64, W, 1.0);
    const at::Tensor g32 = sinkhorn_implicit_backward(P32, W.to(at::kFloat), 1.0);
    QCOMPARE(g32.scalar_type(), at::kFloat);
    QVERIFY2(rel_error(g32, g64) < 1e-3, qPrintable(QString::number(rel_error(g32, g64))));
  }

  void badInput() {
    const at::Tensor P = sinkhorn(seeded_randn(4, 4, 1)).plan;
    QVERIFY_THROWS_EXCEPTION(UserError, sinkhorn_implicit_backward(P, at::ones({4, 5}, at::kDouble), 1.0));
    at::Tensor bad = at::ones({4, 4}, at::kDouble);
    bad[0][0] = NAN;
    QVERIFY_THROWS_EXCEPTION(UserError, sinkhorn_implicit_backward(P, bad, 1.0));
    QVERIFY_THROWS_EXCEPTION(UserError, sinkhorn_implicit_backward(P, P, 0.0));
    QVERIFY_THROWS_EXCEPTION(UserError, sinkhorn_implicit_backward(at::zeros({3, 3}, at::kDouble), P.slice(0, 0, 3).slice(1, 0, 3), 1.0));
  }
};

QTEST_APPLESS_MAIN(TestImplicitBackward)
#include "tst_implicit_backward.moc"
