// The built-in transformers (vit:, gpt:; core/nn/transformer.cpp) and the text data they train
// on: the forward equals torchvision's VisionTransformer and a nanoGPT-style decoder (fixtures
// written by real PyTorch, tests/data/fixtures_transformers.py) on their own state dicts; a
// random two-level (head, unit) permutation keeps the function, with the residual stream shared
// or left alone, while tying every head's units into one plain group (the peers' mistake) breaks
// it; a hidden permutation is recovered exactly by weight matching, Sinkhorn l2 and activation
// matching with 4 and 8 heads; text:PATH windows are the corpus' next characters; the CLI trains
// a GPT on text, aligns it with --residual and draws its interpolation and landscape.
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "align/align.h"
#include "cli_run.h"
#include "common/error.h"
#include "common/runtime.h"
#include "data/dataset.h"
#include "io/checkpoint.h"
#include "nn/mapping.h"
#include "nn/permute.h"

using namespace rebasin;
using rebasin::test::run_cli;

namespace {

QString fixture(const QString& file) { return QStringLiteral(REBASIN_MODEL_FIXTURES "/") + file; }

// Parameters as a trained model has them: the norms' ones and zeros and the class token's zeros
// would hide a wrong tie on them.
NamedTensors random_params(const nn::Architecture& arch, std::uint64_t seed) {
  NamedTensors p = arch.init(seed);
  at::manual_seed(seed);
  for (std::size_t i = 0; i < p.size(); ++i)
    if (arch.spec().params()[i].init != nn::Init::Uniform && p[i].tensor.is_floating_point())
      p[i].tensor = at::rand_like(p[i].tensor) - 0.5;
  return p;
}

at::Tensor sample_input(const nn::Architecture& arch, std::int64_t n, std::uint64_t seed) {
  at::manual_seed(seed);
  if (arch.name().rfind("gpt:", 0) == 0) return at::randint(arch.io().outputs, {n, arch.io().input_shape[0]}, at::kLong);
  std::vector<std::int64_t> shape = {n};
  shape.insert(shape.end(), arch.io().input_shape.begin(), arch.io().input_shape.end());
  return at::rand(shape);
}

double rel_change(const at::Tensor& a, const at::Tensor& b) {
  return ((a - b).abs().max() / a.abs().max()).item<double>();
}

bool same_tensors(const NamedTensors& a, const NamedTensors& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!at::allclose(a[i].tensor, b[i].tensor, 0, 0)) return false;
  return a.size() == b.size();
}

const nn::ModelIO kFashion{{1, 28, 28}, 10};
const nn::ModelIO kCifar{{3, 32, 32}, 10};

// The images a ViT of this patch size takes in these tests: 7 -> Fashion-MNIST, 8 -> CIFAR-10.
const nn::ModelIO& io_for(const QString& arch) { return arch.startsWith("vit:8,") ? kCifar : kFashion; }

void architectures() {
  QTest::addColumn<QString>("arch");
  for (const char* a : {"vit:7,32,2,4,64:shared", "vit:7,64,2,8,64:shared", "gpt:96,16,32,2,4:shared",
                        "gpt:96,16,64,2,8:shared", "vit:7,32,2,4,64", "gpt:96,16,32,2,4",
                        "gpt:96,16,32,3,4",         // 3 layers: the width need not divide by them
                        "vit:8,32,2,4,64:shared"})  // the last on CIFAR-10's 3 x 32 x 32 images
    QTest::newRow(a) << QString(a);
}

}  // namespace

