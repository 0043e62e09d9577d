// Architectures derived from TorchScript graphs (core/nn/graph), on models written by real
// PyTorch and torchvision (tests/data/fixtures_graph.py: a LayerNorm MLP, a residual CNN with a
// custom block, a traced torchvision ViT (fused in_proj), a scripted GPT-style decoder (fused
// c_attn), an encoder with separate q/k/v projections, a traced torchvision ResNet-18): the derived groups equal each model's known symmetry, a random permutation of
// them leaves the function unchanged, and a randomly permuted copy aligned back by weight
// matching and by Sinkhorn l2 equals the model in every tensor. Checkpoints map onto a graph by
// name; the CLI takes TorchScript models for A and B and reports the groups.
#include <QtTest/QtTest>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "align/align.h"
#include "cli_run.h"
#include "common/error.h"
#include "common/runtime.h"
#include "data/transforms.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "nn/graph/graph_architecture.h"
#include "nn/mapping.h"
#include "nn/permute.h"

using namespace rebasin;

namespace {

QString fixture(const QString& name) { return QStringLiteral(REBASIN_MODEL_FIXTURES) + "/" + name; }

nlohmann::json manifest() {
  std::ifstream in((QStringLiteral(REBASIN_MODEL_FIXTURES) + "/manifest.json").toStdString());
  return nlohmann::json::parse(in);
}

at::Tensor sample_input(const nn::Architecture& arch, std::int64_t n, std::uint64_t seed) {
  const nn::graph::GraphReport* r = nn::graph::graph_report(arch);
  std::vector<std::int64_t> shape = {n};
  shape.insert(shape.end(), r->input_shape.begin(), r->input_shape.end());
  at::manual_seed(seed);
  return r->token_input ? at::randint(r->vocab, shape, at::kLong) : at::randn(shape);
}

bool same_tensors(const NamedTensors& a, const NamedTensors& b, QString* first_diff) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || !at::equal(a[i].tensor, b[i].tensor)) {
      *first_diff = QString::fromStdString(a[i].name);
      return false;
    }
  return true;
}

}  // namespace

class TestGraphModels : public QObject {
  Q_OBJECT

  void models() {
    QTest::addColumn<QString>("file");
    for (const char* f : {"ln_mlp.ts.pt", "residual_cnn.ts.pt", "vit.ts.pt", "gpt.ts.pt", "qkv_separate.ts.pt", "resnet18.ts.pt"})
      QTest::newRow(f) << QString(f);
  }

 private Q_SLOTS:
  void initTestCase() { configure_threads(2); }

  void derivedGroupsAreTheKnownSymmetry_data() { models(); }
  void derivedGroupsAreTheKnownSymmetry() {
    QFETCH(QString, file);
    const nlohmann::json want = manifest().at(file.toStdString());
    const auto arch = nn::make_architecture(fixture(file).toStdString());
    const nn::graph::GraphReport* r = nn::graph::graph_report(*arch);
    QVERIFY(r != nullptr);
    std::vector<std::int64_t> sizes;
    int heads = 0;
    for (const nn::Group& g : arch->spec().groups()) {
      sizes.push_back(g.size);
      if (g.blocks > 1) {
        ++heads;
        QCOMPARE(g.blocks, want.at("head_groups").get<std::int64_t>());
      }
    }
    std::sort(sizes.begin(), sizes.end());
    QCOMPARE(sizes, want.at("sizes").get<std::vector<std::int64_t>>());
    // Per attention layer: the query/key heads and the value/output heads, linked.
    QCOMPARE(heads > 0, want.at("head_groups").get<int>() > 0);
    for (const nn::Group& g : arch->spec().groups())
      if (g.link >= 0) QCOMPARE(arch->spec().groups()[g.link].blocks, g.blocks);
    QVERIFY2(r->dropped.empty(), r->dropped.empty() ? "" : r->dropped.front().reason.c_str());
  }

