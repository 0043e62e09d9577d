// torchvision's ResNets and VGGs as torchvision writes them (fixtures from real torchvision,
// tests/data/fixtures_torchvision.py, at reduced widths): --arch auto recognises each checkpoint
// form (plain, DDP "module.", Lightning "model." under "state_dict") by name, the forward equals
// torchvision's output, the spec has the known groups (ResNet-18: 4 residual streams + 8 block
// groups), a random permutation keeps the function, and a randomly permuted copy is aligned
// back exactly - every tensor - by weight matching and by Sinkhorn l2 at their defaults, also
// through the CLI, which writes aligned B under B's own names. The CIFAR variants keep their
// names.
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <ATen/ATen.h>

#include "align/align.h"
#include "cli_run.h"
#include "common/error.h"
#include "common/runtime.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "nn/mapping.h"
#include "nn/permute.h"

using namespace rebasin;
using namespace rebasin::nn;
using rebasin::test::run_cli;

namespace {

QString fixture(const QString& file) { return QStringLiteral(REBASIN_MODEL_FIXTURES "/") + file; }

QJsonObject manifest() {
  QFile f(fixture("manifest.json"));
  if (!f.open(QIODevice::ReadOnly)) return {};
  return QJsonDocument::fromJson(f.readAll()).object();
}

MappedModel load(const QString& file, const std::string& arch = "auto") {
  return map_checkpoint(io::load_checkpoint(fixture(file).toStdString()).tensors, arch);
}

at::Tensor tensor(const NamedTensors& set, const std::string& name) {
  for (const auto& t : set)
    if (t.name == name) return t.tensor;
  return {};
}

double rel_diff(const at::Tensor& a, const at::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item<double>();
}

const char* kModels[] = {"tv_resnet18", "tv_resnet50", "tv_vgg11_bn", "tv_vgg11"};
const char* kForms[] = {"plain", "ddp", "lightning"};

}  // namespace

