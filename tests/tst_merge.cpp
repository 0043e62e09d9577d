// Merging in core (align/merge.h, eval/repair.h): REPAIR gives a constructed average exactly the
// interpolated statistics of its endpoints, on MLP, VGG (with and without BatchNorm) and ResNet;
// universe alignment of randomly permuted copies of one model finds the hidden permutations
// exactly (Frank-Wolfe bringing a copy that starts from the identity into the universe, and the
// whole merge from its star start) and its pairwise maps are cycle-consistent; merging a model
// with itself returns the model; pairwise alignments of distinct models can be inconsistent and
// cycle_error sees it; weights are checked.
#include <QtTest/QtTest>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <vector>

#include "align/merge.h"
#include "common/error.h"
#include "data/dataset.h"
#include "eval/interpolation.h"
#include "eval/repair.h"
#include "nn/architecture.h"
#include "nn/permute.h"
#include "ot/permutation.h"
#include "test_util.h"

using namespace rebasin;

Q_DECLARE_METATYPE(std::vector<double>)

namespace {

data::Dataset random_set(const nn::Architecture& arch, std::int64_t n, std::uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<std::int64_t> shape = {n};
  shape.insert(shape.end(), arch.io().input_shape.begin(), arch.io().input_shape.end());
  data::Dataset d;
  d.inputs = at::randn(shape, gen, at::kFloat);
  d.targets = at::randint(arch.io().outputs, {n}, gen, at::kLong);
  d.num_classes = arch.io().outputs;
  d.name = "random";
  return d;
}

double max_rel(const NamedTensors& a, const NamedTensors& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (at::isFloatingType(a[i].tensor.scalar_type()))
      worst = std::max(worst, test::rel_error(a[i].tensor, b[i].tensor));
  return worst;
}

std::unique_ptr<nn::Architecture> make(const QString& arch) {
  nn::ModelIO io;
  io.input_shape = {3, 8, 8};
  io.outputs = 5;
  return nn::make_architecture(arch.toStdString(), io);
}

// Norm scales and shifts away from init()'s ones and zeros, and BatchNorm running statistics as
// training would leave them, so that the endpoints' norm layers differ.
NamedTensors trained_norms(const nn::Architecture& arch, NamedTensors p, const data::Dataset& d, std::uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (std::size_t i = 0; i < p.size(); ++i) {
    const auto& ps = arch.spec().params()[i];
    if (ps.buffer || ps.shape.size() != 1) continue;
    if (ps.init == nn::Init::Ones) p[i].tensor = at::empty(ps.shape, at::kFloat).uniform_(0.5, 1.5, gen);
    if (ps.init == nn::Init::Zeros) p[i].tensor = at::randn(ps.shape, gen, at::kFloat) * 0.5;
  }
  return eval::reset_batchnorm(arch, std::move(p), d, 256, 0, 64);
}

// max |a - b| relative to a scale (a mean near 0 has no scale of its own).
double error_on_scale(const at::Tensor& a, const at::Tensor& b, const at::Tensor& scale) {
  return (a - b).abs().max().item<double>() / scale.abs().max().item<double>();
}

}  // namespace