  void randomPermutationKeepsTheFunction_data() { models(); }
  void randomPermutationKeepsTheFunction() {
    QFETCH(QString, file);
    const auto arch = nn::make_architecture(fixture(file).toStdString());
    const NamedTensors a = arch->init(0);
    const NamedTensors b = nn::permute(arch->spec(), a, nn::random_permutations(arch->spec(), 5));
    const at::Tensor x = sample_input(*arch, 3, 1);
    const at::Tensor ya = arch->forward(a, x), yb = arch->forward(b, x);
    QVERIFY(ya.abs().max().item<double>() > 0);  // a zero output would hide everything
    const double err = (ya - yb).abs().max().item<double>() / ya.abs().max().item<double>();
    QVERIFY2(err < 1e-4, qPrintable(QString("relative output change %1").arg(err)));
    // And the permutation really moved something: B is not A.
    QString diff;
    QVERIFY(!same_tensors(a, b, &diff));
  }

  void tyingHeadsIntoPlainGroupsBreaksTheFunction_data() {
    QTest::addColumn<QString>("file");
    for (const char* f : {"vit.ts.pt", "gpt.ts.pt", "qkv_separate.ts.pt"}) QTest::newRow(f) << QString(f);
  }
  void tyingHeadsIntoPlainGroupsBreaksTheFunction() {
    // The peers' mistake: one plain permutation over all of an attention layer's query/key
    // units (heads ignored) is no symmetry. The derived head groups, made plain and permuted at
    // random, change the output; the head-structured permutation (above) does not.
    QFETCH(QString, file);
    const auto arch = nn::make_architecture(fixture(file).toStdString());
    nlohmann::json j = arch->spec().to_json();
    int heads = 0;
    for (auto& g : j["groups"])
      if (g.value("blocks", 1) > 1) g.erase("blocks"), g.erase("link"), ++heads;
    QVERIFY(heads >= 4);
    const nn::PermutationSpec plain = nn::PermutationSpec::from_json(j);
    const NamedTensors a = arch->init(0);
    const NamedTensors b = nn::permute(plain, a, nn::random_permutations(plain, 5));
    const at::Tensor x = sample_input(*arch, 3, 1);
    const at::Tensor ya = arch->forward(a, x), yb = arch->forward(b, x);
    const double err = (ya - yb).abs().max().item<double>() / ya.abs().max().item<double>();
    QVERIFY2(err > 1e-2, qPrintable(QString("relative output change only %1").arg(err)));
  }