class TestTransformers : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { configure_threads(2); }

  void forwardEqualsTheReference_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("arch");
    QTest::newRow("torchvision ViT") << "tv_vit" << "vit:7,32,2,4,64";
    QTest::newRow("nanoGPT") << "nanogpt" << "gpt:96,16,32,2,4";
  }
  void forwardEqualsTheReference() {
    QFETCH(QString, name);
    QFETCH(QString, arch);
    const NamedTensors stored = io::load_checkpoint(fixture(name + ".pt").toStdString()).tensors;
    const nn::MappedModel m = nn::map_checkpoint(stored, arch.toStdString(), kFashion);
    QCOMPARE(m.stored_names.front(), m.params.front().name);  // by name, not by order
    // As torch.compile saves it (nanoGPT's compiled checkpoints): the same tensors, by name.
    NamedTensors compiled = stored;
    for (auto& t : compiled) t.name = "_orig_mod." + t.name;
    std::reverse(compiled.begin(), compiled.end());
    const nn::MappedModel c = nn::map_checkpoint(compiled, arch.toStdString(), kFashion);
    QCOMPARE(c.stored_names.front(), "_orig_mod." + c.params.front().name);
    const NamedTensors io = io::load_checkpoint(fixture(name + "_io.pt").toStdString()).tensors;
    const at::Tensor y = m.arch->forward(m.params, io[0].tensor);
    QCOMPARE(y.sizes(), io[1].tensor.sizes());
    const double err = rel_change(io[1].tensor, y);
    QVERIFY2(err < 1e-5, qPrintable(QString("relative difference %1").arg(err)));
    // Without data a ViT's input and classes come from its own tensors (the studio inspects
    // models so): 1 x 28 x 28 and 10 classes here.
    if (name == "tv_vit") {
      const nn::MappedModel d = nn::map_checkpoint(stored, arch.toStdString());
      QCOMPARE(d.arch->io().input_shape, (std::vector<std::int64_t>{1, 28, 28}));
      QCOMPARE(d.arch->io().outputs, std::int64_t(10));
    }
    // --arch auto cannot know the heads: the error names the ARCH to give.
    try {
      nn::map_checkpoint(stored, "auto");
      QFAIL("auto mapped a transformer without its heads");
    } catch (const UserError& e) {
      const std::string want = arch.toStdString().replace(arch.toStdString().rfind(",4"), 2, ",H");
      QVERIFY2(std::string(e.what()).find(want) != std::string::npos, e.what());
    }
  }

  void randomPermutationKeepsTheFunction_data() { architectures(); }
  void randomPermutationKeepsTheFunction() {
    QFETCH(QString, arch);
    const auto model = nn::make_architecture(arch.toStdString(), io_for(arch));
    const NamedTensors a = random_params(*model, 0);
    const NamedTensors b = nn::permute(model->spec(), a, nn::random_permutations(model->spec(), 5));
    QVERIFY(!same_tensors(a, b));
    const at::Tensor x = sample_input(*model, 3, 1);
    const double err = rel_change(model->forward(a, x), model->forward(b, x));
    QVERIFY2(err < 1e-4, qPrintable(QString("relative output change %1").arg(err)));
    // Groups: the stream with :shared, and per layer query/key heads, value/output heads
    // (linked to them) and the MLP.
    const auto& groups = model->spec().groups();
    const bool shared = arch.endsWith(":shared");
    const QStringList numbers = arch.section(':', 1, 1).split(',');
    const bool vit = arch.startsWith("vit");
    QCOMPARE(static_cast<int>(groups.size()), (shared ? 1 : 0) + 3 * numbers[vit ? 2 : 3].toInt());
    const std::int64_t heads = numbers[vit ? 3 : 4].toInt();
    QCOMPARE(groups[shared ? 1 : 0].blocks, heads);
    QCOMPARE(groups[shared ? 2 : 1].link, shared ? 1 : 0);
  }

  void headsMustDivideTheWidth() {
    for (const char* arch : {"vit:7,64,2,5,128", "gpt:96,16,64,2,5"})
      try {
        nn::make_architecture(arch, kFashion);
        QFAIL(arch);
      } catch (const UserError& e) {
        QVERIFY2(std::string(e.what()).find("does not split into 5 heads") != std::string::npos, e.what());
      }
  }

  void tyingHeadsIntoPlainGroupsBreaksTheFunction_data() { architectures(); }
  void tyingHeadsIntoPlainGroupsBreaksTheFunction() {
    QFETCH(QString, arch);
    const auto model = nn::make_architecture(arch.toStdString(), io_for(arch));
    nlohmann::json j = model->spec().to_json();
    for (auto& g : j["groups"])
      if (g.value("blocks", 1) > 1) g.erase("blocks"), g.erase("link");
    const nn::PermutationSpec plain = nn::PermutationSpec::from_json(j);
    NamedTensors a = random_params(*model, 0);
    // Attention as sharp as a trained model's: with near-uniform attention every head returns
    // about the mean of its values, and moving units between heads would change little.
    for (auto& t : a)
      if (t.name.find("in_proj_weight") != std::string::npos || t.name.find("c_attn.weight") != std::string::npos)
        t.tensor = t.tensor * 4;
    const NamedTensors b = nn::permute(plain, a, nn::random_permutations(plain, 5));
    const at::Tensor x = sample_input(*model, 3, 1);
    const double err = rel_change(model->forward(a, x), model->forward(b, x));
    QVERIFY2(err > 1e-2, qPrintable(QString("relative output change only %1").arg(err)));
  }

  void hiddenPermutationIsRecovered_data() {
    QTest::addColumn<QString>("arch");
    QTest::addColumn<QString>("method");
    // The stream permuted too (the harder case) and, at the default, left alone.
    for (const char* a : {"vit:7,64,4,4,128:shared", "vit:7,64,4,8,128:shared", "gpt:96,32,64,4,4:shared",
                          "gpt:96,32,64,4,8:shared", "vit:7,64,4,8,128", "gpt:96,32,64,4,8"})
      for (const char* m : {"weight", "sinkhorn", "activation"})
        QTest::newRow((std::string(a) + " " + m).c_str()) << QString(a) << QString(m);
  }
  void hiddenPermutationIsRecovered() {
    // At the methods' defaults, from the models' own initialisation (as `rebasin recover`).
    QFETCH(QString, arch);
    QFETCH(QString, method);
    const auto model = nn::make_architecture(arch.toStdString(), io_for(arch));
    for (std::uint64_t seed : {0, 1}) {
      const NamedTensors a = random_params(*model, seed);
      const NamedTensors b = nn::permute(model->spec(), a, nn::random_permutations(model->spec(), seed + 7));
      data::Dataset d;
      d.inputs = sample_input(*model, 256, 2);
      d.targets = at::zeros({256}, at::kLong);
      d.num_classes = model->io().outputs;
      align::AlignOptions o;
      o.method = align::parse_method(method.toStdString());
      const align::AlignResult r = align::align(*model, a, b, &d, o);
      QVERIFY2(same_tensors(nn::permute(model->spec(), b, r.perms), a),
               qPrintable(QString("seed %1: aligned B is not A after %2 steps").arg(seed).arg(r.steps)));
    }
  }

  void textWindowsAreTheNextCharacters() {
    QTemporaryDir dir;
    const QString path = dir.filePath("corpus.txt");
    std::string text;
    for (int i = 0; i < 40; ++i) text += "Hello,\tworld " + std::to_string(i) + "!\r\n\x01";
    std::ofstream(path.toStdString(), std::ios::binary) << text;
    const data::Splits s = data::load_dataset("text:" + path.toStdString() + ":8");
    QCOMPARE(s.train.num_classes, std::int64_t(96));
    QCOMPARE(s.train.inputs.size(1), std::int64_t(8));
    QCOMPARE(s.train.inputs.scalar_type(), at::kLong);
    // Tabs read as spaces, \r and control bytes dropped, '\n' is 0, ' ' 1, 'H' 'H' - 31.
    std::string kept;
    for (char c : text) {
      if (c == '\t') c = ' ';
      if (c == '\n' || (c >= 32 && c <= 126)) kept += c;
    }
    const std::int64_t windows = (static_cast<std::int64_t>(kept.size()) - 1) / 8;
    QCOMPARE(s.train.size() + s.test.size(), windows);
    QCOMPARE(s.test.size(), windows / 10);
    auto id = [](char c) { return c == '\n' ? 0 : c - 31; };
    for (int t = 0; t < 8; ++t) {
      QCOMPARE(s.train.inputs[0][t].item<std::int64_t>(), std::int64_t(id(kept[t])));
      QCOMPARE(s.train.targets[0][t].item<std::int64_t>(), std::int64_t(id(kept[t + 1])));
      // Window 9 (the first test window) starts at character 72.
      QCOMPARE(s.test.inputs[0][t].item<std::int64_t>(), std::int64_t(id(kept[72 + t])));
    }
    // The installed corpus (scripts/setup.sh: Debian's fortunes).
    const data::Splits f = data::load_dataset("text:fortunes");
    QVERIFY(f.train.size() > 20000);
    QCOMPARE(f.train.inputs.size(1), std::int64_t(64));
    QVERIFY_THROWS_EXCEPTION(UserError, data::load_dataset("text:" + dir.filePath("missing").toStdString()));
    QVERIFY_THROWS_EXCEPTION(UserError, data::load_dataset("text:fortunes", {{}, std::make_pair(0.5, 0.5), 0}));
  }

  void cliTrainsAGptAndAlignsWithEitherResidual() {
    QTemporaryDir dir;
    const QString corpus = dir.filePath("corpus.txt");
    {
      std::ofstream out(corpus.toStdString());
      for (int i = 0; i < 400; ++i) out << "the cat sat on the mat. a dog ran to the log.\n";
    }
    const QString a = dir.filePath("a.safetensors"), b = dir.filePath("b.safetensors");
    for (const auto& [out, seed] : {std::pair{a, "1"}, std::pair{b, "2"}}) {
      const auto r = run_cli({"train", "--arch", "gpt:96,16,32,1,4", "--data", "text:" + corpus + ":16", "--epochs", "3",
                              "--seed", seed, "--out", out, "--json"});
      QVERIFY2(r.code == 0, r.err.constData());
      const QJsonObject j = QJsonDocument::fromJson(r.out).object();
      // A model that learnt something: well below the uniform guess's log(96) = 4.56 nats.
      QVERIFY2(j["test_loss"].toDouble() < 2.5, r.out.constData());
    }
    for (const char* residual : {"shared", "identity"}) {
      const auto r = run_cli({"align", a, b, "--method", "weight", "--residual", residual, "--data",
                              "text:" + corpus + ":16", "--json"});
      QVERIFY2(r.code == 0, r.err.constData());
      const QJsonObject j = QJsonDocument::fromJson(r.out).object();
      QCOMPARE(j["groups"].toArray().size(), std::string(residual) == "shared" ? 4 : 3);
    }
    // A permutation file of the shared mode needs the same mode where it is used.
    const QString perm = dir.filePath("perm.json");
    const QString text = "text:" + corpus + ":16";
    QCOMPARE(run_cli({"align", a, b, "--method", "weight", "--residual", "shared", "--perm-out", perm}).code, 0);
    const auto without = run_cli({"interpolate", a, b, "--perm", perm, "--data", text, "--points", "3"});
    QCOMPARE(without.code, 1);
    QVERIFY2(without.err.contains("pass --residual shared"), without.err.constData());
    const auto with = run_cli({"interpolate", a, b, "--perm", perm, "--data", text, "--points", "3", "--residual", "shared", "--json"});
    QVERIFY2(with.code == 0, with.err.constData());
    QCOMPARE(QJsonDocument::fromJson(with.out).object()["lambdas"].toArray().size(), 3);
    const auto plane = run_cli({"landscape", a, b, "--perm", perm, "--data", text, "--grid", "3", "--residual", "shared", "--json"});
    QVERIFY2(plane.code == 0, plane.err.constData());
    const QJsonArray rows = QJsonDocument::fromJson(plane.out).object()["loss"].toArray();
    QCOMPARE(rows.size(), 3);
    QVERIFY(rows[1].toArray()[1].toDouble() > 0);
    const auto bad = run_cli({"recover", "--arch", "mlp:16,8,96", "--residual", "identity"});
    QCOMPARE(bad.code, 1);
    QVERIFY2(bad.err.contains("--residual applies to the built-in transformers"), bad.err.constData());
  }
};

QTEST_GUILESS_MAIN(TestTransformers)
#include "tst_transformers.moc"