class TestMerge : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void repair_restores_statistics_data() {
    QTest::addColumn<QString>("arch_name");
    QTest::newRow("mlp") << "mlp:12,24,16,5";
    QTest::newRow("mlp tanh") << "mlp:12,24,16,5:tanh";
    QTest::newRow("vgg") << "vgg:8,M,16";
    QTest::newRow("vgg bn") << "vgg:8,M,16:bn";
    QTest::newRow("resnet") << "resnet20x1";
    QTest::newRow("resnet ln") << "resnet20x1:ln";
  }
  void repair_restores_statistics() {
    QFETCH(QString, arch_name);
    const auto arch = make(arch_name);
    QVERIFY(eval::repair_supported(*arch));
    const data::Dataset d = random_set(*arch, 256, 3);
    const NamedTensors a = trained_norms(*arch, arch->init(1), d, 11), b = trained_norms(*arch, arch->init(2), d, 12);
    // Every sample, in batches that do not divide it: the statistics are pooled exactly.
    eval::RepairOptions o;
    o.samples = 256;
    o.batch_size = 100;
    const std::vector<eval::UnitStatistics> ends = {eval::unit_statistics(*arch, a, d, o),
                                                    eval::unit_statistics(*arch, b, d, o)};
    QVERIFY(!ends[0].layers.empty());
    const double lambda = 0.3;
    const NamedTensors mid = eval::interpolate(a, b, lambda);
    const eval::UnitStatistics before = eval::unit_statistics(*arch, mid, d, o);
    const NamedTensors fixed = eval::repair(*arch, mid, ends, {1 - lambda, lambda}, d, o);
    const eval::UnitStatistics after = eval::unit_statistics(*arch, fixed, d, o);
    QCOMPARE(after.layers, ends[0].layers);
    double lost = 0;
    for (std::size_t k = 0; k < after.layers.size(); ++k) {
      const at::Tensor mean_t = (1 - lambda) * ends[0].mean[k] + lambda * ends[1].mean[k];
      const at::Tensor std_t = (1 - lambda) * ends[0].stdev[k] + lambda * ends[1].stdev[k];
      QVERIFY2(error_on_scale(after.mean[k], mean_t, std_t) < 1e-4, after.layers[k].c_str());
      QVERIFY2(error_on_scale(after.stdev[k], std_t, std_t) < 1e-4, after.layers[k].c_str());
      lost = std::max(lost, test::rel_error(before.stdev[k], std_t));
    }
    // The average (with its interpolated running statistics) was off (else the test would prove
    // nothing).
    QVERIFY(lost > 1e-2);
    // The inputs are untouched.
    QCOMPARE(max_rel(mid, eval::interpolate(a, b, lambda)), 0.0);
  }

  void repair_of_an_endpoint_is_the_endpoint() {
    const auto arch = make("mlp:12,24,16,5");
    const data::Dataset d = random_set(*arch, 300, 4);
    const NamedTensors a = arch->init(1), b = arch->init(2);
    const std::vector<eval::UnitStatistics> ends = {eval::unit_statistics(*arch, a, d), eval::unit_statistics(*arch, b, d)};
    QVERIFY(max_rel(eval::repair(*arch, a, ends, {1.0, 0.0}, d), a) < 1e-5);
    const eval::RepairedLine line(*arch, a, b, d);
    QVERIFY(max_rel(line.at(1.0), b) < 1e-5);
  }

  void universe_recovers_hidden_permutations_data() {
    QTest::addColumn<QString>("arch");
    // Weight matching (the star) stalls on this small VGG, whose 512-unit classifier dwarfs its
    // convolutions: the last conv's group and the classifier's are each matched to the other's
    // wrong order (`rebasin recover --arch vgg:8,M,16 --method weight --seed 5 --input 3,8,8`).
    QTest::addColumn<bool>("star_recovers");
    QTest::newRow("mlp") << "mlp:16,32,24,6" << true;
    QTest::newRow("vgg bn") << "vgg:8,M,16:bn" << false;
    QTest::newRow("resnet") << "resnet20x1" << true;
  }
  void universe_recovers_hidden_permutations() {
    QFETCH(QString, arch);
    QFETCH(bool, star_recovers);
    const auto a = make(arch);
    const auto& spec = a->spec();
    const NamedTensors base = a->init(5);
    std::vector<NamedTensors> copies;
    std::vector<std::vector<at::Tensor>> hidden;
    for (std::uint64_t s = 0; s < 4; ++s) {
      hidden.push_back(nn::random_permutations(spec, 100 + s));
      copies.push_back(nn::permute(spec, base, hidden.back()));
    }
    std::vector<std::vector<at::Tensor>> truth;  // each copy back into the base's frame
    for (const auto& h : hidden) {
      std::vector<at::Tensor> inverse;
      for (const at::Tensor& p : h) inverse.push_back(ot::inverse_permutation(p));
      truth.push_back(inverse);
    }
    const std::vector<double> w(copies.size(), 0.25);
    // Three copies start in the universe, the last from the identity: Frank-Wolfe itself must
    // bring it there (the objective is not concave, so a start far from every good vertex can
    // end in a local optimum; merge starts from the star alignment).
    align::ModelPermutations start = truth;
    start.back() = nn::identity_permutations(spec);
    const align::UniverseResult u = align::universe_alignment(spec, copies, w, start, 200);
    QVERIFY(u.steps > 0);
    QVERIFY(u.objective > u.objective_start);
    QCOMPARE(u.objective, align::universe_objective(spec, copies, w, truth));
    for (std::size_t i = 0; i < copies.size(); ++i)
      QCOMPARE(max_rel(nn::permute(spec, copies[i], u.perms[i]), copies[0]), 0.0);
    QCOMPARE(align::cycle_error(align::pairwise_from_frame(u.perms)), 0.0);
    for (std::size_t g = 0; g < spec.groups().size(); ++g)
      QVERIFY(at::equal(u.perms[0][g], at::arange(spec.groups()[g].size, at::kLong)));
    // From the identity everywhere it still only climbs, and its maps share one frame.
    const align::ModelPermutations identity(copies.size(), nn::identity_permutations(spec));
    const align::UniverseResult v = align::universe_alignment(spec, copies, w, identity, 20);
    QVERIFY(v.objective > v.objective_start);
    QCOMPARE(align::cycle_error(align::pairwise_from_frame(v.perms)), 0.0);
    // The whole merge (star start, then the universe) recovers the model.
    align::MergeOptions o;
    o.align.method = align::Method::Weight;
    o.target = align::MergeTarget::Universe;
    const align::MergeResult r = align::merge(*a, copies, nullptr, o);
    QVERIFY(r.objective >= r.objective_start);
    if (star_recovers) QVERIFY(max_rel(r.merged, copies[0]) < 1e-6);
  }

  void sinkhorn_universe_recovers_permuted_copies() {
    // Four permuted copies of one model; the last starts from the identity, far from the others'
    // frame: optimising all soft plans together must bring it there, exactly.
    const auto a = make("mlp:20,64,64,5");
    const auto& spec = a->spec();
    const NamedTensors base = a->init(5);
    std::vector<NamedTensors> copies;
    align::ModelPermutations truth;
    for (std::uint64_t s = 0; s < 4; ++s) {
      const std::vector<at::Tensor> hidden = nn::random_permutations(spec, 200 + s);
      copies.push_back(nn::permute(spec, base, hidden));
      std::vector<at::Tensor> inverse;
      for (const at::Tensor& p : hidden) inverse.push_back(ot::inverse_permutation(p));
      truth.push_back(inverse);
    }
    const std::vector<double> w(copies.size(), 0.25);
    align::ModelPermutations start = truth;
    start.back() = nn::identity_permutations(spec);
    align::AlignOptions o;
    o.patience = 0;  // every step: from the identity the way up has plateaus (docs/results.md)
    const align::UniverseResult u = align::sinkhorn_universe(spec, copies, w, start, 300, o);
    QVERIFY(u.steps > 0);
    QVERIFY(u.objective > u.objective_start);
    QCOMPARE(u.objective, align::universe_objective(spec, copies, w, truth));
    for (std::size_t i = 0; i < copies.size(); ++i)
      QCOMPARE(max_rel(nn::permute(spec, copies[i], u.perms[i]), copies[0]), 0.0);
    QCOMPARE(align::cycle_error(align::pairwise_from_frame(u.perms)), 0.0);
    for (std::size_t g = 0; g < spec.groups().size(); ++g)
      QVERIFY(at::equal(u.perms[0][g], at::arange(spec.groups()[g].size, at::kLong)));
    // Never below its start, and through merge() by name.
    align::MergeOptions mo;
    mo.align.method = align::Method::Weight;
    mo.target = align::parse_merge_target("universe-sinkhorn");
    QCOMPARE(align::to_string(mo.target), std::string("universe-sinkhorn"));
    const align::MergeResult r = align::merge(*a, copies, nullptr, mo);
    QVERIFY(r.objective >= r.objective_start);
    QCOMPARE(align::cycle_error(align::pairwise_from_frame(r.perms)), 0.0);
    QVERIFY_THROWS_EXCEPTION(UserError, align::parse_merge_target("universal"));
  }

  void merge_of_identical_models_is_the_model_data() {
    QTest::addColumn<QString>("target");
    QTest::addColumn<bool>("repair");
    QTest::newRow("star") << "first" << false;
    QTest::newRow("universe") << "universe" << false;
    QTest::newRow("star repair") << "first" << true;
    QTest::newRow("universe repair") << "universe" << true;
    QTest::newRow("universe-sinkhorn") << "universe-sinkhorn" << false;
  }
  void merge_of_identical_models_is_the_model() {
    QFETCH(QString, target);
    QFETCH(bool, repair);
    const auto arch = make("mlp:12,24,16,5");
    const data::Dataset d = random_set(*arch, 300, 6);
    const NamedTensors m = arch->init(9);
    align::MergeOptions o;
    o.align.method = align::Method::Weight;
    o.target = align::parse_merge_target(target.toStdString());
    o.repair = repair;
    o.weights = {1, 2, 1};
    const align::MergeResult r = align::merge(*arch, {m, m, m}, &d, o);
    QVERIFY(max_rel(r.merged, m) < (repair ? 1e-5 : 1e-7));
    QCOMPARE(r.weights, (std::vector<double>{0.25, 0.5, 0.25}));
  }

  void universe_is_consistent_where_pairs_are_not() {
    // Distinct random models: pairwise weight matching has no common frame to find.
    const auto arch = make("mlp:16,48,48,6");
    std::vector<NamedTensors> models;
    for (std::uint64_t s = 0; s < 4; ++s) models.push_back(arch->init(20 + s));
    align::AlignOptions ao;
    ao.method = align::Method::Weight;
    const auto pairwise = align::pairwise_alignments(*arch, models, nullptr, ao);
    QVERIFY(align::cycle_error(pairwise) > 0.0);
    align::MergeOptions o;
    o.align = ao;
    o.target = align::MergeTarget::Universe;
    const align::MergeResult r = align::merge(*arch, models, nullptr, o);
    QCOMPARE(align::cycle_error(align::pairwise_from_frame(r.perms)), 0.0);
    QVERIFY(r.objective >= r.objective_start);
    QVERIFY(std::isnan(align::cycle_error(align::pairwise_from_frame({r.perms[0], r.perms[1]}))));
  }

  void weights_are_checked_data() {
    QTest::addColumn<std::vector<double>>("weights");
    QTest::addColumn<QString>("message");
    QTest::newRow("count") << std::vector<double>{1, 1} << "2 weights for 3 models";
    QTest::newRow("negative") << std::vector<double>{1, -1, 1} << ">= 0";
    QTest::newRow("nan") << std::vector<double>{1, NAN, 1} << "finite";
    QTest::newRow("inf") << std::vector<double>{1, INFINITY, 1} << "finite";
    QTest::newRow("zero sum") << std::vector<double>{0, 0, 0} << "sum to 0";
  }
  void weights_are_checked() {
    QFETCH(std::vector<double>, weights);
    QFETCH(QString, message);
    try {
      align::merge_weights(weights, 3);
      QFAIL("no error");
    } catch (const UserError& e) {
      QVERIFY2(QString(e.what()).contains(message), e.what());
    }
  }

  void one_model_is_an_error() {
    const auto arch = make("mlp:12,24,16,5");
    QVERIFY_THROWS_EXCEPTION(UserError, align::merge(*arch, {arch->init(1)}, nullptr, {}));
  }
};

QTEST_GUILESS_MAIN(TestMerge)
#include "tst_merge.moc"
