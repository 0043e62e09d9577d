// The studio's Models dock on TorchScript models (any PyTorch model, core/nn/graph): the
// inspection derives the groups from the graph and shows head structure; a state dict that fits
// no built-in asks for its architecture, and the TorchScript of the same model chosen there
// reads it (inspection and a whole align job in the main window).
#include <QtTest/QtTest>

#include <ATen/ATen.h>

#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableWidget>

#include "app/studio/job_dock.h"
#include "app/studio/jobs.h"
#include "app/studio/main_window.h"
#include "app/studio/models_dock.h"
#include "common/runtime.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "nn/architecture.h"
#include "nn/permute.h"
#include "widgets/plan_heatmap.h"
#include "widgets/plot_types.h"

using namespace rebasin;

namespace {
QString fixture(const char* name) { return QStringLiteral(REBASIN_MODEL_FIXTURES "/") + name; }
}  // namespace

class TestStudioModels : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    configure_threads(2);
    QCoreApplication::setOrganizationName("rebasin-tests");  // keep the user's settings alone
    QCoreApplication::setApplicationName("tst_studio_models");
    widgets::registerPlotTypes();
  }

  void torchScriptModelShowsDerivedGroups() {
    const studio::ModelInfo info = studio::inspectModel(fixture("vit.ts.pt"));
    QVERIFY2(info.error.isEmpty(), qPrintable(info.error));
    QCOMPARE(info.format, QString("torchscript"));
    QVERIFY2(info.arch.contains("TorchScript graph"), qPrintable(info.arch));
    QCOMPARE(info.groups.size(), 7);
    int heads = 0;
    for (const auto& g : info.groups) heads += g.name.contains("4 heads x 8");
    QCOMPARE(heads, 4);
    QVERIFY(info.dropped.isEmpty());
    QVERIFY(!info.needsArch);
  }

  void graphOfOtherModelsToo() {
    const studio::ModelInfo info = studio::inspectModel(fixture("residual_cnn.ts.pt"));
    QVERIFY2(info.error.isEmpty(), qPrintable(info.error));
    QCOMPARE(info.groups.size(), 4);
  }

  void stateDictOfAUsersModelAsksForItsArchitecture() {
    // A LayerNorm MLP's state dict (saved from DDP) fits no built-in family.
    const studio::ModelInfo info = studio::inspectModel(fixture("ln_mlp_ddp.pt"));
    QVERIFY2(info.error.isEmpty(), qPrintable(info.error));
    QVERIFY(info.needsArch);
    QVERIFY(info.groups.isEmpty());
    QVERIFY(info.parameters > 0);
  }

  void chosenTorchScriptReadsTheStateDict() {
    const studio::ModelInfo info = studio::inspectModel(fixture("ln_mlp_ddp.pt"), fixture("ln_mlp.ts.pt"));
    QVERIFY2(info.error.isEmpty(), qPrintable(info.error));
    QVERIFY(!info.needsArch);
    QCOMPARE(info.groups.size(), 2);
    for (const auto& g : info.groups) QCOMPARE(g.size, 32);
    // Another model's TorchScript is refused naming a tensor, not silently accepted.
    const studio::ModelInfo wrong = studio::inspectModel(fixture("ln_mlp_ddp.pt"), fixture("residual_cnn.ts.pt"));
    QVERIFY(!wrong.error.isEmpty());
  }

  // A model trained by rebasin train says what it was trained on and the accuracy it reached,
  // in the inspection and in the Models dock.
  void dockShowsWhatAModelWasTrainedOn() {
    const QString path = QStringLiteral(REBASIN_DEMO_DIR "/fmnist-vit-seed1.safetensors");
    QCOMPARE(studio::inspectModel(path).trained, QStringLiteral("trained on fashion-mnist, test accuracy 86.39%"));
    QVERIFY(studio::inspectModel(fixture("vit.ts.pt")).trained.isEmpty());
    studio::ModelsDock dock;
    dock.setModel(0, path);
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
          for (const QLabel* label : dock.findChildren<QLabel*>())
            if (label->text().contains("trained on fashion-mnist, test accuracy 86.39%")) return true;
          return false;
        }(),
        60000);
  }

  void dockShowsTheArchitectureFieldOnlyWhenNeeded() {
    studio::ModelsDock dock;
    dock.show();
    auto* groups = dock.findChild<QTableWidget*>();
    QVERIFY(groups);
    dock.openModel(0, fixture("vit.ts.pt"));
    QTRY_COMPARE_WITH_TIMEOUT(groups->rowCount(), 7, 30000);
    QVERIFY(!dock.archFieldVisible());  // found by itself: no field in the way
    QCOMPARE(dock.arch(), QString("auto"));

    dock.openModel(0, fixture("ln_mlp_ddp.pt"));
    QTRY_VERIFY_WITH_TIMEOUT(dock.archFieldVisible(), 30000);
    QCOMPARE(groups->rowCount(), 0);
    QVERIFY(dock.findChild<QPushButton*>("archBrowse"));
    // Typing the TorchScript's path into the field (as the file picker fills it) re-reads A.
    auto* field = dock.findChild<QLineEdit*>("arch");
    QVERIFY(field);
    field->setText(fixture("ln_mlp.ts.pt"));
    Q_EMIT field->editingFinished();
    QTRY_COMPARE_WITH_TIMEOUT(groups->rowCount(), 2, 30000);
    QCOMPARE(dock.arch(), fixture("ln_mlp.ts.pt"));
    QVERIFY(dock.archFieldVisible());  // stays while it is set, so it can be changed back
    dock.setArch(QStringLiteral("auto"));
    QTRY_VERIFY_WITH_TIMEOUT(dock.archFieldVisible(), 30000);  // A still needs one
    QCOMPARE(groups->rowCount(), 0);
  }

  void alignJobUsesTheChosenArchitecture() {
    // B: a randomly permuted copy of A, under A's DDP names, as safetensors.
    const io::Checkpoint a = io::load_checkpoint(fixture("ln_mlp_ddp.pt").toStdString());
    const auto arch = nn::make_architecture(fixture("ln_mlp.ts.pt").toStdString());
    NamedTensors plain = arch->init(0);
    NamedTensors b = nn::permute(arch->spec(), plain, nn::random_permutations(arch->spec(), 7));
    for (auto& t : b) t.name = "module." + t.name;
    QTemporaryDir dir;
    const QString bPath = dir.filePath("b.safetensors");
    io::write_safetensors(bPath.toStdString(), b);

    studio::MainWindow w;
    w.setInteractive(false);
    w.show();
    studio::JobSettings s;
    s.task = studio::Task::Align;
    s.method = "weight";
    s.data = "mnist";
    s.points = 3;
    s.device = "cpu";
    w.jobDock()->setSettings(s);
    w.modelsDock()->openModel(0, fixture("ln_mlp_ddp.pt"));
    w.modelsDock()->openModel(1, bPath);
    QTRY_VERIFY_WITH_TIMEOUT(w.modelsDock()->archFieldVisible(), 30000);
    w.modelsDock()->setArch(fixture("ln_mlp.ts.pt"));
    QSignalSpy finished(w.runner(), &studio::JobRunner::finished);
    QSignalSpy failed(w.runner(), &studio::JobRunner::failed);
    QVERIFY(w.run() > 0);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() == 1, 300000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(1).toString()));
    QSet<QString> curves;
    for (const auto& c : w.results().curves) curves.insert(c.curve);
    QCOMPARE(curves.size(), 2);  // naive and weight, on MNIST

    // The aligned checkpoint, exported under B's names, is A exactly.
    const QString out = dir.filePath("aligned.safetensors");
    QString error;
    QVERIFY2(w.exportAligned(out, &error), qPrintable(error));
    const io::Checkpoint aligned = io::load_checkpoint(out.toStdString());
    QCOMPARE(aligned.tensors.size(), a.tensors.size());
    for (const auto& t : a.tensors) {
      const auto it = std::find_if(aligned.tensors.begin(), aligned.tensors.end(),
                                   [&](const auto& x) { return x.name == t.name; });
      QVERIFY2(it != aligned.tensors.end(), t.name.c_str());
      QVERIFY2(at::equal(it->tensor, t.tensor), t.name.c_str());
    }
  }

  void headGroupsReachThePlanViewWithTheirHeads() {
    // A traced ViT (4 heads of 8 units) aligned to a permuted copy: the head groups' plans
    // arrive with their head plan and matched inner plans, and the heatmap opens them.
    const auto arch = nn::make_architecture(fixture("vit.ts.pt").toStdString());
    const NamedTensors a = arch->init(0);
    QTemporaryDir dir;
    const QString bPath = dir.filePath("vit_b.safetensors");
    io::write_safetensors(bPath.toStdString(), nn::permute(arch->spec(), a, nn::random_permutations(arch->spec(), 3)));
    studio::MainWindow w;
    w.setInteractive(false);
    w.show();
    studio::JobSettings s;
    s.task = studio::Task::Align;
    s.method = "sinkhorn";
    s.steps = 5;
    s.data = "";  // no curves: the plans are what is looked at
    s.device = "cpu";
    w.jobDock()->setSettings(s);
    w.modelsDock()->setModel(0, fixture("vit.ts.pt"));
    w.modelsDock()->setModel(1, bPath);
    // B's state dict is read through A's graph, as the job reads it: no architecture to choose.
    QTRY_VERIFY_WITH_TIMEOUT(!w.modelsDock()->archFieldVisible() &&
                                 w.modelsDock()->findChild<QLabel*>("infoB")->text().contains("TorchScript graph"),
                             30000);
    QSignalSpy finished(w.runner(), &studio::JobRunner::finished);
    QSignalSpy failed(w.runner(), &studio::JobRunner::failed);
    QVERIFY(w.run() > 0);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() == 1, 300000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(1).toString()));
    int headed = 0;
    for (const auto& p : w.results().plans) {
      if (p.heads == 1) continue;
      ++headed;
      QCOMPARE(p.heads, 4);
      QCOMPARE(p.headValues.size(), 16);
      QCOMPARE(p.headAssignment.size(), 4);
      QCOMPARE(p.innerValues.size(), 4 * 8 * 8);
      double row = 0;  // the head plan's rows sum to 1, as the plan's do
      for (int j = 0; j < 4; ++j) row += p.headValues[j];
      QVERIFY2(std::abs(row - 1) < 1e-3, qPrintable(QString::number(row)));
    }
    QCOMPARE(headed, 4);  // 2 layers x (query/key, value/output)
    auto* heatmap = w.findChild<widgets::PlanHeatmap*>();
    QVERIFY(heatmap);
    for (const auto& p : w.results().plans)
      if (p.heads > 1) {
        heatmap->selectGroup(p.group);
        break;
      }
    heatmap->setHeadLevel(-1);
    QCOMPARE(heatmap->shownSide(), 4);
    heatmap->openHeadRow(3);
    QCOMPARE(heatmap->shownSide(), 8);
  }
};

QTEST_MAIN(TestStudioModels)
#include "tst_studio_models.moc"
