// Sinkhorn forward: marginals, agreement with the plain reference loop (float64) over sizes and
// temperatures down to tau = 0.01, rectangular shapes, given marginals, early stopping, the
// underflow cases the scaling form cannot do, and clear errors for bad input.
#include <QtTest/QtTest>

#include <ATen/ATen.h>

#include "common/error.h"
#include "common/runtime.h"
#include "ot/sinkhorn.h"
#include "test_util.h"

using rebasin::UserError;
using namespace rebasin::ot;
using rebasin::test::rel_error;
using rebasin::test::seeded_randn;

class TestSinkhorn : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { rebasin::configure_threads(2); }

  void matchesReference_data() {
    QTest::addColumn<int>("m");
    QTest::addColumn<int>("n");
    QTest::addColumn<double>("scale");  // logits = scale * N(0, 1)
    QTest::addColumn<double>("tau");
    QTest::newRow("8x8 tau 1") << 8 << 8 << 1.0 << 1.0;
    QTest::newRow("64x64 tau 1") << 64 << 64 << 1.0 << 1.0;
    QTest::newRow("64x64 tau 0.1") << 64 << 64 << 1.0 << 0.1;
    QTest::newRow("64x64 tau 0.01 (log domain)") << 64 << 64 << 1.0 << 0.01;
    QTest::newRow("300x300 tau 0.01 (log domain)") << 300 << 300 << 1.0 << 0.01;
    QTest::newRow("33x47 tau 0.5") << 33 << 47 << 1.0 << 0.5;
    QTest::newRow("100x30 tau 0.05") << 100 << 30 << 1.0 << 0.05;
    QTest::newRow("1x5") << 1 << 5 << 1.0 << 1.0;
    QTest::newRow("7x1") << 7 << 1 << 1.0 << 1.0;
    QTest::newRow("wide logits 50x50 tau 1") << 50 << 50 << 200.0 << 1.0;
    QTest::newRow("513x257 tau 10") << 513 << 257 << 1.0 << 10.0;
  }

  void matchesReference() {
    QFETCH(int, m);
    QFETCH(int, n);
    QFETCH(double, scale);
    QFETCH(double, tau);
    const at::Tensor X = seeded_randn(m, n, 7) * scale;
    SinkhornOptions o;
    o.tau = tau;
    o.iters = 20;
    const SinkhornResult r = sinkhorn(X, o);
    const at::Tensor ref = sinkhorn_reference(X, o);
    QVERIFY2(rel_error(r.plan, ref) < 1e-10, qPrintable(QString::number(rel_error(r.plan, ref))));
    QCOMPARE(r.iterations, 20);
    // The potentials describe the plan: log P = X / tau + f + g.
    const at::Tensor logp = X / tau + r.f.unsqueeze(1) + r.g.unsqueeze(0);
    QVERIFY(rel_error(logp.exp(), ref) < 1e-9);
    // float32 agrees with the float64 reference to float precision.
    const SinkhornResult r32 = sinkhorn(X.to(at::kFloat), o);
    QCOMPARE(r32.plan.scalar_type(), at::kFloat);
    QVERIFY2(rel_error(r32.plan, ref) < 2e-4, qPrintable(QString::number(rel_error(r32.plan, ref))));
  }

  void convergesToMarginals_data() {
    // Sinkhorn converges ever more slowly as tau shrinks; these temperatures reach 1e-11 in a
    // few thousand iterations.
    QTest::addColumn<int>("m");
    QTest::addColumn<int>("n");
    QTest::addColumn<double>("scale");
    QTest::addColumn<double>("tau");
    QTest::newRow("8x8 tau 1") << 8 << 8 << 1.0 << 1.0;
    QTest::newRow("64x64 tau 0.3") << 64 << 64 << 1.0 << 0.3;
    QTest::newRow("33x47 tau 0.5") << 33 << 47 << 1.0 << 0.5;
    QTest::newRow("100x30 tau 0.2") << 100 << 30 << 1.0 << 0.2;
    QTest::newRow("513x257 tau 10") << 513 << 257 << 1.0 << 10.0;
  }

  void convergesToMarginals() {
    QFETCH(int, m);
    QFETCH(int, n);
    QFETCH(double, scale);
    QFETCH(double, tau);
    const at::Tensor X = seeded_randn(m, n, 11) * scale;
    SinkhornOptions o;
    o.tau = tau;
    o.iters = 20000;
    o.tol = 1e-11;
    const SinkhornResult r = sinkhorn(X, o);
    QVERIFY(r.marginal_error < 1e-11);
    QVERIFY(r.iterations < o.iters);
    // Default marginals: rows 1, columns m / n.
    QVERIFY(rel_error(r.plan.sum(1), at::ones({m}, at::kDouble)) < 1e-12);
    QVERIFY(rel_error(r.plan.sum(0), at::full({n}, double(m) / n, at::kDouble)) < 1e-10);
  }

  void logDomainConvergesFloat32() {
    // Logits spanning ~80 nats: beyond the float32 scaling form's safe range.
    const at::Tensor X = seeded_randn(60, 60, 13, at::kFloat) * 10;
    SinkhornOptions o;
    o.iters = 5000;
    o.tol = 1e-5;
    const SinkhornResult r = sinkhorn(X, o);
    QVERIFY(r.log_domain);
    QVERIFY(r.iterations < 5000);
    QVERIFY(r.marginal_error < 1e-5);
    QVERIFY(rel_error(r.plan.sum(1), at::ones({60})) < 1e-5);
    // marginal_error is the plan's L1 column error over the mass (float32 sums: some slack).
    QVERIFY((r.plan.sum(0) - 1).abs().sum().item<double>() / 60 < 2e-5);
  }

  void givenMarginals() {
    const at::Tensor X = seeded_randn(20, 30, 3);
    SinkhornOptions o;
    o.tau = 0.3;
    at::Tensor a = seeded_randn(1, 20, 4).abs().flatten() + 0.1;
    at::Tensor b = seeded_randn(1, 30, 5).abs().flatten() + 0.1;
    b = b * (a.sum() / b.sum());
    o.row_marginal = a;
    o.col_marginal = b;
    o.iters = 5000;
    o.tol = 1e-12;
    const SinkhornResult r = sinkhorn(X, o);
    QVERIFY(rel_error(r.plan.sum(1), a) < 1e-10);
    QVERIFY(rel_error(r.plan.sum(0), b) < 1e-10);
    o.tol = 0;
    o.iters = 20;
    QVERIFY(rel_error(sinkhorn(X, o).plan, sinkhorn_reference(X, o)) < 1e-10);
  }

  void tinyTemperatureFloat32() {
    // tau = 0.01 overflows the plain scaling form (exp(X / tau) is inf for X > 0.89).
    const at::Tensor X = seeded_randn(256, 256, 21, at::kFloat);
    SinkhornOptions o;
    o.tau = 0.01;
    const SinkhornResult r = sinkhorn(X, o);
    QVERIFY(r.log_domain);
    QVERIFY(at::isfinite(r.plan).all().item<bool>());
    QVERIFY(rel_error(r.plan.sum(1), at::ones({256})) < 1e-4);
    QVERIFY(rel_error(r.plan, sinkhorn_reference(X.to(at::kDouble), o)) < 1e-3);
  }

  void underflowingColumn() {
    // Every row prefers column 0 by 100 nats: after a row normalisation column 1's mass is
    // e^-100, below float's range. The answer is still the uniform plan.
    const at::Tensor X = at::tensor({1.0f, 0.0f, 1.0f, 0.0f}).reshape({2, 2});
    SinkhornOptions o;
    o.tau = 0.01;
    for (auto dtype : {at::kFloat, at::kDouble}) {
      const SinkhornResult r = sinkhorn(X.to(dtype), o);
      QVERIFY(rel_error(r.plan, at::full({2, 2}, 0.5)) < 1e-6);
    }
  }

  void earlyStopping() {
    const at::Tensor X = seeded_randn(128, 128, 5);
    SinkhornOptions o;
    o.iters = 1000;
    o.tol = 1e-6;
    const SinkhornResult r = sinkhorn(X, o);
    QVERIFY(r.iterations > 1 && r.iterations < 1000);
    QVERIFY(r.marginal_error < 1e-6);
    // The reported error is the plan's own.
    const double err = (r.plan.sum(0) - 1).abs().sum().item<double>() / 128;
    QVERIFY(std::abs(err - r.marginal_error) < 1e-9);
  }

  void largeAndThreaded() {
    // More rows than one thread block: the per-thread column sums must add up.
    const at::Tensor X = seeded_randn(1500, 700, 9, at::kFloat);
    SinkhornOptions o;
    o.iters = 30;
    QVERIFY(rel_error(sinkhorn(X, o).plan, sinkhorn_reference(X.to(at::kDouble), o)) < 2e-4);
  }

  void badInput_data() {
    QTest::addColumn<int>("kind");
    QTest::newRow("NaN") << 0;
    QTest::newRow("Inf") << 1;
    QTest::newRow("empty") << 2;
    QTest::newRow("1-D") << 3;
    QTest::newRow("3-D") << 4;
    QTest::newRow("integer") << 5;
    QTest::newRow("tau 0") << 6;
    QTest::newRow("negative marginal") << 7;
    QTest::newRow("marginal length") << 8;
    QTest::newRow("marginal mass") << 9;
    QTest::newRow("zero iterations") << 10;
    QTest::newRow("NaN in reference") << 11;
  }

  void badInput() {
    QFETCH(int, kind);
    at::Tensor X = seeded_randn(4, 4, 1);
    SinkhornOptions o;
    switch (kind) {
      case 0: X[1][2] = NAN; break;
      case 1: X[3][0] = INFINITY; break;
      case 2: X = at::zeros({0, 4}, at::kDouble); break;
      case 3: X = at::ones({4}, at::kDouble); break;
      case 4: X = at::ones({2, 2, 2}, at::kDouble); break;
      case 5: X = at::ones({3, 3}, at::kLong); break;
      case 6: o.tau = 0; break;
      case 7: o.row_marginal = at::tensor({1.0, -1.0, 1.0, 3.0}, at::kDouble); break;
      case 8: o.col_marginal = at::ones({5}, at::kDouble); break;
      case 9: o.col_marginal = at::full({4}, 2.0, at::kDouble); break;
      case 10: o.iters = 0; break;
      case 11:
        X[0][0] = NAN;
        QVERIFY_THROWS_EXCEPTION(UserError, sinkhorn_reference(X, o));
        return;
    }
    QVERIFY_THROWS_EXCEPTION(UserError, sinkhorn(X, o));
  }
};

QTEST_APPLESS_MAIN(TestSinkhorn)
#include "tst_sinkhorn.moc"
