// Mapping checkpoints onto architectures: --arch auto recognises the built-ins from shapes
// whatever the names (prefixes, Sequential indices), explicit ARCH strings map by order with
// shape checks, and mismatches name the tensor at fault.
#include <QtTest/QtTest>

#include <ATen/ATen.h>

#include "common/error.h"
#include "nn/family_registry.h"
#include "nn/mapping.h"

using namespace rebasin;
using namespace rebasin::nn;

namespace {

NamedTensors renamed(NamedTensors p, const std::string& prefix) {
  int i = 0;
  for (auto& [name, t] : p) name = prefix + std::to_string(i++) + ".x";
  return p;
}

NamedTensors without_counters(const NamedTensors& p) {
  NamedTensors out;
  for (const auto& e : p)
    if (e.name.find("num_batches_tracked") == std::string::npos) out.push_back(e);
  return out;
}

}  // namespace

class TestMapping : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void familiesOwnTheirArchStrings() {
    // One table (nn/family_registry.h) behind the factory, --arch auto and the messages.
    const std::vector<std::pair<std::string, std::string>> owned = {
        {"mlp:4,8,3", "mlp"},           {"vgg11:bn", "vgg"},     {"vgg:8,M,16", "vgg"},
        {"resnet20x4:ln", "resnet"},    {"resnet18", "resnet"},  {"tv:resnet50:w32", "torchvision"},
        {"tv:vgg11_bn", "torchvision"}, {"vit:7,64,4,4,128", "transformer"}, {"gpt:96,64,64,2,4:shared", "transformer"}};
    for (const auto& [arch, family] : owned) {
      const nn::ArchFamily* f = nn::family_of(arch);
      QVERIFY2(f != nullptr, arch.c_str());
      QCOMPARE(f->name, family);
    }
    QVERIFY(nn::family_of("lstm:3,4") == nullptr);
    try {
      nn::make_architecture("lstm:3,4");
      QFAIL("made an unknown architecture");
    } catch (const UserError& e) {
      for (const nn::ArchFamily& f : nn::arch_families())
        if (f.name != "torchscript") QVERIFY2(QString(e.what()).contains(QString::fromStdString(f.syntax)), e.what());
    }
    // Every candidate --arch auto considers is an ARCH its family owns and can make.
    const auto arch = nn::make_architecture("vgg11:bn", nn::ModelIO{{3, 32, 32}, 10});
    const NamedTensors t = arch->init(0);
    std::vector<std::string> names;
    for (const auto& x : t) names.push_back(x.name);
    const nn::CheckpointView view{t, names};
    for (const nn::ArchFamily& f : nn::arch_families()) {
      if (!f.candidates) continue;
      nn::ArchCandidates out;
      f.candidates(view, nn::ModelIO{}, out);
      for (const auto& [candidate, io] : out) QVERIFY2(nn::family_of(candidate) == &f, candidate.c_str());
    }
  }

  void autoDetects_data() {
    QTest::addColumn<QString>("arch");
    QTest::addColumn<QList<int>>("input");
    QTest::newRow("mlp") << "mlp:20,16,5" << QList<int>{};
    QTest::newRow("mlp deep") << "mlp:784,512,512,10" << QList<int>{};
    QTest::newRow("resnet20x1") << "resnet20x1" << QList<int>{3, 32, 32};
    QTest::newRow("resnet20x2:ln") << "resnet20x2:ln" << QList<int>{3, 32, 32};
    QTest::newRow("resnet18") << "resnet18" << QList<int>{3, 32, 32};
    QTest::newRow("vgg11:bn") << "vgg11:bn" << QList<int>{3, 32, 32};
    QTest::newRow("vgg16") << "vgg16" << QList<int>{3, 32, 32};
  }

  void autoDetects() {
    QFETCH(QString, arch);
    QFETCH(QList<int>, input);
    ModelIO io;
    if (!input.isEmpty()) io.input_shape = {input[0], input[1], input[2]};
    const auto model = make_architecture(arch.toStdString(), io);
    const NamedTensors params = model->init(3);
    // Names as some training script wrote them: only shapes and order are used.
    const NamedTensors stored = renamed(params, "model.layers.");
    QCOMPARE(QString::fromStdString(detect_architecture(stored)), arch);
    const MappedModel m = map_checkpoint(stored, "auto");
    QCOMPARE(QString::fromStdString(m.arch->name()), arch);
    QCOMPARE(m.params.size(), params.size());
    QCOMPARE(m.stored_names.front(), std::string("model.layers.0.x"));
    for (std::size_t i = 0; i < params.size(); ++i) {
      QCOMPARE(m.params[i].name, params[i].name);
      QVERIFY(at::equal(m.params[i].tensor, params[i].tensor));
    }
  }

  void oldCheckpointsWithoutCounters() {
    const auto model = make_architecture("resnet20x1");
    const NamedTensors stored = without_counters(model->init(1));
    const MappedModel m = map_checkpoint(stored, "resnet20x1");
    QCOMPARE(m.params.size(), model->spec().params().size());
    QCOMPARE(QString::fromStdString(map_checkpoint(stored, "auto").arch->name()), QString("resnet20x1"));
  }

  void float64IsConverted() {
    NamedTensors p = make_architecture("mlp:4,3,2")->init(1);
    for (auto& e : p) e.tensor = e.tensor.to(at::kDouble);
    const MappedModel m = map_checkpoint(p, "mlp:4,3,2");
    QCOMPARE(m.params[0].tensor.scalar_type(), at::kFloat);
  }

  void explicitMismatchNamesTheTensor() {
    const NamedTensors p = make_architecture("mlp:20,16,5")->init(1);
    try {
      map_checkpoint(p, "mlp:20,12,5");
      QFAIL("no error");
    } catch (const UserError& e) {
      QVERIFY2(QString(e.what()).contains("fc1.weight"), e.what());
    }
    QVERIFY_THROWS_EXCEPTION(UserError, map_checkpoint(p, "mlp:20,16,5,3"));
    QVERIFY_THROWS_EXCEPTION(UserError, map_checkpoint(p, "mlp:20,16"));
    QVERIFY_THROWS_EXCEPTION(UserError, map_checkpoint({}, "auto"));
  }

  void explicitConvArchTakesItsInputFromTheCheckpoint() {
    // A 1-channel 28 x 28 VGG (MNIST) named explicitly, no data: channels, classes and the image
    // size come from the checkpoint's own shapes.
    const auto arch = make_architecture("vgg:16,M,32,M,64", ModelIO{{1, 28, 28}, 10});
    const NamedTensors p = arch->init(3);
    const MappedModel m = map_checkpoint(p, "vgg:16,M,32,M,64");
    QCOMPARE(m.params.size(), p.size());
    QCOMPARE(m.arch->io().input_shape, (std::vector<std::int64_t>{1, 28, 28}));
    QCOMPARE(m.arch->io().outputs, std::int64_t(10));
    // A checkpoint that fits at no size is still refused naming the tensor.
    try {
      map_checkpoint(p, "vgg:8,M,32,M,64");
      QFAIL("mapped another VGG");
    } catch (const UserError& e) {
      QVERIFY2(QString(e.what()).contains("features.0.weight"), e.what());
    }
  }

  void autoFailsClearly() {
    const NamedTensors odd = {{"a", at::zeros({2, 3, 4})}, {"b", at::zeros({5})}};
    try {
      map_checkpoint(odd, "auto");
      QFAIL("no error");
    } catch (const UserError& e) {
      QVERIFY2(QString(e.what()).contains("no built-in architecture fits"), e.what());
      QVERIFY(QString(e.what()).contains("a [2, 3, 4]"));
    }
    QCOMPARE(detect_architecture(odd), std::string());
  }

  void sameLayout() {
    const NamedTensors a = make_architecture("mlp:20,16,5")->init(1);
    check_same_layout(a, make_architecture("mlp:20,16,5")->init(2));
    try {
      check_same_layout(a, make_architecture("mlp:20,17,5")->init(2));
      QFAIL("no error");
    } catch (const UserError& e) {
      QVERIFY2(QString(e.what()).contains("fc1.weight"), e.what());
    }
    QVERIFY_THROWS_EXCEPTION(UserError, check_same_layout(a, make_architecture("mlp:20,16,5,5")->init(2)));
  }
};

QTEST_APPLESS_MAIN(TestMapping)
#include "tst_mapping.moc"