  void alignRestoresEveryTensor_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("method");
    for (const char* f : {"ln_mlp.ts.pt", "residual_cnn.ts.pt", "vit.ts.pt", "gpt.ts.pt", "qkv_separate.ts.pt", "resnet18.ts.pt"})
      for (const char* m : {"weight", "sinkhorn"})
        QTest::newRow((std::string(f) + " " + m).c_str()) << QString(f) << QString(m);
  }
  void alignRestoresEveryTensor() {
    QFETCH(QString, file);
    QFETCH(QString, method);
    const auto arch = nn::make_architecture(fixture(file).toStdString());
    const NamedTensors a = arch->init(0);
    const NamedTensors b = nn::permute(arch->spec(), a, nn::random_permutations(arch->spec(), 9));
    align::AlignOptions o;  // defaults: Sinkhorn l2 from the identity
    o.method = align::parse_method(method.toStdString());
    const align::AlignResult r = align::align(*arch, a, b, nullptr, o);
    QString diff;
    QVERIFY2(same_tensors(nn::permute(arch->spec(), b, r.perms), a, &diff),
             qPrintable("aligned B differs from A at " + diff + " after " + QString::number(r.steps) + " steps"));
  }

  void activationMatchingSeesTheGroups_data() {
    QTest::addColumn<QString>("file");
    for (const char* f : {"ln_mlp.ts.pt", "residual_cnn.ts.pt", "vit.ts.pt"}) QTest::newRow(f) << QString(f);
  }
  void activationMatchingSeesTheGroups() {
    // The activation hook reports every group's units (watched where the graph holds them:
    // after an activation function when there is one), so activation matching recovers a
    // permuted copy exactly, on random inputs of the model's shape.
    QFETCH(QString, file);
    const auto arch = nn::make_architecture(fixture(file).toStdString());
    std::vector<int> seen(arch->spec().groups().size(), 0);
    const NamedTensors a = arch->init(0);
    arch->forward(a, sample_input(*arch, 2, 0), false, [&](int g, const at::Tensor& act) {
      QCOMPARE(act.size(1), arch->spec().groups()[g].size);
      ++seen[g];
    });
    for (std::size_t g = 0; g < seen.size(); ++g) QVERIFY2(seen[g] > 0, arch->spec().groups()[g].name.c_str());
    data::Dataset d;
    d.inputs = sample_input(*arch, 256, 2);
    d.targets = at::zeros({256}, at::kLong);
    d.num_classes = arch->io().outputs;
    const NamedTensors b = nn::permute(arch->spec(), a, nn::random_permutations(arch->spec(), 4));
    align::AlignOptions o;
    o.method = align::Method::Activation;
    const align::AlignResult r = align::align(*arch, a, b, &d, o);
    QString diff;
    QVERIFY2(same_tensors(nn::permute(arch->spec(), b, r.perms), a, &diff), qPrintable(diff));
  }

  void stateDictMapsOntoTheGraphByName() {
    // ln_mlp_ddp.pt: the same model's state dict saved from DDP ("module." prefix).
    const io::Checkpoint ck = io::load_checkpoint(fixture("ln_mlp_ddp.pt").toStdString());
    const nn::MappedModel m = nn::map_checkpoint(ck.tensors, fixture("ln_mlp.ts.pt").toStdString());
    QString diff;
    QVERIFY2(same_tensors(m.params, m.arch->init(0), &diff), qPrintable(diff));
    QCOMPARE(QString::fromStdString(m.stored_names.front()), QString("module.fc1.weight"));
    // A checkpoint of another model is refused naming the tensor.
    const io::Checkpoint other = io::load_checkpoint(fixture("residual_cnn.ts.pt").toStdString());
    try {
      nn::map_checkpoint(other.tensors, fixture("ln_mlp.ts.pt").toStdString());
      QFAIL("mapped a different model");
    } catch (const UserError& e) {
      QVERIFY2(QString(e.what()).contains("fc1.weight"), e.what());
    }
  }

  void notTorchScriptIsOneLine() {
    try {
      nn::graph::make_graph_architecture(fixture("ln_mlp_ddp.pt").toStdString());
      QFAIL("accepted a state dict as a TorchScript model");
    } catch (const UserError& e) {
      QVERIFY(QString(e.what()).contains("not a TorchScript archive"));
      QVERIFY(!QString(e.what()).contains('\n'));
    }
  }

  void cliInfoListsGroups() {
    const test::CliRun r = test::run_cli({"info", fixture("vit.ts.pt"), "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    const nlohmann::json j = nlohmann::json::parse(r.out.toStdString());
    const auto& groups = j.at("graph").at("groups");
    QCOMPARE(groups.size(), std::size_t(7));
    int heads = 0;
    for (const auto& g : groups) heads += g.contains("heads");
    QCOMPARE(heads, 4);
    QVERIFY(j.at("graph").at("dropped").empty());
    const test::CliRun text = test::run_cli({"info", fixture("gpt.ts.pt")});
    QVERIFY2(text.code == 0, text.err.constData());
    QVERIFY(text.out.contains("7 permutation groups"));
    QVERIFY(text.out.contains("4 heads x 8"));
  }

  void cliAlignsTorchScriptAndStateDict() {
    // A TorchScript (--arch auto reads its graph), B a permuted copy as safetensors under the
    // DDP names; aligned B is written under B's own names and equals A.
    const auto arch = nn::make_architecture(fixture("ln_mlp.ts.pt").toStdString());
    const NamedTensors a = arch->init(0);
    NamedTensors b = nn::permute(arch->spec(), a, nn::random_permutations(arch->spec(), 3));
    for (auto& t : b) t.name = "module." + t.name;
    QTemporaryDir dir;
    const QString b_path = dir.filePath("b.safetensors"), out = dir.filePath("aligned.safetensors");
    io::write_safetensors(b_path.toStdString(), b);
    const test::CliRun r = test::run_cli({"align", fixture("ln_mlp.ts.pt"), b_path, "--method", "weight",
                                          "--out", out, "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    const io::Checkpoint aligned = io::load_checkpoint(out.toStdString());
    QCOMPARE(aligned.tensors.size(), a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      QCOMPARE(QString::fromStdString(aligned.tensors[i].name), QString::fromStdString("module." + a[i].name));
      QVERIFY2(at::equal(aligned.tensors[i].tensor, a[i].tensor), a[i].name.c_str());
    }
  }

  void imagesResizeToTheTracedInput() {
    // Half-pixel bilinear (torch's align_corners=False): 0,1 over 2 pixels -> 0,.25,.75,1.
    const at::Tensor img = at::arange(4, at::kFloat).reshape({1, 1, 2, 2});
    const at::Tensor r = data::resize_images(img, 3, 4, 4);
    QCOMPARE(r.sizes().vec(), (std::vector<int64_t>{1, 3, 4, 4}));
    QVERIFY(at::allclose(r[0][0][0], at::tensor({0.0f, 0.25f, 0.75f, 1.0f})));
    QVERIFY(at::equal(r[0][0], r[0][2]));  // grey replicated
    QVERIFY(at::equal(data::resize_images(img, 1, 2, 2), img));
    for (auto bad : {std::vector<int64_t>{2, 4, 4}, {3, 0, 4}, {3, 5000, 4}}) {
      try {
        data::resize_images(at::zeros({1, 3, 2, 2}), bad[0], bad[1], bad[2]);
        QFAIL("accepted a bad shape");
      } catch (const UserError&) {
      }
    }
    try {
      data::resize_images(at::zeros({60000, 1, 1, 1}), 3, 224, 224);  // 36 GB: refused, not allocated
      QFAIL("accepted 36 GB");
    } catch (const UserError& e) {
      QVERIFY2(QString(e.what()).contains("GB"), e.what());
    }
    try {
      data::resize_images(at::zeros({4, 10}), 1, 2, 2);
      QFAIL("resized a regression set");
    } catch (const UserError&) {
    }
  }

  void cliInputAdaptsTheDataToTheModel() {
    // The ViT was traced at 3 x 32 x 32; digits are 1 x 8 x 8. Without --input: one line naming
    // the fix; with it: the data is resized and replicated and the curve computed.
    const QString vit = fixture("vit.ts.pt");
    const test::CliRun refused = test::run_cli({"interpolate", vit, vit, "--data", "digits", "--points", "3"});
    QCOMPARE(refused.code, 1);
    QVERIFY2(refused.err.contains("takes images of 3 channels") && refused.err.contains("--input 3,32,32"),
             refused.err.constData());
    QCOMPARE(refused.err.count('\n'), 1);
    const test::CliRun r =
        test::run_cli({"interpolate", vit, vit, "--data", "digits", "--input", "3,32,32", "--points", "3", "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    const nlohmann::json j = nlohmann::json::parse(r.out.toStdString());
    QCOMPARE(j["loss"].size(), std::size_t(3));
    QVERIFY(std::isfinite(j["loss"][0].get<double>()) && j["barrier"].get<double>() == 0.0);
    const test::CliRun malformed = test::run_cli({"align", vit, vit, "--method", "activation", "--data", "digits", "--input", "3,32"});
    QCOMPARE(malformed.code, 1);
    QVERIFY2(malformed.err.contains("--input expects C,H,W"), malformed.err.constData());
  }
};

QTEST_GUILESS_MAIN(TestGraphModels)
#include "tst_graph_models.moc"
