// The GPU path (core/cuda). Everywhere: the CPU references of the GPU passes (and the shared
// forward driver, staging and CG glue, run over them) against the existing CPU Sinkhorn, its
// kernels and the LibTorch reference loop; --device resolution. With a GPU only (QSKIP
// otherwise): every GPU pass against its reference and the operator on the GPU.
#include <QtTest/QtTest>

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/device.h"
#include "common/error.h"
#include "common/runtime.h"
#include "cuda/gpu_check.h"
#include "cuda/gpu_runtime.h"
#include "cuda/sinkhorn_gpu.h"
#include "ot/sinkhorn.h"
#include "ot/sinkhorn_kernels.h"
#include "test_util.h"

using namespace rebasin;
using rebasin::test::rel_error;
using rebasin::test::seeded_randn;

namespace {

at::ScalarType dtype_of(const QString& name) { return name == "float32" ? at::kFloat : at::kDouble; }
double tolerance(at::ScalarType t) { return t == at::kFloat ? 2e-4 : 1e-10; }

struct Marginals {
  at::Tensor log_a, log_b;
};

Marginals default_marginals(std::int64_t m, std::int64_t n, at::ScalarType t) {
  const auto o = at::TensorOptions().dtype(t);
  return {at::zeros({m}, o), at::full({n}, std::log(double(m) / double(n)), o)};
}

}  // namespace

