// Linear mode connectivity measurements (core/eval/interpolation.h): interpolation endpoints,
// barrier and area on curves whose values are known in closed form, BatchNorm statistics
// recovered from garbage buffers, the landscape plane's coordinates and grid, events in order,
// cancellation and clean errors.
#include <QtTest/QtTest>

#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "common/error.h"
#include "data/dataset.h"
#include "eval/evaluate.h"
#include "eval/interpolation.h"
#include "nn/architecture.h"
#include "nn/permute.h"
#include "test_util.h"

using namespace rebasin;

namespace {

at::Tensor find(const NamedTensors& set, const std::string& name) {
  for (const auto& t : set)
    if (t.name == name) return t.tensor;
  throw std::runtime_error("no tensor " + name);
}

void set(NamedTensors& params, const std::string& name, double value) {
  for (auto& t : params)
    if (t.name == name) t.tensor = at::full_like(t.tensor, value);
}

struct Recorder : EventSink {
  std::vector<CurvePoint> points;
  std::vector<LandscapeRow> rows;
  std::vector<ProgressEvent> progress_events;
  CancelToken* cancel_after_rows = nullptr;
  std::size_t cancel_after_points = 0;
  CancelToken* cancel_points = nullptr;
  void curve(const CurvePoint& p) override {
    points.push_back(p);
    if (cancel_points && points.size() == cancel_after_points) cancel_points->cancel();
  }
  void landscape(const LandscapeRow& r) override {
    rows.push_back(r);
    if (cancel_after_rows) cancel_after_rows->cancel();
  }
  void progress(const ProgressEvent& e) override { progress_events.push_back(e); }
};

// x on [-2, 2], y = tanh(x): the regression set for the hand-built tanh curve.
data::Dataset tanh_set() {
  data::Dataset d;
  d.inputs = at::linspace(-2.0, 2.0, 101, at::kFloat).reshape({101, 1});
  d.targets = at::tanh(d.inputs);
  d.name = "tanh";
  return d;
}

const data::Splits& digits() {
  static const data::Splits s = data::load_dataset("digits");
  return s;
}

nn::ModelIO digits_io() {
  nn::ModelIO io;
  io.input_shape = {1, 8, 8};
  io.outputs = 10;
  return io;
}

}  // namespace