class TestTvModels : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    configure_threads(2);
    manifest_ = manifest();
    QVERIFY2(!manifest_.isEmpty(), "no manifest.json in " REBASIN_MODEL_FIXTURES " (run the make_model_fixtures test)");
    QVERIFY(dir_.isValid());
  }

  void autoDetectsEveryForm_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("form");
    for (const char* m : kModels)
      for (const char* f : kForms) QTest::addRow("%s %s", m, f) << m << f;
  }

  void autoDetectsEveryForm() {
    QFETCH(QString, model);
    QFETCH(QString, form);
    const QJsonObject e = manifest_[model].toObject();
    const QString file = e["forms"].toObject()[form].toString();
    const io::Checkpoint ck = io::load_checkpoint(fixture(file).toStdString());
    QCOMPARE(QString::fromStdString(detect_architecture(ck.tensors)), e["arch"].toString());
    const MappedModel m = map_checkpoint(ck.tensors, "auto");
    QCOMPARE(QString::fromStdString(m.arch->name()), e["arch"].toString());
    QCOMPARE(int(m.arch->spec().groups().size()), e["groups"].toInt());
    QCOMPARE(m.arch->io().outputs, std::int64_t(e["classes"].toInt()));
    QCOMPARE(m.arch->spec().parameter_count(), std::int64_t(e["parameters"].toDouble()));
    QCOMPARE(int(m.params.size()), e["tensors"].toInt());
    // Mapped by name: each spec entry holds the checkpoint tensor of the same (unwrapped) name.
    const std::string prefix = form == "ddp" ? "module." : form == "lightning" ? "model." : "";
    for (std::size_t i = 0; i < m.params.size(); ++i) {
      QCOMPARE(m.stored_names[i], prefix + m.params[i].name);
      QVERIFY(at::equal(m.params[i].tensor, tensor(ck.tensors, m.stored_names[i])));
    }
    // The explicit ARCH string maps the same way.
    QCOMPARE(map_checkpoint(ck.tensors, e["arch"].toString().toStdString(), m.arch->io()).params.size(), m.params.size());
  }

  void byNameNotByOrder() {
    // A safetensors-style file with its tensors sorted by name (not torchvision's module order)
    // still maps by name, and B is written back under its own names in its own order.
    NamedTensors sorted = io::load_checkpoint(fixture("tv_resnet18_ddp.pth").toStdString()).tensors;
    std::sort(sorted.begin(), sorted.end(), [](const NamedTensor& a, const NamedTensor& b) { return a.name < b.name; });
    QVERIFY(sorted.front().name != "module.conv1.weight");
    const MappedModel m = map_checkpoint(sorted, "auto");
    QCOMPARE(QString::fromStdString(m.arch->name()), QString("tv:resnet18:w8"));
    QCOMPARE(m.params.front().name, std::string("conv1.weight"));
    QCOMPARE(m.stored_names.front(), std::string("module.conv1.weight"));
    QVERIFY(at::equal(m.params.front().tensor, tensor(sorted, "module.conv1.weight")));
  }

  void groups() {
    const MappedModel r18 = load("tv_resnet18.pt");
    const auto& g = r18.arch->spec().groups();
    QCOMPARE(int(g.size()), 12);
    QStringList names;
    for (const auto& x : g) names << QString("%1:%2").arg(QString::fromStdString(x.name)).arg(x.size);
    QCOMPARE(names, QStringList({"stream0:8", "layer1.0.conv1:8", "layer1.1.conv1:8", "stream2:16",
                                 "layer2.0.conv1:16", "layer2.1.conv1:16", "stream3:32", "layer3.0.conv1:32",
                                 "layer3.1.conv1:32", "stream4:64", "layer4.0.conv1:64", "layer4.1.conv1:64"}));
    // The residual stream of stage 1 is the stem's; each later stage's is shared by its
    // projection, every block's last conv and BN, and the next stage's inputs.
    const auto& spec = r18.arch->spec();
    const int s0 = spec.group_index("stream0"), s2 = spec.group_index("stream2");
    for (const char* p : {"conv1.weight", "bn1.weight", "layer1.0.conv2.weight", "layer1.1.bn2.running_mean"})
      QCOMPARE(spec.find(p)->group_of(0), s0);
    for (const char* p : {"layer2.0.downsample.0.weight", "layer2.0.downsample.1.bias", "layer2.0.conv2.weight",
                          "layer2.1.conv2.weight"})
      QCOMPARE(spec.find(p)->group_of(0), s2);
    QCOMPARE(spec.find("layer2.0.downsample.0.weight")->group_of(1), s0);
    QCOMPARE(spec.find("layer3.0.conv1.weight")->group_of(1), s2);
    QCOMPARE(spec.find("fc.weight")->group_of(1), spec.group_index("stream4"));
    QCOMPARE(spec.find("fc.weight")->group_of(0), -1);
    QCOMPARE(spec.find("conv1.weight")->group_of(1), -1);

    // Bottleneck: 5 streams (stage 1 projects 8 -> 32) and 2 inner groups per block, 16 blocks.
    const MappedModel r50 = load("tv_resnet50.pt");
    const auto& s50 = r50.arch->spec();
    QCOMPARE(int(s50.groups().size()), 5 + 2 * 16);
    QCOMPARE(s50.groups()[s50.group_index("stream0")].size, 8);
    QCOMPARE(s50.groups()[s50.group_index("stream1")].size, 32);
    QCOMPARE(s50.groups()[s50.group_index("stream4")].size, 256);
    QCOMPARE(s50.groups()[s50.group_index("layer3.5.conv2")].size, 32);
    QCOMPARE(s50.find("layer1.0.conv3.weight")->group_of(0), s50.group_index("stream1"));
    QCOMPARE(s50.find("layer1.0.downsample.0.weight")->group_of(1), s50.group_index("stream0"));

    // VGG-11-BN: 8 convs + 2 hidden classifier layers; classifier.0 sees the last conv through
    // the 7x7 average pool (inner block of 49 per channel).
    const MappedModel v = load("tv_vgg11_bn.pt");
    const auto& sv = v.arch->spec();
    QCOMPARE(int(sv.groups().size()), 10);
    QCOMPARE(sv.find("classifier.0.weight")->group_of(1), sv.group_index("features.25"));
    QCOMPARE(sv.find("classifier.0.weight")->axes[1].front().inner, std::int64_t(49));
    QCOMPARE(sv.find("classifier.3.weight")->group_of(1), sv.group_index("classifier.0"));
    QCOMPARE(sv.find("classifier.6.weight")->group_of(0), -1);

    // Full width: the same 12 groups, 64..512.
    const auto full = make_architecture("tv:resnet18", ModelIO{{3, 224, 224}, 1000});
    QCOMPARE(int(full->spec().groups().size()), 12);
    QCOMPARE(full->spec().groups()[full->spec().group_index("stream4")].size, 512);
  }

  void forwardMatchesTorchvision_data() {
    QTest::addColumn<QString>("model");
    for (const char* m : kModels) QTest::newRow(m) << m;
  }

  void forwardMatchesTorchvision() {
    QFETCH(QString, model);
    const MappedModel m = load(model + ".pt");
    const NamedTensors io = io::load_checkpoint(fixture(model + "_io.pt").toStdString()).tensors;
    const at::Tensor x = tensor(io, "input"), want = tensor(io, "output");
    const at::Tensor y = m.arch->forward(m.params, x);
    QVERIFY2(rel_diff(y, want) < 1e-4, qPrintable(QString::number(rel_diff(y, want))));
    // A random permutation moves every group and keeps the function, in eval and train mode.
    const auto perms = random_permutations(m.arch->spec(), 5);
    const NamedTensors p = permute(m.arch->spec(), m.params, perms);
    for (std::size_t g = 0; g < perms.size(); ++g)
      QVERIFY(!at::equal(perms[g], at::arange(perms[g].numel(), at::kLong)));
    const at::Tensor yp = m.arch->forward(p, x);
    QVERIFY2(rel_diff(yp, y) < 1e-5, qPrintable(QString::number(rel_diff(yp, y))));
    // Train mode (batch statistics), in float64: BN over the few values per channel of stage 4
    // (1x1 at 32x32) amplifies float32 rounding ~50 layers deep to ~2e-5 for the ResNet-50, so
    // the spec is checked where rounding cannot hide an error.
    auto as_double = [](const NamedTensors& s) {
      NamedTensors out;
      for (const auto& [n, t] : s) out.push_back({n, at::isFloatingType(t.scalar_type()) ? t.to(at::kDouble) : t.clone()});
      return out;
    };
    const at::Tensor xd = x.to(at::kDouble);
    const at::Tensor yt = m.arch->forward(as_double(m.params), xd, true);
    const double dt = rel_diff(m.arch->forward(as_double(p), xd, true), yt);
    QVERIFY2(dt < 1e-10, qPrintable(QString::number(dt)));
  }

  void recovery_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("form");
    QTest::addColumn<QString>("method");
    for (const char* m : kModels)
      for (const char* f : kForms) {
        QTest::addRow("%s %s weight", m, f) << m << f << "weight";
        QTest::addRow("%s %s sinkhorn", m, f) << m << f << "sinkhorn";
      }
  }

  void recovery() {
    // A from the plain file, B = a randomly permuted copy of the model loaded from another
    // form; the alignment must restore every tensor of B exactly.
    QFETCH(QString, model);
    QFETCH(QString, form);
    QFETCH(QString, method);
    const QJsonObject e = manifest_[model].toObject();
    const MappedModel a = load(model + ".pt");
    const MappedModel b0 = load(e["forms"].toObject()[form].toString());
    const auto& spec = a.arch->spec();
    const NamedTensors b = permute(spec, b0.params, random_permutations(spec, 17));
    align::AlignOptions o;  // defaults: this is the claim
    o.method = align::parse_method(method.toStdString());
    const align::AlignResult r = align::align(*a.arch, a.params, b, nullptr, o);
    const NamedTensors back = permute(spec, b, r.perms);
    int wrong = 0;
    for (std::size_t i = 0; i < back.size(); ++i) wrong += !at::equal(back[i].tensor, a.params[i].tensor);
    QVERIFY2(wrong == 0, qPrintable(QString("%1 of %2 tensors differ after %3 steps").arg(wrong).arg(back.size()).arg(r.steps)));
  }

  void cliAlignsAndKeepsBsNames() {
    // B: the DDP checkpoint randomly permuted, saved under its "module." names.
    const io::Checkpoint bfile = io::load_checkpoint(fixture("tv_resnet18_ddp.pth").toStdString());
    const MappedModel b0 = map_checkpoint(bfile.tensors, "auto");
    const NamedTensors bp = permute(b0.arch->spec(), b0.params, random_permutations(b0.arch->spec(), 3));
    NamedTensors stored;
    for (std::size_t i = 0; i < bp.size(); ++i) stored.push_back({b0.stored_names[i], bp[i].tensor});
    const QString b = dir_.filePath("b_permuted.safetensors"), out = dir_.filePath("b_aligned.safetensors");
    io::write_safetensors(b.toStdString(), stored, {});
    for (const QString method : {"weight", "sinkhorn"}) {
      QFile::remove(out);
      const auto r = run_cli({"align", fixture("tv_resnet18_lightning.ckpt"), b, "--method", method, "--out", out, "--json"});
      QVERIFY2(r.code == 0, r.err.constData());
      const QJsonObject o = QJsonDocument::fromJson(r.out).object();
      QCOMPARE(o["arch"].toString(), QString("tv:resnet18:w8"));
      QCOMPARE(o["groups"].toArray().size(), 12);
      const NamedTensors aligned = io::load_checkpoint(out.toStdString()).tensors;
      const NamedTensors a = io::load_checkpoint(fixture("tv_resnet18.pt").toStdString()).tensors;
      QCOMPARE(aligned.size(), a.size());
      for (std::size_t i = 0; i < a.size(); ++i) {
        QCOMPARE(aligned[i].name, "module." + a[i].name);
        QVERIFY2(at::equal(aligned[i].tensor, a[i].tensor), aligned[i].name.c_str());
      }
    }
  }

  void cliInfoAndDataErrors() {
    auto r = run_cli({"info", fixture("tv_vgg11_bn_lightning.ckpt"), "--json"});
    QCOMPARE(r.code, 0);
    QCOMPARE(QJsonDocument::fromJson(r.out).object()["architecture"].toString(), QString("tv:vgg11_bn:w8:h32"));
    // 1-channel 8x8 digits into a 3-channel ImageNet model: one clear line, exit 1.
    r = run_cli({"interpolate", fixture("tv_resnet18.pt"), fixture("tv_resnet18_ddp.pth"), "--data", "digits", "--points", "3"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("takes images of 3 channels but 'digits' has 1"), r.err.constData());
    QCOMPARE(r.err.trimmed().count('\n'), 0);
    // A and B of different torchvision families.
    r = run_cli({"align", fixture("tv_resnet18.pt"), fixture("tv_vgg11.pt"), "--method", "weight"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("tv:resnet18:w8"), r.err.constData());
  }

  void dataMethodsAndInterpolation() {
    // A 1-channel torchvision ResNet-18 (any image size: digits are 8x8) trained by rebasin,
    // then the data-driven methods and the interpolation run on it (BatchNorm reset included).
    for (const char* seed : {"1", "2"}) {
      const auto r = run_cli({"train", "--arch", "tv:resnet18:w4", "--data", "digits", "--epochs", "1", "--seed", seed,
                              "--out", dir_.filePath(QString("d%1.safetensors").arg(seed)), "--json"});
      QVERIFY2(r.code == 0, r.err.constData());
    }
    const QString a = dir_.filePath("d1.safetensors"), b = dir_.filePath("d2.safetensors");
    for (const QStringList& extra : {QStringList{"--method", "activation"},
                                    QStringList{"--method", "sinkhorn", "--cost", "mid", "--steps", "2"}}) {
      const auto r = run_cli(QStringList{"align", a, b, "--data", "digits", "--points", "3", "--json"} + extra);
      QVERIFY2(r.code == 0, r.err.constData());
      const QJsonObject o = QJsonDocument::fromJson(r.out).object();
      QCOMPARE(o["arch"].toString(), QString("tv:resnet18:w4"));
      QVERIFY(o["barrier"].toObject()["aligned"].toDouble() >= 0);
    }
    const auto r = run_cli({"interpolate", a, b, "--data", "digits", "--points", "3", "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o["loss"].toArray().size(), 3);
    QVERIFY(o["bn_reset"].toBool());
  }

  void cifarVariantsUnchanged() {
    // The CIFAR ResNet-18 (3x3 stem, shortcut.N, linear) and VGGs keep their names, under their
    // own tensor names, DDP-wrapped, or renamed (mapped by order).
    for (const char* arch : {"resnet18", "resnet20x1", "vgg11:bn"}) {
      const auto model = make_architecture(arch, ModelIO{{3, 32, 32}, 10});
      NamedTensors p = model->init(2);
      QCOMPARE(QString::fromStdString(detect_architecture(p)), QString(arch));
      for (auto& t : p) t.name = "module." + t.name;
      QCOMPARE(QString::fromStdString(detect_architecture(p)), QString(arch));
      int i = 0;
      for (auto& t : p) t.name = "net." + std::to_string(i++);
      QCOMPARE(QString::fromStdString(detect_architecture(p)), QString(arch));
    }
    // Full-size torchvision state dicts, with their 1000 classes.
    for (const char* arch : {"tv:resnet18", "tv:resnet50", "tv:vgg16_bn"}) {
      const auto model = make_architecture(arch, ModelIO{{3, 224, 224}, 1000});
      const MappedModel m = map_checkpoint(model->init(1), "auto");
      QCOMPARE(QString::fromStdString(m.arch->name()), QString(arch));
      QCOMPARE(m.arch->io().outputs, std::int64_t(1000));
    }
  }

  void mismatchesNameTheTensor() {
    // Names known, a shape wrong: the error names the tensor (no silent fallback to order).
    NamedTensors p = io::load_checkpoint(fixture("tv_resnet18.pt").toStdString()).tensors;
    try {
      map_checkpoint(p, "tv:resnet18");  // full width
      QFAIL("no error");
    } catch (const UserError& e) {
      QVERIFY2(QString(e.what()).contains("conv1.weight"), e.what());
    }
    p.push_back({"extra.weight", at::zeros({3})});
    try {
      map_checkpoint(p, "tv:resnet18:w8", ModelIO{{3, 32, 32}, 10});
      QFAIL("no error");
    } catch (const UserError& e) {
      QVERIFY2(QString(e.what()).contains("extra.weight"), e.what());
    }
  }

 private:
  QJsonObject manifest_;
  QTemporaryDir dir_;
};

QTEST_APPLESS_MAIN(TestTvModels)
#include "tst_tv_models.moc"
