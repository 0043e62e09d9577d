// Every built-in architecture: a random permutation of its hidden units (through its spec)
// leaves the outputs unchanged - the test the peers' residual specs fail - in eval and train
// mode; soft permutation matrices agree with index vectors; specs round-trip through JSON.
#include <QtTest/QtTest>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/runtime.h"
#include "nn/architecture.h"
#include "nn/permute.h"
#include "ot/permutation.h"

using namespace rebasin;
using namespace rebasin::nn;

namespace {

double rel_diff(const at::Tensor& a, const at::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item<double>();
}

// Running statistics away from their (permutation-symmetric) defaults, so the test sees them.
NamedTensors with_random_buffers(const Architecture& arch, NamedTensors params) {
  for (auto& [name, t] : params) {
    const ParamSpec* ps = arch.spec().find(name);
    if (!ps->buffer || t.scalar_type() == at::kLong) continue;
    t = name.find("running_var") != std::string::npos ? at::rand(t.sizes()) + 0.5 : at::randn(t.sizes());
  }
  return params;
}

NamedTensors clone(const NamedTensors& p) {
  NamedTensors out;
  for (const auto& [n, t] : p) out.push_back({n, t.clone()});
  return out;
}

}  // namespace

class TestArchitectures : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    configure_threads(2);
    at::manual_seed(0);
  }

  void permutationInvariance_data() {
    QTest::addColumn<QString>("arch");
    QTest::addColumn<QList<int>>("input");  // C, H, W (empty: from the ARCH string)
    QTest::newRow("mlp relu") << "mlp:20,16,12,5" << QList<int>{};
    QTest::newRow("mlp tanh") << "mlp:20,16,12,5:tanh" << QList<int>{};
    QTest::newRow("mlp gelu") << "mlp:20,16,12,5:gelu" << QList<int>{};
    QTest::newRow("mlp 784-512-512-10") << "mlp:784,512,512,10" << QList<int>{};
    QTest::newRow("vgg custom") << "vgg:8,M,16,M,32" << QList<int>{1, 16, 16};
    QTest::newRow("vgg custom bn") << "vgg:8,M,16,M,32:bn" << QList<int>{1, 28, 28};
    QTest::newRow("vgg11") << "vgg11" << QList<int>{3, 32, 32};
    QTest::newRow("vgg11 bn") << "vgg11:bn" << QList<int>{3, 32, 32};
    QTest::newRow("vgg13") << "vgg13" << QList<int>{3, 32, 32};
    QTest::newRow("vgg16 bn") << "vgg16:bn" << QList<int>{3, 32, 32};
    QTest::newRow("vgg19") << "vgg19" << QList<int>{3, 32, 32};
    QTest::newRow("resnet20x1") << "resnet20x1" << QList<int>{3, 32, 32};
    QTest::newRow("resnet20x2 layernorm") << "resnet20x2:ln" << QList<int>{3, 32, 32};
    QTest::newRow("resnet18") << "resnet18" << QList<int>{3, 32, 32};
    QTest::newRow("tv:resnet18:w8") << "tv:resnet18:w8" << QList<int>{3, 40, 36};
    QTest::newRow("tv:resnet34:w4 1 channel") << "tv:resnet34:w4" << QList<int>{1, 28, 28};
    // 64x64: at 32x32 stage 4 is 1x1, and train-mode BN over 6 values per channel amplifies
    // float rounding 50 layers deep to ~5e-5.
    QTest::newRow("tv:resnet50:w4") << "tv:resnet50:w4" << QList<int>{3, 64, 64};
    QTest::newRow("tv:vgg11:w8:h16") << "tv:vgg11:w8:h16" << QList<int>{3, 32, 32};
    QTest::newRow("tv:vgg13_bn:w4:h16") << "tv:vgg13_bn:w4:h16" << QList<int>{3, 64, 48};
  }

  void permutationInvariance() {
    QFETCH(QString, arch);
    QFETCH(QList<int>, input);
    ModelIO io;
    if (!input.isEmpty()) io.input_shape = {input[0], input[1], input[2]};
    const auto model = make_architecture(arch.toStdString(), io);
    model->spec().validate();
    const NamedTensors params = with_random_buffers(*model, model->init(1));
    std::vector<std::int64_t> xs = {6};
    xs.insert(xs.end(), model->io().input_shape.begin(), model->io().input_shape.end());
    const at::Tensor x = at::randn(xs);
    const auto perms = random_permutations(model->spec(), 7);
    const NamedTensors permuted = permute(model->spec(), params, perms);

    const at::Tensor y = model->forward(params, x);
    QCOMPARE(y.size(0), 6);
    QCOMPARE(y.size(1), model->io().outputs);
    // The permutation really moved something...
    bool moved = false;
    for (std::size_t i = 0; i < params.size(); ++i) moved |= !at::equal(params[i].tensor, permuted[i].tensor);
    QVERIFY(moved);
    // ...and the function is unchanged, with running statistics (eval) and batch statistics (train).
    QVERIFY2(rel_diff(model->forward(permuted, x), y) < 1e-5,
             qPrintable(QString::number(rel_diff(model->forward(permuted, x), y))));
    if (model->has_batchnorm()) {
      const at::Tensor yt = model->forward(clone(params), x, true);
      const double dt = rel_diff(model->forward(clone(permuted), x, true), yt);
      QVERIFY2(dt < 1e-5, qPrintable(QString::number(dt)));
    }
    // Undo with the inverse permutations.
    std::vector<at::Tensor> inverse;
    for (const auto& p : perms) inverse.push_back(ot::inverse_permutation(p));
    const NamedTensors back = permute(model->spec(), permuted, inverse);
    for (std::size_t i = 0; i < params.size(); ++i) QVERIFY(at::equal(back[i].tensor, params[i].tensor));
  }

  void softMatricesMatchIndices() {
    const auto model = make_architecture("vgg:4,M,6:bn", ModelIO{{2, 8, 8}, 3});
    const NamedTensors params = with_random_buffers(*model, model->init(2));
    const auto perms = random_permutations(model->spec(), 3);
    std::vector<at::Tensor> matrices;
    for (const auto& p : perms) matrices.push_back(ot::permutation_matrix(p, at::kFloat));
    const NamedTensors a = permute(model->spec(), params, perms);
    const NamedTensors b = permute(model->spec(), params, matrices);
    for (std::size_t i = 0; i < a.size(); ++i) QVERIFY(at::allclose(a[i].tensor.to(at::kFloat), b[i].tensor.to(at::kFloat)));
  }

  void softPermutationIsDifferentiable() {
    const auto model = make_architecture("mlp:5,4,3");
    const NamedTensors params = model->init(4);
    at::Tensor P = (at::eye(4) * 0.7 + 0.075).requires_grad_(true);
    const NamedTensors mixed = permute(model->spec(), params, {P});
    const at::Tensor loss = model->forward(mixed, at::randn({2, 5})).pow(2).sum();
    loss.backward();
    QVERIFY(P.grad().defined());
    QVERIFY(P.grad().abs().sum().item<double>() > 0);
  }

  void specJsonRoundTrip() {
    for (const char* arch : {"mlp:10,8,4", "vgg:4,M,8:bn", "resnet20x1"}) {
      const auto model = make_architecture(arch, ModelIO{{3, 8, 8}, 10});
      const nlohmann::json j = model->spec().to_json();
      const PermutationSpec back = PermutationSpec::from_json(nlohmann::json::parse(j.dump()));
      QCOMPARE(back.to_json(), j);
      QCOMPARE(back.groups().size(), model->spec().groups().size());
    }
  }

  void residualStreamsShareGroups() {
    // ResNet-20: 3 stream groups + one inner group per block (9) = 12.
    const auto model = make_architecture("resnet20x1");
    QCOMPARE(model->spec().groups().size(), std::size_t(12));
    const ParamSpec* stem = model->spec().find("conv1.weight");
    const ParamSpec* block = model->spec().find("layer1.2.conv2.weight");
    QCOMPARE(stem->group_of(0), block->group_of(0));
  }

  void parameterCounts() {
    QCOMPARE(make_architecture("mlp:784,512,512,10")->spec().parameter_count(), 669706);
    QCOMPARE(make_architecture("resnet18")->spec().parameter_count(), 11173962);
    // torchvision's own counts (sum of p.numel() over model.parameters(), default 1000 classes)
    // and state-dict lengths.
    const ModelIO imagenet{{3, 224, 224}, 1000};
    const std::vector<std::tuple<std::string, std::int64_t, std::size_t>> tv = {
        {"tv:resnet18", 11689512, 122}, {"tv:resnet34", 21797672, 218}, {"tv:resnet50", 25557032, 320},
        {"tv:resnet101", 44549160, 626}, {"tv:vgg11", 132863336, 22},   {"tv:vgg11_bn", 132868840, 62},
        {"tv:vgg16", 138357544, 32},    {"tv:vgg19_bn", 143678248, 118}};
    for (const auto& [arch, count, tensors] : tv) {
      const auto model = make_architecture(arch, imagenet);
      QCOMPARE(model->spec().parameter_count(), count);
      QCOMPARE(model->spec().params().size(), tensors);
    }
  }

  void errors_data() {
    QTest::addColumn<QString>("arch");
    for (const char* a : {"transformer", "mlp:", "mlp:784", "mlp:784,x,10", "mlp:784,0,10",
                          "mlp:4,4:swish", "vgg12", "vgg:8,Q", "resnet20", "resnet20x0",
                          "resnet34", "vgg:M,M,M,M,M,M,M,M", "tv:", "tv:resnet19", "tv:resnet18:",
                          "tv:resnet18:w0", "tv:resnet18:h8", "tv:resnet18:wx", "tv:vgg12", "tv:vgg11_bn:h8:w8",
                          "tv:vgg11:w8:w8", "tv:vgg11:q3", "tv:vgg11" /* 28x28: too small for 5 pools */})
      QTest::newRow(a) << a;
  }

  void errors() {
    QFETCH(QString, arch);
    QVERIFY_THROWS_EXCEPTION(UserError, make_architecture(arch.toStdString(), ModelIO{{1, 28, 28}, 10}));
  }

  void badParameters() {
    const auto model = make_architecture("mlp:5,4,3");
    NamedTensors params = model->init(1);
    QVERIFY_THROWS_EXCEPTION(UserError, model->forward(params, at::randn({2, 6})));
    params[0].tensor = at::zeros({3, 5});
    QVERIFY_THROWS_EXCEPTION(UserError, model->forward(params, at::randn({2, 5})));
    params.pop_back();
    QVERIFY_THROWS_EXCEPTION(UserError, model->forward(params, at::randn({2, 5})));
    QVERIFY_THROWS_EXCEPTION(UserError, permute(model->spec(), model->init(1), {}));
    NamedTensors extra = model->init(1);
    extra.push_back({"stray", at::zeros({1})});
    QVERIFY_THROWS_EXCEPTION(UserError, permute(model->spec(), extra, identity_permutations(model->spec())));
  }
};

QTEST_APPLESS_MAIN(TestArchitectures)
#include "tst_architectures.moc"