class TestCuda : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { configure_threads(2); }
  void cleanup() { cuda::set_offload(false); }

  void referenceForward_data() {
    QTest::addColumn<QString>("dtype");
    QTest::addColumn<int>("m");
    QTest::addColumn<int>("n");
    QTest::addColumn<double>("tau");
    QTest::addColumn<int>("iters");
    QTest::addColumn<double>("tol");
    QTest::newRow("float32 64x64 tau 1") << "float32" << 64 << 64 << 1.0 << 20 << 0.0;
    QTest::newRow("float64 64x64 tau 1") << "float64" << 64 << 64 << 1.0 << 20 << 0.0;
    QTest::newRow("float64 57x31 tau 0.2") << "float64" << 57 << 31 << 0.2 << 20 << 0.0;
    QTest::newRow("float32 31x57 tau 0.5") << "float32" << 31 << 57 << 0.5 << 7 << 0.0;
    // Logit range 6 / 0.02 = 300: the CPU kernels leave the scaling form for the log domain.
    QTest::newRow("float64 40x40 tau 0.02") << "float64" << 40 << 40 << 0.02 << 20 << 0.0;
    QTest::newRow("float32 40x40 tau 0.02") << "float32" << 40 << 40 << 0.02 << 20 << 0.0;
    QTest::newRow("float64 50x50 early stop") << "float64" << 50 << 50 << 1.0 << 500 << 1e-9;
    QTest::newRow("float32 80x80 early stop") << "float32" << 80 << 80 << 1.0 << 500 << 1e-4;
    QTest::newRow("float64 1x5") << "float64" << 1 << 5 << 1.0 << 3 << 0.0;
  }

  // The GPU algorithm's CPU reference (through the same tensor front end and driver the GPU
  // uses) against the CPU Sinkhorn operator and the LibTorch loop of the paper's code.
  void referenceForward() {
    QFETCH(QString, dtype);
    QFETCH(int, m);
    QFETCH(int, n);
    QFETCH(double, tau);
    QFETCH(int, iters);
    QFETCH(double, tol);
    const at::ScalarType t = dtype_of(dtype);
    const at::Tensor X = seeded_randn(m, n, 11, t);
    const Marginals mg = default_marginals(m, n, t);
    const cuda::ForwardOutput ref =
        cuda::sinkhorn_forward(X, mg.log_a, mg.log_b, {m, n, 1.0 / tau, iters, tol}, cuda::Backend::Reference);
    QVERIFY(!ref.stats.non_finite);
    QVERIFY(ref.stats.log_domain);
    ot::SinkhornOptions so;
    so.tau = tau;
    so.iters = iters;
    so.tol = tol;
    const ot::SinkhornResult cpu = ot::sinkhorn(X, so);
    const double tl = tolerance(t) * (tau < 0.1 ? 10 : 1);
    QVERIFY2(rel_error(ref.plan, cpu.plan) < tl, qPrintable(QString::number(rel_error(ref.plan, cpu.plan))));
    QCOMPARE(ref.stats.iterations, cpu.iterations);
    QVERIFY(std::abs(ref.stats.marginal_error - cpu.marginal_error) < tl);
    // The potentials describe the plan: log P = X / tau + f + g.
    const at::Tensor logp = X.to(at::kDouble) / tau + ref.f.to(at::kDouble).unsqueeze(1) +
                            ref.g.to(at::kDouble).unsqueeze(0);
    QVERIFY(rel_error(logp.exp(), ref.plan) < tl);
    if (tol == 0) {
      const at::Tensor loop = ot::sinkhorn_reference(X, so);
      QVERIFY2(rel_error(ref.plan, loop) < tl, qPrintable(QString::number(rel_error(ref.plan, loop))));
    }
  }

  void referenceForwardDetectsNonFinite() {
    at::Tensor X = seeded_randn(6, 5, 2);
    X.index_put_({2, 3}, std::numeric_limits<double>::infinity());
    const Marginals mg = default_marginals(6, 5, at::kDouble);
    const auto out = cuda::sinkhorn_forward(X, mg.log_a, mg.log_b, {6, 5, 1.0, 5, 0.0}, cuda::Backend::Reference);
    QVERIFY(out.stats.non_finite);
  }

  void referenceBackwardPasses_data() {
    QTest::addColumn<QString>("dtype");
    QTest::addColumn<int>("m");
    QTest::addColumn<int>("n");
    QTest::newRow("float64 30x30") << "float64" << 30 << 30;
    QTest::newRow("float32 47x23") << "float32" << 47 << 23;
    QTest::newRow("float64 9x70") << "float64" << 9 << 70;
  }

  // Each backward pass's reference against the CPU kernel of the same name.
  void referenceBackwardPasses() {
    QFETCH(QString, dtype);
    QFETCH(int, m);
    QFETCH(int, n);
    const at::ScalarType t = dtype_of(dtype);
    const at::Tensor P = ot::sinkhorn(seeded_randn(m, n, 3, t)).plan.detach().contiguous();
    const at::Tensor G = seeded_randn(m, n, 4, t);
    const at::Tensor p = seeded_randn(1, n, 5, t).view({n}).contiguous();
    const at::Tensor inv_a = (1.0 / P.sum(1)).contiguous(), b = P.sum(0).contiguous();
    AT_DISPATCH_FLOATING_TYPES(t, "passes", [&] {
      using T = scalar_t;
      const T* pp = P.data_ptr<T>();
      const T* gp = G.data_ptr<T>();
      std::vector<T> y_ref(n), y_cpu(n);
      cuda::ref::schur_matvec<T>(pp, m, n, inv_a.data_ptr<T>(), b.data_ptr<T>(), p.data_ptr<T>(), y_ref.data(),
                                 nullptr, nullptr);
      ot::kernels::schur_matvec<T>(pp, m, n, inv_a.data_ptr<T>(), b.data_ptr<T>(), p.data_ptr<T>(), y_cpu.data());
      const auto opts = at::TensorOptions().dtype(t);
      QVERIFY(rel_error(at::tensor(y_ref, opts), at::tensor(y_cpu, opts)) < tolerance(t) * 10);

      std::vector<T> a_r(m), h_r(m), a_c(m), h_c(m);
      std::vector<double> r(4 * n), c(4 * n);
      cuda::ref::implicit_prepare<T>(pp, gp, m, n, a_r.data(), h_r.data(), r.data(), r.data() + n,
                                     r.data() + 2 * n, r.data() + 3 * n, nullptr, nullptr);
      ot::kernels::implicit_prepare<T>(pp, gp, m, n, a_c.data(), h_c.data(), c.data(), c.data() + n,
                                       c.data() + 2 * n, c.data() + 3 * n);
      QVERIFY(rel_error(at::tensor(a_r, opts), at::tensor(a_c, opts)) < tolerance(t));
      QVERIFY(rel_error(at::tensor(h_r, opts), at::tensor(h_c, opts)) < tolerance(t));
      for (int k = 0; k < 4; ++k)
        QVERIFY2(rel_error(at::tensor(r).narrow(0, k * n, n), at::tensor(c).narrow(0, k * n, n)) < tolerance(t),
                 qPrintable(QString("column sums %1").arg(k)));

      at::Tensor g_ref = at::empty({m, n}, opts), g_cpu = at::empty({m, n}, opts);
      cuda::ref::implicit_finish<T>(pp, gp, m, n, a_c.data(), h_c.data(), p.data_ptr<T>(), T(2),
                                    g_ref.data_ptr<T>(), nullptr, nullptr);
      ot::kernels::implicit_finish<T>(pp, gp, m, n, a_c.data(), h_c.data(), p.data_ptr<T>(), T(2),
                                      g_cpu.data_ptr<T>());
      QVERIFY(rel_error(g_ref, g_cpu) < tolerance(t));
    });
  }

  // The GPU backward's glue (staging, host CG) over the references, against the CPU backward.
  void referenceImplicitBackward_data() {
    QTest::addColumn<QString>("dtype");
    QTest::addColumn<int>("m");
    QTest::addColumn<int>("n");
    QTest::addColumn<double>("tau");
    QTest::newRow("float64 20x20 tau 1") << "float64" << 20 << 20 << 1.0;
    QTest::newRow("float64 15x25 tau 0.3") << "float64" << 15 << 25 << 0.3;
    QTest::newRow("float32 40x40 tau 1") << "float32" << 40 << 40 << 1.0;
  }

  void referenceImplicitBackward() {
    QFETCH(QString, dtype);
    QFETCH(int, m);
    QFETCH(int, n);
    QFETCH(double, tau);
    const at::ScalarType t = dtype_of(dtype);
    ot::SinkhornOptions so;
    so.tau = tau;
    so.iters = 200;
    const at::Tensor P = ot::sinkhorn(seeded_randn(m, n, 7, t), so).plan.detach();
    const at::Tensor G = seeded_randn(m, n, 8, t);
    ot::ImplicitBackwardStats s_cpu, s_ref;
    const at::Tensor want = ot::sinkhorn_implicit_backward(P, G, tau, 0.0, 1000, &s_cpu);
    const at::Tensor got = cuda::implicit_backward(P, G, tau, 0.0, 1000, &s_ref, cuda::Backend::Reference);
    QVERIFY2(rel_error(got, want) < tolerance(t) * 50, qPrintable(QString::number(rel_error(got, want))));
    QVERIFY(s_ref.cg_iterations > 0);
    QVERIFY(std::abs(s_ref.cg_iterations - s_cpu.cg_iterations) <= 2);
  }

  void referenceBackwardRejectsBadInput() {
    const at::Tensor P = at::full({3, 3}, 1.0 / 3, at::kDouble);
    at::Tensor G = at::zeros({3, 3}, at::kDouble);
    G.index_put_({0, 0}, std::numeric_limits<double>::quiet_NaN());
    QVERIFY_EXCEPTION_THROWN(cuda::implicit_backward(P, G, 1.0, 0, 100, nullptr, cuda::Backend::Reference),
                             UserError);
    QVERIFY_EXCEPTION_THROWN(cuda::implicit_backward(P, at::zeros({3, 3}), -1.0, 0, 100, nullptr, cuda::Backend::Reference),
                             UserError);
  }

  // --device: cpu always works; auto follows cuda_usable(); cuda is a user error without a GPU.
  void deviceResolution() {
    QCOMPARE(resolve_device("cpu").type(), c10::kCPU);
    QCOMPARE(device_name(resolve_device("cpu")), std::string("cpu"));
    const c10::Device a = resolve_device("auto");
    if (cuda_usable()) {
      QVERIFY(device_name(a) != "cpu");
      QVERIFY(device_name(resolve_device("cuda")) != "cpu");
    } else {
      QCOMPARE(device_name(a), std::string("cpu"));
      QVERIFY(!cuda::offload());
      QVERIFY_EXCEPTION_THROWN(resolve_device("cuda"), UserError);
      QVERIFY(!cuda::runs_on_gpu(at::zeros({2, 2})));
    }
    QVERIFY_EXCEPTION_THROWN(resolve_device("gpu"), UserError);
    QVERIFY(!cuda_status().empty());
    // Without a GPU the Gpu backend refuses with a user error instead of crashing.
    if (!cuda::gpu_checks_possible()) {
      const Marginals mg = default_marginals(4, 4, at::kDouble);
      QVERIFY_EXCEPTION_THROWN(cuda::sinkhorn_forward(seeded_randn(4, 4, 1), mg.log_a, mg.log_b, {4, 4, 1.0, 3, 0.0}),
                               UserError);
      QVERIFY_EXCEPTION_THROWN(cuda::run_gpu_checks(), UserError);
    }
  }

  // With a GPU: every GPU pass against its CPU reference (the same checks as bench --check).
  void gpuMatchesReference() {
    if (!cuda::gpu_checks_possible()) QSKIP(qPrintable("no GPU: " + QString::fromStdString(cuda::device_description())));
    const std::vector<cuda::CheckResult> results = cuda::run_gpu_checks(1);
    QVERIFY(results.size() > 10);
    for (const auto& r : results)
      QVERIFY2(r.passed, qPrintable(QString("%1: error %2 > %3").arg(QString::fromStdString(r.name)).arg(r.error).arg(r.tolerance)));
  }

  // With a GPU: the Sinkhorn operator and its implicit backward run there and agree with the CPU.
  void gpuOperatorMatchesCpu() {
    if (!cuda::gpu_checks_possible()) QSKIP("no GPU");
    const at::Tensor X = seeded_randn(100, 100, 9, at::kDouble);
    const at::Tensor W = seeded_randn(100, 100, 10, at::kDouble);
    ot::SinkhornOptions so;
    so.iters = 50;
    // CPU first: with a CPU-only LibTorch, resolve_device("cuda") offloads host tensors too.
    const at::Tensor Xc = X.clone().requires_grad_(true);
    const ot::SinkhornResult c = ot::sinkhorn(Xc, so);
    (c.plan * W).sum().backward();
    const c10::Device dev = resolve_device("cuda");
    const at::Tensor Xd = X.clone().to(dev).requires_grad_(true);
    QVERIFY(cuda::runs_on_gpu(Xd));
    const ot::SinkhornResult g = ot::sinkhorn(Xd, so);
    QVERIFY(rel_error(g.plan.detach().cpu(), c.plan.detach()) < 1e-10);
    (g.plan * W.to(dev)).sum().backward();
    QVERIFY(rel_error(Xd.grad().cpu(), Xc.grad()) < 1e-8);
  }
};

QTEST_GUILESS_MAIN(TestCuda)
#include "tst_cuda.moc"