class TestInterpolation : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void endpointsAndMidpoint() {
    const auto arch = nn::make_architecture("vgg:4,M,8:bn", digits_io());
    NamedTensors a = arch->init(1), b = arch->init(2);
    set(b, "features.1.running_mean", 3.0);
    set(b, "features.1.num_batches_tracked", 7);
    const NamedTensors at0 = eval::interpolate(a, b, 0.0), at1 = eval::interpolate(a, b, 1.0);
    const NamedTensors mid = eval::interpolate(a, b, 0.5);
    for (std::size_t i = 0; i < a.size(); ++i) {
      QVERIFY(at::equal(at0[i].tensor, a[i].tensor));
      if (a[i].name.find("num_batches_tracked") != std::string::npos) {
        QVERIFY(at::equal(at1[i].tensor, a[i].tensor));  // integer buffers come from a
        continue;
      }
      QVERIFY2(at::equal(at1[i].tensor, b[i].tensor), a[i].name.c_str());
      QVERIFY(at::allclose(mid[i].tensor, 0.5 * (a[i].tensor + b[i].tensor), 1e-6, 1e-7));
    }
    QVERIFY(at::allclose(find(mid, "features.1.running_mean"), at::full({4}, 1.5)));
  }

  void statisticsOfAHandBuiltCurve() {
    // Excess over the line: 0, 1.5, 0 -> barrier 1.5, trapezoid area 2 * 0.5 * 0.75 = 0.75.
    eval::Curve c;
    c.lambdas = {0.0, 0.5, 1.0};
    c.loss = {1.0, 3.0, 2.0};
    eval::curve_statistics(c);
    QCOMPARE(c.barrier, 1.5);
    QCOMPARE(c.area, 0.75);
    c.loss = {2.0, 0.0, 2.0};  // better than the line: barrier 0 (endpoints), negative area
    eval::curve_statistics(c);
    QCOMPARE(c.barrier, 0.0);
    QCOMPARE(c.area, -1.0);
  }

  void tanhCurveIsKnownExactly() {
    // f(x) = w2 tanh(w1 x): A = (1, 1) and B = (-1, -1) compute the same function (tanh is
    // odd), so L(0) = L(1) = 0 on y = tanh(x); theta(l) = s (1, 1) with s = 1 - 2l gives
    // L(l) = mean((s tanh(s x) - tanh x)^2), and the barrier is L(1/2) = mean(tanh(x)^2).
    const auto arch = nn::make_architecture("mlp:1,1,1:tanh");
    NamedTensors a = arch->init(0);
    for (auto& t : a) t.tensor = t.name.find("bias") != std::string::npos ? at::zeros_like(t.tensor) : at::ones_like(t.tensor);
    NamedTensors b = a;
    for (auto& t : b) t.tensor = -t.tensor;
    const data::Dataset d = tanh_set();
    Recorder rec;
    const eval::Curve c = eval::interpolation_curve(*arch, a, b, d, nullptr, 25, &rec, "tanh", nullptr, "train");
    QCOMPARE(int(c.lambdas.size()), 25);
    QCOMPARE(c.lambdas.front(), 0.0);
    QCOMPARE(c.lambdas.back(), 1.0);
    const at::Tensor x = d.inputs.to(at::kDouble), y = at::tanh(x);
    double direct_max = -1e300;
    for (std::size_t i = 0; i < c.lambdas.size(); ++i) {
      const double s = 1.0 - 2.0 * c.lambdas[i];
      const double expected = (s * at::tanh(s * x) - y).pow(2).mean().item<double>();
      QVERIFY2(std::abs(c.loss[i] - expected) < 1e-6, std::to_string(i).c_str());
      QVERIFY(std::isnan(c.accuracy[i]));
      direct_max = std::max(direct_max, c.loss[i] - ((1 - c.lambdas[i]) * c.loss.front() + c.lambdas[i] * c.loss.back()));
    }
    QCOMPARE(c.barrier, direct_max);
    QVERIFY(std::abs(c.barrier - y.pow(2).mean().item<double>()) < 1e-6);
    QVERIFY(c.area > 0);
    QCOMPARE(int(rec.points.size()), 25);
    QCOMPARE(rec.points[12].curve, std::string("tanh"));
    QCOMPARE(rec.points[12].split, std::string("train"));
    QCOMPARE(rec.points[12].lambda, 0.5);
    QCOMPARE(int(rec.progress_events.size()), 25);
    QCOMPARE(rec.progress_events.back().fraction, 1.0);
    QCOMPARE(rec.progress_events.back().stage, std::string("interpolate"));
  }

  void sameModelIsFlat() {
    const auto arch = nn::make_architecture("mlp:64,16,10");
    const NamedTensors a = arch->init(3);
    const data::Dataset& test = digits().test;
    const eval::Curve c = eval::interpolation_curve(*arch, a, a, test, nullptr, 5);
    const eval::Metrics m = eval::evaluate(*arch, a, test);
    for (std::size_t i = 0; i < 5; ++i) {
      QCOMPARE(c.loss[i], m.loss);
      QCOMPARE(c.accuracy[i], m.accuracy);
    }
    QCOMPARE(c.barrier, 0.0);
    QCOMPARE(c.area, 0.0);
  }

  void batchnormResetRecoversDataStatistics() {
    const auto arch = nn::make_architecture("vgg:4,M,8:bn", digits_io());
    NamedTensors params = arch->init(5);
    set(params, "features.1.running_mean", 5.0);   // garbage buffers
    set(params, "features.1.running_var", 100.0);
    set(params, "features.5.running_mean", -3.0);
    const at::Tensor caller_mean = find(params, "features.1.running_mean");
    const data::Dataset& train = digits().train;  // 1500 samples: 6 batches of 250
    const NamedTensors reset = eval::reset_batchnorm(*arch, params, train, 1500, 9, 250);

    // The first BatchNorm sees conv(x): its running mean is the data mean per channel, its
    // variance the mean of the six batches' unbiased variances.
    const at::Tensor x = train.inputs.to(at::kDouble);
    auto conv = [&](const at::Tensor& in) {
      return at::conv2d(in, find(params, "features.0.weight").to(at::kDouble),
                        find(params, "features.0.bias").to(at::kDouble), {1, 1}, {1, 1});
    };
    const at::Tensor mean = conv(x).mean({0, 2, 3});
    QVERIFY2(test::rel_error(find(reset, "features.1.running_mean"), mean) < 1e-5,
             std::to_string(test::rel_error(find(reset, "features.1.running_mean"), mean)).c_str());
    at::Tensor var = at::zeros({4}, at::kDouble);
    for (const at::Tensor& idx : data::batch_indices(1500, 250, true, 9))
      var += conv(x.index_select(0, idx)).transpose(0, 1).reshape({4, -1}).var(1, /*unbiased=*/true);
    QVERIFY(test::rel_error(find(reset, "features.1.running_var"), var / 6) < 1e-5);
    QCOMPARE(find(reset, "features.1.num_batches_tracked").item<std::int64_t>(), std::int64_t(6));
    QVERIFY(std::abs(find(reset, "features.5.running_mean").mean().item<double>() + 3.0) > 1e-3);
    QVERIFY(at::equal(caller_mean, at::full({4}, 5.0)));  // the caller's buffers are untouched
    QVERIFY(find(reset, "features.0.weight").is_same(find(params, "features.0.weight")));

    // A BatchNorm curve with resets runs and is finite.
    const NamedTensors other = arch->init(6);
    const eval::Curve c = eval::interpolation_curve(*arch, params, other, digits().test, &train, 3);
    for (double l : c.loss) QVERIFY(std::isfinite(l));

    // Without BatchNorm nothing changes.
    const auto mlp = nn::make_architecture("mlp:64,16,10");
    const NamedTensors m = mlp->init(1);
    const NamedTensors same = eval::reset_batchnorm(*mlp, m, train);
    for (std::size_t i = 0; i < m.size(); ++i) QVERIFY(same[i].tensor.is_same(m[i].tensor));
  }

  void planeReconstructsItsPoints() {
    const auto arch = nn::make_architecture("vgg:4,M,8:bn", digits_io());
    const NamedTensors a = arch->init(1), b = arch->init(2);
    const NamedTensors pb = nn::permute(arch->spec(), b, nn::random_permutations(arch->spec(), 3));
    const eval::ParameterPlane plane(a, b, pb);
    const auto pts = plane.points();
    QCOMPARE(pts[0].first, 0.0);
    QCOMPARE(pts[1].second, 0.0);
    QVERIFY(pts[2].second > 0);
    const NamedTensors* sets[3] = {&a, &b, &pb};
    for (int k = 0; k < 3; ++k) {
      const NamedTensors r = plane.params_at(pts[k].first, pts[k].second);
      for (std::size_t i = 0; i < r.size(); ++i) {
        if (!at::isFloatingType(r[i].tensor.scalar_type())) continue;
        const double err = (r[i].tensor - (*sets[k])[i].tensor).abs().max().item<double>();
        QVERIFY2(err < 1e-5, (r[i].name + " of point " + std::to_string(k)).c_str());
      }
    }
  }

  void landscapeGridAndEvents() {
    // grid 8 with 20% padding: the bounding box edges are grid lines (step = 0.2 x extent), so
    // A = (0, 0) and B = (|B - A|, 0) are grid points when pi(B) projects between them.
    const auto arch = nn::make_architecture("mlp:64,16,10");
    const NamedTensors a = arch->init(1), b = arch->init(2);
    const NamedTensors pb = nn::permute(arch->spec(), b, nn::random_permutations(arch->spec(), 4));
    const data::Dataset& test = digits().test;
    Recorder rec;
    const eval::Landscape l = eval::loss_landscape(*arch, a, b, pb, test, nullptr, 8, &rec);
    QCOMPARE(l.grid, 8);
    QCOMPARE(int(l.xs.size()), 8);
    QCOMPARE(int(l.loss.size()), 8);
    for (const auto& row : l.loss) QCOMPARE(int(row.size()), 8);
    QCOMPARE(int(rec.rows.size()), 8);
    for (int r = 0; r < 8; ++r) {
      QCOMPARE(rec.rows[r].row, r);
      QCOMPARE(rec.rows[r].rows, 8);
      QCOMPARE(rec.rows[r].loss, l.loss[r]);
    }
    QCOMPARE(rec.progress_events.back().stage, std::string("landscape"));
    const double proj = l.points[2].first;
    QVERIFY2(proj > 0 && proj < l.points[1].first, "pi(B) should project between A and B here");
    QVERIFY(std::abs(l.xs[1]) < 1e-9 * l.points[1].first);
    QVERIFY(std::abs(l.ys[1]) < 1e-9 * l.points[2].second);
    QVERIFY(std::abs(l.xs[6] - l.points[1].first) < 1e-9 * l.points[1].first);
    QVERIFY(std::abs(l.ys[6] - l.points[2].second) < 1e-9 * l.points[2].second);
    const eval::Metrics ma = eval::evaluate(*arch, a, test), mb = eval::evaluate(*arch, b, test);
    QVERIFY(std::abs(l.loss[1][1] - ma.loss) < 1e-5 * ma.loss);
    QVERIFY(std::abs(l.loss[1][6] - mb.loss) < 1e-5 * mb.loss);
    QCOMPARE(l.accuracy[1][1], ma.accuracy);
    QCOMPARE(l.accuracy[1][6], mb.accuracy);
  }

  void cancellation() {
    const auto arch = nn::make_architecture("mlp:64,16,10");
    const NamedTensors a = arch->init(1), b = arch->init(2);
    const NamedTensors pb = nn::permute(arch->spec(), b, nn::random_permutations(arch->spec(), 4));
    CancelToken token;
    Recorder rec;
    rec.cancel_after_rows = &token;
    QVERIFY_EXCEPTION_THROWN(eval::loss_landscape(*arch, a, b, pb, digits().test, nullptr, 5, &rec, &token),
                             Cancelled);
    QCOMPARE(int(rec.rows.size()), 1);  // stopped within one row
    CancelToken token2;
    Recorder rec2;
    rec2.cancel_points = &token2;
    rec2.cancel_after_points = 3;
    QVERIFY_EXCEPTION_THROWN(eval::interpolation_curve(*arch, a, b, digits().test, nullptr, 25, &rec2, "", &token2),
                             Cancelled);
    QCOMPARE(int(rec2.points.size()), 3);
  }

  void errors() {
    const auto arch = nn::make_architecture("mlp:64,16,10");
    const auto wide = nn::make_architecture("mlp:64,32,10");
    const NamedTensors a = arch->init(1), b = arch->init(2), w = wide->init(2);
    const data::Dataset& test = digits().test;
    QVERIFY_EXCEPTION_THROWN(eval::interpolate(a, w, 0.5), UserError);
    QVERIFY_EXCEPTION_THROWN(eval::interpolation_curve(*arch, a, b, test, nullptr, 1), UserError);
    QVERIFY_EXCEPTION_THROWN(eval::loss_landscape(*arch, a, b, b, test, nullptr, 5), UserError);  // collinear
    QVERIFY_EXCEPTION_THROWN(eval::loss_landscape(*arch, a, a, b, test, nullptr, 5), UserError);  // A == B
    const NamedTensors pb = nn::permute(arch->spec(), b, nn::random_permutations(arch->spec(), 4));
    QVERIFY_EXCEPTION_THROWN(eval::loss_landscape(*arch, a, b, pb, test, nullptr, 2), UserError);
    QVERIFY_EXCEPTION_THROWN(eval::loss_landscape(*arch, a, b, pb, test, nullptr, 202), UserError);
    try {
      eval::interpolate(a, w, 0.5);
    } catch (const UserError& e) {
      QVERIFY2(std::string(e.what()).find("fc1") != std::string::npos, e.what());
    }
  }
};

QTEST_GUILESS_MAIN(TestInterpolation)
#include "tst_interpolation.moc"
