// The soft plans of Sinkhorn re-basin (core/align/soft_plans.h): the two-level plan of a head
// set is doubly stochastic, is the head-structured permutation at sharp logits, its hard
// assignment is the permutation it starts from, and its gradient (through the Sinkhorn layer's
// implicit and unrolled backward) matches central finite differences in float64.
#include <QtTest/QtTest>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include "align/methods.h"
#include "align/plan_snapshot.h"
#include "align/soft_plans.h"
#include "common/runtime.h"
#include "nn/permute.h"
#include "ot/permutation.h"

using namespace rebasin;

namespace {

// An attention layer's two linked head sets (3 heads of 4 units) and a plain group.
nn::PermutationSpec head_spec() {
  nn::PermutationSpec s;
  s.add_group("qk", 12, 3);
  s.add_group("vo", 12, 3, 0);
  s.add_group("mlp", 5);
  return s;
}

double max_abs(const at::Tensor& t) { return t.abs().max().item<double>(); }

}  // namespace

class TestSoftPlans : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { configure_threads(2); }

  void assembledPlanIsDoublyStochastic() {
    at::manual_seed(1);
    ot::SinkhornOptions o;
    o.iters = 500;
    const at::Tensor heads = ot::sinkhorn(at::randn({3, 3}, at::kDouble), o).plan;
    std::vector<at::Tensor> inner;
    for (int b = 0; b < 9; ++b) inner.push_back(ot::sinkhorn(at::randn({4, 4}, at::kDouble), o).plan);
    const at::Tensor p = align::assemble_two_level(heads, at::stack(inner));
    QCOMPARE(p.sizes().vec(), (std::vector<int64_t>{12, 12}));
    QVERIFY(max_abs(p.sum(0) - 1) < 1e-9);
    QVERIFY(max_abs(p.sum(1) - 1) < 1e-9);
    // Block (i, j) is S_ij Q_ij: entry [i*4 + a][j*4 + b].
    QVERIFY(std::abs(p[4 + 2][8 + 1].item<double>() - (heads[1][2] * inner[1 * 3 + 2][2][1]).item<double>()) < 1e-15);
  }

  void snapshotShowsHeadPlanAndMatchedInnerPlans() {
    // What the studio's head view draws: exact at any display size.
    at::manual_seed(2);
    ot::SinkhornOptions o;
    o.iters = 500;
    const at::Tensor heads = ot::sinkhorn(at::randn({3, 3}, at::kDouble), o).plan;
    std::vector<at::Tensor> inner;
    for (int b = 0; b < 9; ++b) inner.push_back(ot::sinkhorn(at::randn({4, 4}, at::kDouble), o).plan);
    const at::Tensor p = align::assemble_two_level(heads, at::stack(inner));
    // Head i -> head (i + 2) % 3, units in order inside.
    std::vector<std::int64_t> units;
    for (int i = 0; i < 3; ++i)
      for (int u = 0; u < 4; ++u) units.push_back(((i + 2) % 3) * 4 + u);
    const at::Tensor assignment = at::tensor(units, at::kLong);
    const PlanSnapshot s = align::make_snapshot(7, 1, "qk", p, assignment, /*max_side=*/5, /*heads=*/3);
    QCOMPARE(s.shown, std::int64_t(5));  // the unit view is block-averaged ...
    QCOMPARE(s.heads, std::int64_t(3));  // ... the head view is not
    QCOMPARE(s.head_assignment, (std::vector<std::int64_t>{2, 0, 1}));
    QCOMPARE(int(s.head_values.size()), 9);
    QCOMPARE(int(s.inner_values.size()), 3 * 16);
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) QVERIFY(std::abs(s.head_values[i * 3 + j] - heads[i][j].item<double>()) < 1e-6);
      const int j = (i + 2) % 3;
      for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b)
          QVERIFY(std::abs(s.inner_values[i * 16 + a * 4 + b] - inner[i * 3 + j][a][b].item<double>()) < 1e-5);
    }
    // A plain group carries none of it.
    const PlanSnapshot plain = align::make_snapshot(7, 2, "mlp", p, assignment, 12);
    QCOMPARE(plain.heads, std::int64_t(1));
    QVERIFY(plain.head_values.empty() && plain.inner_values.empty());
  }

  void sharpPlansAreTheHeadStructuredPermutation() {
    const nn::PermutationSpec spec = head_spec();
    const std::vector<at::Tensor> start = nn::random_permutations(spec, 7);
    const align::SoftPlans soft(spec, start, at::TensorOptions().dtype(at::kDouble));
    ot::SinkhornOptions o;
    for (std::size_t g = 0; g < start.size(); ++g) QVERIFY(at::equal(soft.hard(o)[g], start[g]));
    // At a low temperature the plans are the permutation matrices themselves.
    o.tau = 0.05;
    o.iters = 200;
    const std::vector<at::Tensor> plans = soft.plans(o);
    for (std::size_t g = 0; g < start.size(); ++g)
      QVERIFY2(max_abs(plans[g] - ot::permutation_matrix(start[g], at::kDouble)) < 1e-6, spec.groups()[g].name.c_str());
    // The two linked sets share one head parameter: 1 head plan + 2 inner + 1 plain.
    QCOMPARE(int(soft.parameters().size()), 4);
    QCOMPARE(soft.parameters()[1].first.sizes().vec(), (std::vector<int64_t>{9, 4, 4}));
  }

  void identityStartIsTheIdentity() {
    const nn::PermutationSpec spec = head_spec();
    const align::SoftPlans soft(spec, {}, at::TensorOptions().dtype(at::kDouble));
    const std::vector<at::Tensor> id = nn::identity_permutations(spec);
    const std::vector<at::Tensor> hard = soft.hard({});
    for (std::size_t g = 0; g < id.size(); ++g) QVERIFY(at::equal(hard[g], id[g]));
  }

  void gradientMatchesFiniteDifferences_data() {
    QTest::addColumn<bool>("implicit");
    QTest::newRow("implicit") << true;
    QTest::newRow("unrolled") << false;
  }
  void gradientMatchesFiniteDifferences() {
    QFETCH(bool, implicit);
    const nn::PermutationSpec spec = head_spec();
    const align::SoftPlans soft(spec, {}, at::TensorOptions().dtype(at::kDouble));
    at::manual_seed(3);
    {
      at::NoGradGuard no_grad;
      for (const auto& [p, scale] : soft.parameters()) p.add_(at::randn_like(p));
    }
    ot::SinkhornOptions o;
    o.iters = implicit ? 2000 : 60;  // the implicit gradient is the fixed point's
    o.backward = implicit ? ot::SinkhornBackward::Implicit : ot::SinkhornBackward::Unrolled;
    std::vector<at::Tensor> weights;
    for (const auto& g : spec.groups()) weights.push_back(at::randn({g.size, g.size}, at::kDouble));
    auto loss = [&] {
      const std::vector<at::Tensor> plans = soft.plans(o);
      at::Tensor l = at::zeros({}, at::kDouble);
      for (std::size_t g = 0; g < plans.size(); ++g) l = l + (plans[g] * weights[g]).sum() + plans[g].pow(2).sum();
      return l;
    };
    for (const auto& [p, scale] : soft.parameters())
      if (p.grad().defined()) p.mutable_grad().zero_();
    torch::autograd::backward({loss()});
    const double eps = 1e-6;
    int checked = 0;
    for (const auto& [p, scale] : soft.parameters()) {
      QVERIFY(p.grad().defined());
      const at::Tensor flat = p.view({-1});
      const at::Tensor grad = p.grad().reshape({-1});
      for (int64_t k = 0; k < flat.numel(); k += std::max<int64_t>(1, flat.numel() / 7)) {
        double plus, minus;
        {
          at::NoGradGuard no_grad;
          flat[k] += eps;
          plus = loss().item<double>();
          flat[k] -= 2 * eps;
          minus = loss().item<double>();
          flat[k] += eps;
        }
        const double fd = (plus - minus) / (2 * eps), an = grad[k].item<double>();
        QVERIFY2(std::abs(fd - an) <= 1e-6 + 1e-5 * std::abs(fd),
                 qPrintable(QString("entry %1: analytic %2, finite differences %3").arg(k).arg(an).arg(fd)));
        ++checked;
      }
    }
    QVERIFY(checked >= 20);
  }
};

QTEST_GUILESS_MAIN(TestSoftPlans)
#include "tst_soft_plans.moc"
