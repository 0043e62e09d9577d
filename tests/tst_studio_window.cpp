// The main window end to end: an alignment of the shipped demo models on MNIST drawn in every
// tab, exports (plots, data, checkpoint, permutations, interpolated model), a session round
// trip, and the rebasin-studio executable run headless as the README and CI run it.
#include <QFile>
#include <cmath>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>

#include "app/studio/demos.h"
#include "app/studio/job_dock.h"
#include "app/studio/main_window.h"
#include "app/studio/models_dock.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "nn/mapping.h"
#include "nn/permutation_file.h"
#include "nn/permute.h"
#include "widgets/curves_plot.h"
#include "widgets/merge_plot.h"
#include "widgets/method_table.h"
#include "widgets/objective_plot.h"
#include "widgets/plan_heatmap.h"
#include "widgets/plot_frame.h"
#include "widgets/plot_types.h"
#include "widgets/qcp.h"

#include <QLabel>
#include <QPushButton>
#include <QStatusBar>
#include <QMimeData>
#include <QSettings>
#include <QUrl>

using namespace rebasin::studio;

#include "cli_run.h"

namespace {

using rebasin::test::CliRun;

QByteArray head(const QString& path, qint64 n) { return rebasin::test::file_head(path, n); }

CliRun runStudio(const QStringList& args) {
  return rebasin::test::run_program(QStringLiteral(REBASIN_STUDIO_PATH), args, 600000);
}

}  // namespace

class TestStudioWindow : public QObject {
  Q_OBJECT

 private:
  // The plan view's last plan of every group is the run's result and draws the permutation in
  // the exported file, unit for unit (row i of A -> column perm[i] of B in both).
  static void drawsTheExportedPermutation(const MainWindow& w, const QString& permFile) {
    const auto* plans = w.findChild<rebasin::widgets::PlanHeatmap*>();
    QVERIFY(plans);
    const QJsonArray groups = QJsonDocument::fromJson(head(permFile, 1 << 24)).object()["groups"].toArray();
    QVERIFY(!groups.isEmpty());
    QCOMPARE(w.results().permutations.size(), groups.size());
    for (int g = 0; g < groups.size(); ++g) {
      QVector<qint64> written;
      for (const QJsonValue& x : groups[g].toObject()["perm"].toArray()) written << qint64(x.toDouble());
      QVERIFY(plans->showsResult(g));
      QCOMPARE(plans->drawnAssignment(g), written);
      QCOMPARE(w.results().permutations[g], written);
    }
    QVERIFY(plans->stepText().startsWith("result"));
  }

  // A headless demo's report carries, per group, the drawn assignment and the returned
  // permutation: equal, and the drawn plan is the result.
  static void reportDrawsTheReturnedPermutation(const QJsonObject& json) {
    const QJsonArray groups = json.value("groups").toArray();
    QVERIFY(!groups.isEmpty());
    for (const QJsonValue& v : groups) {
      const QJsonObject g = v.toObject();
      QVERIFY2(g.value("drawn_is_result").toBool(), qPrintable(g.value("name").toString()));
      QVERIFY(!g.value("permutation").toArray().isEmpty());
      QCOMPARE(g.value("drawn_assignment").toArray(), g.value("permutation").toArray());
    }
  }

 private Q_SLOTS:
  void initTestCase() {
    QCoreApplication::setOrganizationName("rebasin-tests");  // keep the user's settings alone
    QCoreApplication::setApplicationName("tst_studio_window");
    rebasin::widgets::registerPlotTypes();
    initStudioResources();
  }

  void alignEndToEnd() {
    QTemporaryDir dir;
    MainWindow w;
    w.setInteractive(false);
    w.resize(1400, 900);
    w.show();
    JobSettings s;
    s.task = Task::Align;
    s.method = "sinkhorn";
    s.cost = "l2";
    s.data = "mnist";
    s.points = 5;
    s.landscapeGrid = 5;
    s.device = "cpu";
    w.jobDock()->setSettings(s);
    w.modelsDock()->setModel(0, REBASIN_DEMO_DIR "/mnist-mlp-seed1.safetensors");
    w.modelsDock()->setModel(1, REBASIN_DEMO_DIR "/mnist-mlp-seed2.safetensors");
    QSignalSpy finished(w.runner(), &JobRunner::finished);
    QSignalSpy failed(w.runner(), &JobRunner::failed);
    QVERIFY(w.run() > 0);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() == 1, 300000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(1).toString()));

    const Results& r = w.results();
    QVERIFY(!r.steps.isEmpty());
    QCOMPARE(r.plans.size(), 2);           // fc1 and fc2
    QCOMPARE(r.curves.size(), 2 * 5);      // naive and sinkhorn-l2 at 5 lambdas
    QCOMPARE(r.landscape.size(), 5);
    const QJsonObject barrier = r.summary.value("barrier").toObject();
    QVERIFY(barrier.value("aligned").toDouble() < barrier.value("naive").toDouble());

    // Exports: the current plot as PNG, every plot as SVG, data, checkpoint, permutations.
    QString error;
    const QString png = dir.filePath("plot.png");
    QVERIFY2(w.exportCurrentPlot(png, &error), qPrintable(error));
    QCOMPARE(head(png, 4), QByteArray("\x89PNG"));
    QVERIFY(!QImage(png).isNull());
    // The figure says what it shows (models, data, method, group, step) and a plan is square.
    QVERIFY(w.figureCaption(w.tabs()->currentIndex()).contains("A mnist-mlp-seed1, B mnist-mlp-seed2"));
    w.tabs()->setCurrentIndex(0);
    QVERIFY(w.figureCaption(0).contains("group fc1, result: the permutation returned"));
    const QString planPng = dir.filePath("plan.png");
    QVERIFY2(w.exportCurrentPlot(planPng, &error, 900, 600, 2.0), qPrintable(error));
    QCOMPARE(QImage(planPng).size(), QSize(1800, 1800));  // square, at twice the pixels
    QCOMPARE(QImage(planPng).dotsPerMeterX(), qRound(192 / 0.0254));
    // Export all: the tabs this run filled, not the empty ones (nothing stale, nothing blank).
    QVERIFY2(w.exportAllPlots(dir.path(), "svg", &error), qPrintable(error));
    QVERIFY(QFile::exists(dir.filePath("transport-plans.svg")));
    QVERIFY(QFile::exists(dir.filePath("interpolation.svg")));
    QVERIFY(QFile::exists(dir.filePath("landscape.svg")));
    QVERIFY(!QFile::exists(dir.filePath("continual-learning.svg")));
    QVERIFY(!QFile::exists(dir.filePath("merge.svg")));
    w.tabs()->setCurrentIndex(5);  // continual learning: empty
    QVERIFY(!w.exportCurrentPlot(dir.filePath("empty.png"), &error));
    QVERIFY(error.contains("nothing to export"));
    QVERIFY(!QFile::exists(dir.filePath("empty.png")));
    w.tabs()->setCurrentIndex(1);
    QVERIFY2(w.exportData(dir.filePath("all.json"), &error), qPrintable(error));
    QVERIFY(QJsonDocument::fromJson(head(dir.filePath("all.json"), 1 << 26)).object().contains("curves"));
    w.tabs()->setCurrentIndex(1);
    QVERIFY2(w.exportData(dir.filePath("curves.csv"), &error), qPrintable(error));
    QVERIFY(head(dir.filePath("curves.csv"), 100).startsWith("curve,split,lambda,loss,accuracy\n"));

    const QString ckpt = dir.filePath("b-aligned.safetensors");
    QVERIFY2(w.exportAligned(ckpt, &error), qPrintable(error));
    const auto aligned = rebasin::io::load_checkpoint(ckpt.toStdString());
    const auto original = rebasin::io::load_checkpoint(REBASIN_DEMO_DIR "/mnist-mlp-seed2.safetensors");
    QCOMPARE(aligned.tensors.size(), original.tensors.size());
    for (std::size_t i = 0; i < aligned.tensors.size(); ++i) {
      QCOMPARE(aligned.tensors[i].name, original.tensors[i].name);
      QVERIFY(aligned.tensors[i].tensor.sizes() == original.tensors[i].tensor.sizes());
    }
    QVERIFY2(w.exportPermutationFile(dir.filePath("perm.json"), &error), qPrintable(error));
    QVERIFY(head(dir.filePath("perm.json"), 1 << 20).contains("fc1"));
    drawsTheExportedPermutation(w, dir.filePath("perm.json"));
    QVERIFY2(w.exportInterpolatedModel(0.5, dir.filePath("mid.safetensors"), &error), qPrintable(error));
    QCOMPARE(rebasin::io::load_checkpoint(dir.filePath("mid.safetensors").toStdString()).tensors.size(),
             original.tensors.size());
    // A write that cannot happen fails cleanly and leaves nothing.
    QVERIFY(!w.exportAligned(dir.filePath("missing/b.safetensors"), &error));
    QVERIFY(!error.isEmpty());
    QVERIFY(!QFile::exists(dir.filePath("missing/b.safetensors")));

    // Session round trip: a new window shows the same results and settings.
    const QString session = dir.filePath("s.rebasin.json");
    QVERIFY2(w.saveSession(session, &error), qPrintable(error));
    MainWindow w2;
    w2.setInteractive(false);
    QVERIFY2(w2.openSession(session, &error), qPrintable(error));
    QCOMPARE(w2.results().curves.size(), r.curves.size());
    QCOMPARE(w2.results().steps.size(), r.steps.size());
    QCOMPARE(w2.results().plans.size(), 2);
    QCOMPARE(w2.results().permutations, r.permutations);
    // Every export of the alignment works after reopening, and gives the same files.
    QVERIFY2(w2.exportPermutationFile(dir.filePath("perm-reopened.json"), &error), qPrintable(error));
    QCOMPARE(head(dir.filePath("perm-reopened.json"), 1 << 24), head(dir.filePath("perm.json"), 1 << 24));
    QVERIFY2(w2.exportAligned(dir.filePath("b-reopened.safetensors"), &error), qPrintable(error));
    QCOMPARE(head(dir.filePath("b-reopened.safetensors"), 1 << 26), head(ckpt, 1 << 26));
    QVERIFY2(w2.exportInterpolatedModel(0.5, dir.filePath("mid-reopened.safetensors"), &error), qPrintable(error));
    QCOMPARE(w2.findChild<rebasin::widgets::ObjectivePlot*>()->chosenStep(), w.findChild<rebasin::widgets::ObjectivePlot*>()->chosenStep());
    QCOMPARE(w2.results().landscape.size(), 5);
    QCOMPARE(w2.modelsDock()->modelB(), w.modelsDock()->modelB());
    QCOMPARE(w2.jobDock()->settings().landscapeGrid, 5);
    QVERIFY(!w2.openSession(png, &error));  // not a session

    // A second method on the same pair adds its curve beside the first (one curve per run).
    s.method = "weight";
    s.landscapeGrid = 0;
    w.jobDock()->setSettings(s);
    QVERIFY(w.run() > 0);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() == 2, 300000);
    QVERIFY(failed.isEmpty());
    QCOMPARE(w.results().curves.size(), 3 * 5);  // naive (re-measured, replaced), sinkhorn-l2, weight
    QVERIFY(w.results().landscape.isEmpty());
    // The comparison table under the curves: naive, sinkhorn-l2 and weight, the alignments with
    // their seconds and steps.
    const auto* table = w.findChild<rebasin::widgets::MethodTable*>();
    QVERIFY(table);
    QCOMPARE(table->rowCount(), 3);
    for (int row = 0; row < 3; ++row) {
      QVERIFY(table->text(row, 1) != "-");  // every curve has its barrier
      QCOMPARE(table->text(row, 4) == "-", table->text(row, 0) == "naive");
    }
    // Weight matching has no soft plan: its permutation is drawn as a 0/1 plan, the exported one.
    QVERIFY2(w.exportPermutationFile(dir.filePath("perm-weight.json"), &error), qPrintable(error));
    drawsTheExportedPermutation(w, dir.filePath("perm-weight.json"));

    // The run history: the Sinkhorn run can be shown again - its results, its plans and the
    // alignment its exports use - and the weight run after it.
    QCOMPARE(w.runCount(), 2);
    QVERIFY2(w.runTitle(0).contains("align sinkhorn-l2: barrier"), qPrintable(w.runTitle(0)));
    QVERIFY(w.showRun(0));
    QCOMPARE(w.results().summary.value("label").toString(), QStringLiteral("sinkhorn-l2"));
    QCOMPARE(w.results().curves.size(), 2 * 5);
    drawsTheExportedPermutation(w, dir.filePath("perm.json"));
    QVERIFY2(w.exportPermutationFile(dir.filePath("perm-again.json"), &error), qPrintable(error));
    QCOMPARE(head(dir.filePath("perm-again.json"), 1 << 24), head(dir.filePath("perm.json"), 1 << 24));
    QVERIFY(w.showRun(1));
    QCOMPARE(w.results().summary.value("label").toString(), QStringLiteral("weight"));
    drawsTheExportedPermutation(w, dir.filePath("perm-weight.json"));
    // Two methods side by side: the Sinkhorn run's plans beside the weight run's, same group.
    QVERIFY(w.comparePlansWith(0));
    auto* compare = w.findChild<rebasin::widgets::PlanHeatmap*>("comparePlans");
    QVERIFY(compare && compare->isVisible());
    const QJsonArray sinkhornGroups = QJsonDocument::fromJson(head(dir.filePath("perm.json"), 1 << 24)).object()["groups"].toArray();
    QVector<qint64> sinkhornFc1;
    for (const QJsonValue& x : sinkhornGroups[0].toObject()["perm"].toArray()) sinkhornFc1 << qint64(x.toDouble());
    QCOMPARE(compare->selectedGroup(), 0);
    QCOMPARE(compare->drawnAssignment(0), sinkhornFc1);
    QVERIFY(compare->showsResult(0));
    QVERIFY(w.comparePlansWith(-1));
    QVERIFY(!compare->isVisible());

    // A run that fails (B of another architecture) gives back every result shown before it.
    const Results before = w.results();
    w.modelsDock()->setModel(1, REBASIN_DEMO_DIR "/fmnist-vit-seed2.safetensors");
    w.jobDock()->setSettings(s);
    QVERIFY(w.run() > 0);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() == 3, 300000);
    QCOMPARE(failed.count(), 1);
    QCOMPARE(w.results().curves.size(), before.curves.size());
    QCOMPARE(w.results().steps.size(), before.steps.size());
    QCOMPARE(w.results().plans.size(), before.plans.size());
    QCOMPARE(w.results().permutations, before.permutations);
    QCOMPARE(w.results().summary, before.summary);
    QCOMPARE(w.findChild<rebasin::widgets::CurvesPlot*>()->curveNames().size(), 3);
    drawsTheExportedPermutation(w, dir.filePath("perm-weight.json"));  // the plan view too
  }

  // A projector's window: at 1280 x 720, and in presentation mode (full screen, text x1.5, a
  // caption on every view), Run and Stop stay in view and the plots' text grows with the rest.
  void presentationModeForAClassroom() {
    MainWindow w;
    w.setInteractive(false);
    w.resize(1280, 720);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QPushButton* runButton = nullptr;
    for (QPushButton* b : w.jobDock()->findChildren<QPushButton*>())
      if (b->text() == "Run") runButton = b;
    QVERIFY(runButton);
    const auto reachable = [&](QWidget* widget) {
      QCoreApplication::processEvents();
      const QRect inWindow(widget->mapTo(&w, QPoint(0, 0)), widget->size());
      return widget->isVisible() && !widget->visibleRegion().isEmpty() && w.rect().contains(inWindow);
    };
    QVERIFY(reachable(runButton));

    const double base = w.font().pointSizeF();
    const auto* curves = w.findChild<rebasin::widgets::CurvesPlot*>();
    const double axisBase = curves->plot()->xAxis->labelFont().pointSizeF();
    auto* caption = w.findChild<QLabel*>("caption");
    QVERIFY(caption && !caption->isVisible());
    w.setPresentation(true);
    QVERIFY(w.presentation());
    QVERIFY(w.windowState() & Qt::WindowFullScreen);
    QCOMPARE(w.font().pointSizeF(), base * 1.5);
    QCOMPARE(curves->plot()->xAxis->labelFont().pointSizeF(), axisBase * 1.5);
    QVERIFY(caption->isVisible());
    for (int tab = 0; tab < w.tabs()->count(); ++tab) {
      w.tabs()->setCurrentIndex(tab);
      QVERIFY(!w.caption(tab).isEmpty());
      QCOMPARE(caption->text(), w.caption(tab));
    }
    QVERIFY(reachable(runButton));
    w.setPresentation(false);
    QVERIFY(!(w.windowState() & Qt::WindowFullScreen));
    QCOMPARE(w.font().pointSizeF(), base);
    QCOMPARE(curves->plot()->xAxis->labelFont().pointSizeF(), axisBase);
    QVERIFY(!caption->isVisible());

    // Help pages, offline: what re-basin is, and every shortcut (F11 included).
    QVERIFY(MainWindow::aboutRebasinHtml().contains("barrier"));
    QVERIFY(w.shortcutsHtml().contains("F11"));
    QVERIFY(w.shortcutsHtml().contains("Presentation mode"));
  }

  // Data that contradicts what the models' metadata records is not a silent run: the job warns,
  // the status bar and the report say so.
  void warnsWhenTheDataIsNotTheModelsOwn() {
    MainWindow w;
    w.setInteractive(false);
    JobSettings s;
    s.task = Task::Interpolate;
    s.data = "mnist";  // the ViTs were trained on fashion-mnist
    s.points = 2;
    s.device = "cpu";
    w.jobDock()->setSettings(s);
    w.modelsDock()->setModel(0, REBASIN_DEMO_DIR "/fmnist-vit-seed1.safetensors");
    w.modelsDock()->setModel(1, REBASIN_DEMO_DIR "/fmnist-vit-seed2.safetensors");
    w.jobDock()->setSettings(s);
    QSignalSpy finished(w.runner(), &JobRunner::finished);
    QSignalSpy failed(w.runner(), &JobRunner::failed);
    QVERIFY(w.run() > 0);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() == 1, 300000);
    QVERIFY(failed.isEmpty());
    const QJsonArray warnings = w.results().summary.value("warnings").toArray();
    QCOMPARE(warnings.size(), 2);  // A and B
    QVERIFY(warnings[0].toString().contains("trained on fashion-mnist"));
    bool shown = false;
    for (const QLabel* label : w.statusBar()->findChildren<QLabel*>()) shown = shown || label->text().contains("warning: model A");
    QVERIFY(shown);

    // On their own data: no warning.
    s.data = "fashion-mnist";
    w.jobDock()->setSettings(s);
    QVERIFY(w.run() > 0);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() == 2, 300000);
    QVERIFY(failed.isEmpty());
    QVERIFY(!w.results().summary.contains("warnings"));
  }

  void repairCurveBesideTheAligned() {
    // REPAIR on align: the aligned line REPAIRed at every point is one more curve, and its
    // barrier is reported beside the others.
    MainWindow w;
    w.setInteractive(false);
    JobSettings s;
    s.task = Task::Align;
    s.method = "weight";
    s.data = "mnist";
    s.points = 3;
    s.repair = true;
    s.device = "cpu";
    w.jobDock()->setSettings(s);
    QCOMPARE(w.jobDock()->settings().repair, true);
    w.modelsDock()->setModel(0, REBASIN_DEMO_DIR "/mnist-mlp-seed1.safetensors");
    w.modelsDock()->setModel(1, REBASIN_DEMO_DIR "/mnist-mlp-seed2.safetensors");
    QSignalSpy finished(w.runner(), &JobRunner::finished);
    QSignalSpy failed(w.runner(), &JobRunner::failed);
    QVERIFY(w.run() > 0);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() == 1, 300000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(1).toString()));
    int repaired = 0;
    for (const auto& c : w.results().curves) repaired += c.curve == "weight+repair";
    QCOMPARE(repaired, 3);
    QCOMPARE(w.results().curves.size(), 3 * 3);  // naive, weight, weight+repair
    const QJsonObject barrier = w.results().summary.value("barrier").toObject();
    QVERIFY(barrier.contains("repaired"));
    QVERIFY(barrier.value("repaired").toDouble(-1) >= 0.0);
    // The endpoints of the REPAIRed line are the models themselves.
    for (const auto& c : w.results().curves)
      if (c.curve == "weight+repair" && c.lambda == 0.0)
        for (const auto& d : w.results().curves)
          if (d.curve == "naive" && d.lambda == 0.0) QVERIFY(std::abs(c.accuracy - d.accuracy) < 2e-3);
  }

  void mergeEndToEnd() {
    // Three models: the two demo MLPs and a randomly permuted copy of the first, which the merge
    // must put back exactly (barrier to the first 0 after alignment, clearly above 0 before).
    QTemporaryDir dir;
    const auto ck = rebasin::io::load_checkpoint(REBASIN_DEMO_DIR "/mnist-mlp-seed1.safetensors");
    const auto mapped = rebasin::nn::map_checkpoint(ck.tensors, "mlp:784,128,128,10");
    const auto& spec = mapped.arch->spec();
    const QString copy = dir.filePath("seed1-permuted.safetensors");
    rebasin::io::write_safetensors(copy.toStdString(),
                                   rebasin::nn::permute(spec, mapped.params, rebasin::nn::random_permutations(spec, 3)),
                                   {{"arch", "mlp:784,128,128,10"}});

    MainWindow w;
    w.setInteractive(false);
    w.resize(1400, 900);
    w.show();
    JobSettings s;
    s.task = Task::Merge;
    s.method = "weight";
    s.data = "mnist";
    s.points = 3;
    s.device = "cpu";
    w.jobDock()->setSettings(s);
    w.modelsDock()->setModel(0, REBASIN_DEMO_DIR "/mnist-mlp-seed1.safetensors");
    w.modelsDock()->setModel(1, REBASIN_DEMO_DIR "/mnist-mlp-seed2.safetensors");
    w.modelsDock()->setMoreModels({copy});
    QSignalSpy finished(w.runner(), &JobRunner::finished);
    QSignalSpy failed(w.runner(), &JobRunner::failed);
    QSignalSpy views(w.runner(), &JobRunner::mergeViewAvailable);
    QVector<double> fractions;
    connect(w.runner(), &JobRunner::progress, this, [&](const JobProgress& p) { fractions << p.fraction; });
    QVERIFY(w.run() > 0);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() == 1, 300000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(1).toString()));
    QVERIFY(views.count() >= 6);  // live: one view per measured pair (3 before, 3 after), then accuracies
    // One progress bar over the whole job: core's merge stage does not start it over.
    QVERIFY(!fractions.isEmpty());
    for (int i = 1; i < fractions.size(); ++i)
      QVERIFY2(fractions[i] >= fractions[i - 1] - 1e-12,
               qPrintable(QString("progress went back from %1 to %2").arg(fractions[i - 1]).arg(fractions[i])));
    QCOMPARE(fractions.last(), 1.0);

    const rebasin::widgets::MergeView& m = w.results().merge;
    QCOMPARE(m.count(), 3);
    for (double v : m.before) QVERIFY(std::isfinite(v));
    for (double v : m.after) QVERIFY(std::isfinite(v));
    QVERIFY2(m.before[0 * 3 + 2] > 0.05, qPrintable(QString::number(m.before[2])));
    QVERIFY2(std::abs(m.after[0 * 3 + 2]) < 1e-4, qPrintable(QString::number(m.after[2])));
    QVERIFY(m.after[0 * 3 + 1] < m.before[0 * 3 + 1]);  // the trained pair: alignment lowers it
    for (double a : m.accuracy) QVERIFY(a > 0.9);
    QVERIFY(m.merged > m.naiveAverage);
    QVERIFY(m.ensemble > 0.9);
    QCOMPARE(w.tabs()->tabText(w.tabs()->currentIndex()), QString("Merge"));
    auto* plot = qobject_cast<rebasin::widgets::MergePlot*>(w.tabs()->currentWidget());
    QVERIFY(plot);
    QCOMPARE(plot->measuredCells(), 18);
    QVERIFY(!plot->isPlaceholderVisible());
    QCOMPARE(w.results().summary.value("task").toString(), QString("merge"));

    // Exports: the merged checkpoint under model A's names, the barrier table as CSV.
    QString error;
    const QString merged = dir.filePath("merged.safetensors");
    QVERIFY2(w.exportMerged(merged, &error), qPrintable(error));
    const auto out = rebasin::io::load_checkpoint(merged.toStdString());
    QCOMPARE(out.tensors.size(), ck.tensors.size());
    for (std::size_t i = 0; i < out.tensors.size(); ++i) QCOMPARE(out.tensors[i].name, ck.tensors[i].name);
    QVERIFY2(w.exportData(dir.filePath("merge.csv"), &error), qPrintable(error));
    const QByteArray csv = head(dir.filePath("merge.csv"), 1 << 16);
    QVERIFY(csv.startsWith("model_i,model_j,barrier_before,barrier_after,accuracy\n"));
    QVERIFY(csv.contains("seed1-permuted"));

    // Session round trip: the further models and the merge view come back.
    const QString session = dir.filePath("merge.rebasin.json");
    QVERIFY2(w.saveSession(session, &error), qPrintable(error));
    MainWindow w2;
    w2.setInteractive(false);
    QVERIFY2(w2.openSession(session, &error), qPrintable(error));
    QCOMPARE(w2.modelsDock()->moreModels(), QStringList{copy});
    QCOMPARE(w2.results().merge.before, m.before);
    QCOMPARE(w2.results().merge.merged, m.merged);
    QCOMPARE(w2.jobDock()->settings().task, Task::Merge);

    // Fewer than two models: one line saying what is missing, no crash.
    MainWindow w3;
    w3.setInteractive(false);
    w3.jobDock()->setSettings(s);
    w3.modelsDock()->setModel(0, REBASIN_DEMO_DIR "/mnist-mlp-seed1.safetensors");
    QSignalSpy failed3(w3.runner(), &JobRunner::failed);
    QVERIFY(w3.run() > 0);
    QTRY_COMPARE_WITH_TIMEOUT(failed3.count(), 1, 60000);
    QVERIFY(failed3.at(0).at(1).toString().contains("at least 2 models"));
    QVERIFY(!w3.exportMerged(dir.filePath("none.safetensors"), &error));
    QVERIFY(!QFile::exists(dir.filePath("none.safetensors")));
  }

  void demoSettingsAreNotTheUsersOwn() {
    // The user's settings, then a demo: the next launch opens with the user's, not the demo's.
    QSettings().remove("job/settings");
    {
      MainWindow w;
      w.setInteractive(false);
      JobSettings mine = w.jobDock()->settings();
      mine.lr = 0.7;
      mine.steps = 11;
      w.jobDock()->setSettings(mine);
      QVERIFY(w.startDemo("recover"));
      QCOMPARE(w.jobDock()->settings().task, Task::Recover);
      w.stop();
      QTRY_VERIFY_WITH_TIMEOUT(!w.runner()->isRunning(), 60000);
      w.close();
    }
    {
      MainWindow w;
      w.setInteractive(false);
      QCOMPARE(w.jobDock()->settings().lr, 0.7);
      QCOMPARE(w.jobDock()->settings().steps, 11);
      // A change made after a demo is the user's own and is kept.
      QVERIFY(w.startDemo("recover"));
      w.stop();
      QTRY_VERIFY_WITH_TIMEOUT(!w.runner()->isRunning(), 60000);
      JobSettings edited = w.jobDock()->settings();
      edited.steps = 42;
      w.jobDock()->setSettings(edited);
      w.close();
    }
    MainWindow w;
    QCOMPARE(w.jobDock()->settings().steps, 42);
    QSettings().remove("job/settings");
  }

  // A demo borrows the Models dock: when it ends (finished or stopped) the user's models are
  // back; a demo started while another runs does not get the user's models put over its own.
  // (A run of the user's own on a demo's models makes them the user's: nothing is put back.)
  void demoPutsTheUsersModelsBack() {
    const QString a = REBASIN_DEMO_DIR "/mnist-mlp-seed1.safetensors", b = REBASIN_DEMO_DIR "/mnist-mlp-seed2.safetensors";
    MainWindow w;
    w.setInteractive(false);
    w.modelsDock()->setModel(0, a);
    w.modelsDock()->setModel(1, b);
    QSignalSpy finished(w.runner(), &JobRunner::finished);
    QSignalSpy cancelled(w.runner(), &JobRunner::cancelled);
    QVERIFY(w.startDemo("align"));
    QVERIFY(w.modelsDock()->modelA() != a);  // the demo's own pair
    QVERIFY(w.startDemo("recover"));         // replaces the align demo (its end is not reported)
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 300000);
    QCOMPARE(w.modelsDock()->modelA(), a);
    QCOMPARE(w.modelsDock()->modelB(), b);
    QVERIFY(w.startDemo("align"));
    w.stop();
    QTRY_VERIFY_WITH_TIMEOUT(!w.runner()->isRunning() && cancelled.count() == 1, 60000);
    QCOMPARE(w.modelsDock()->modelA(), a);
    QCOMPARE(w.modelsDock()->modelB(), b);
  }

  // The recover demo paced for narration: after the run its plans replay for 20 s on the
  // Transport plans tab, from the first step to the result.
  void pacedDemoReplaysForNarration() {
    MainWindow w;
    w.setInteractive(false);
    QSignalSpy finished(w.runner(), &JobRunner::finished);
    QVERIFY(w.startPacedDemo("recover"));
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 300000);
    auto* plans = w.findChild<rebasin::widgets::PlanHeatmap*>();
    QCOMPARE(w.tabs()->currentIndex(), 0);
    QVERIFY(plans->isReplaying());
    QVERIFY(plans->frameCount() >= 2);
    QCOMPARE(plans->replaySeconds(), 20.0);
    QVERIFY(plans->stepText().startsWith("step"));
    plans->pauseReplay();
    plans->showFrame(-1);
    QVERIFY(plans->stepText().startsWith("result"));
  }

  void openingTwoModelsSelectsAlign() {
    const QString a = REBASIN_DEMO_DIR "/mnist-mlp-seed1.safetensors";
    const QString b = REBASIN_DEMO_DIR "/mnist-mlp-seed2.safetensors";
    MainWindow w;
    w.setInteractive(false);
    JobSettings s = w.jobDock()->settings();
    s.task = Task::Recover;
    w.jobDock()->setSettings(s);
    w.modelsDock()->openModel(0, a);  // one model: nothing to align yet
    QCOMPARE(w.jobDock()->settings().task, Task::Recover);
    w.modelsDock()->openModel(1, b);
    QCOMPARE(w.jobDock()->settings().task, Task::Align);
    // Drag and drop of two files does the same.
    s.task = Task::Continual;
    w.jobDock()->setSettings(s);
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(a), QUrl::fromLocalFile(b)});
    QDropEvent drop(QPointF(5, 5), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    // Delivered to the dock itself: QApplication passes drop events on only during a real drag.
    static_cast<QObject*>(w.modelsDock())->event(&drop);
    QCOMPARE(w.modelsDock()->modelB(), b);
    QCOMPARE(w.jobDock()->settings().task, Task::Align);
    // Three or more files: the rest go to the models to merge, and the merge task is chosen.
    QMimeData three;
    three.setUrls({QUrl::fromLocalFile(a), QUrl::fromLocalFile(b), QUrl::fromLocalFile(a)});
    QDropEvent dropThree(QPointF(5, 5), Qt::CopyAction, &three, Qt::LeftButton, Qt::NoModifier);
    static_cast<QObject*>(w.modelsDock())->event(&dropThree);
    QCOMPARE(w.modelsDock()->moreModels(), QStringList{a});
    QCOMPARE(w.jobDock()->settings().task, Task::Merge);
    w.modelsDock()->setMoreModels({});
    // A chosen interpolate stays; models set by a session or a demo leave the task alone.
    s.task = Task::Interpolate;
    w.jobDock()->setSettings(s);
    w.modelsDock()->openModel(1, b);
    QCOMPARE(w.jobDock()->settings().task, Task::Interpolate);
    s.task = Task::Continual;
    w.jobDock()->setSettings(s);
    w.modelsDock()->setModel(1, b);
    QCOMPARE(w.jobDock()->settings().task, Task::Continual);
  }

  void emptyPlotsSayWhatFillsThem() {
    MainWindow w;
    w.resize(1400, 900);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    // A tab is a plot, or holds one (the plans tab: the plan beside an optional comparison).
    const auto frameOf = [&](int i) {
      auto* frame = qobject_cast<rebasin::widgets::PlotFrame*>(w.tabs()->widget(i));
      return frame ? frame : w.tabs()->widget(i)->findChild<rebasin::widgets::PlotFrame*>();
    };
    for (int i = 0; i < w.tabs()->count(); ++i) {
      auto* frame = frameOf(i);
      QVERIFY(frame);
      QVERIFY2(frame->isPlaceholderVisible(), qPrintable(w.tabs()->tabText(i)));
      QVERIFY(frame->placeholderText().startsWith("Run "));
    }
    auto* plans = frameOf(0);
    QCOMPARE(plans->placeholderText(), QString("Run align or recover to see the transport plans"));
    // The line covers the plot (no blank axes), which keeps its size for exports.
    auto* label = plans->plot()->findChild<QLabel*>();
    QVERIFY(label && label->isVisible());
    QCOMPARE(label->geometry(), plans->plot()->rect());
    // A job's first data replaces the line.
    QVERIFY(w.startDemo("recover"));
    QTRY_VERIFY_WITH_TIMEOUT(!plans->isPlaceholderVisible(), 120000);
    w.stop();
    QTRY_VERIFY_WITH_TIMEOUT(!w.runner()->isRunning(), 60000);
    QSettings().remove("job/settings");
  }

  void demoSettingsNeedNoFiles() {
    JobSettings s;
    QString error;
    QVERIFY2(demoSettings("align", &s, &error), qPrintable(error));
    QVERIFY(QFile::exists(s.modelA));
    QVERIFY(QFile::exists(s.modelB));
    QVERIFY(demoSettings("recover", &s, &error));
    QCOMPARE(s.task, Task::Recover);
    QVERIFY(demoSettings("continual", &s, &error));
    QCOMPARE(s.task, Task::Continual);
    QVERIFY2(demoSettings("vit", &s, &error), qPrintable(error));
    QCOMPARE(s.data, QStringLiteral("fashion-mnist"));
    QVERIFY(QFile::exists(s.modelA) && QFile::exists(s.modelB));
    QVERIFY(!demoSettings("nonsense", &s, &error));
    QVERIFY(error.contains("nonsense"));
  }

  // The executable as CI and the README run it: headless demo, screenshot of >= 1200 x 800.
  void executableRunsTheRecoverDemoHeadless() {
    QTemporaryDir dir;
    const QString shot = dir.filePath("recover.png"), report = dir.filePath("recover.json");
    const CliRun r = runStudio({"--demo", "recover", "--screenshot", shot, "--report", report});
    QVERIFY2(r.code == 0, r.err.constData());
    const QImage image(shot);
    QVERIFY(!image.isNull());
    QVERIFY(image.width() >= 1200 && image.height() >= 800);
    const QJsonObject json = QJsonDocument::fromJson(head(report, 1 << 20)).object();
    QCOMPARE(json.value("recovered_fraction").toDouble(), 1.0);
    reportDrawsTheReturnedPermutation(json);
  }

  void executableRunsTheVitDemoHeadless() {
    // The fourth demo: the two shipped Fashion-MNIST ViTs, Sinkhorn re-basin with two-level
    // plans over every layer's heads; the aligned midpoint is better than the naive one.
    QTemporaryDir dir;
    const QString shot = dir.filePath("vit.png"), report = dir.filePath("vit.json");
    const CliRun r = runStudio({"--demo", "vit", "--screenshot", shot, "--report", report});
    QVERIFY2(r.code == 0, r.err.constData());
    QVERIFY(!QImage(shot).isNull());
    const QJsonObject json = QJsonDocument::fromJson(head(report, 1 << 20)).object();
    QVERIFY(json.value("arch").toString().startsWith("vit:"));
    int headGroups = 0;
    for (const QJsonValue& g : json.value("groups").toArray()) headGroups += g.toObject().value("heads").toInt() == 4;
    QCOMPARE(headGroups, 12);  // query/key and value/output heads of 6 layers
    const QJsonObject barrier = json.value("barrier").toObject();
    QVERIFY2(barrier.value("aligned").toDouble() < barrier.value("naive").toDouble(),
             QJsonDocument(barrier).toJson().constData());
    reportDrawsTheReturnedPermutation(json);
  }

  void executableRejectsBadArguments() {
    CliRun r = runStudio({"--demo", "nonsense", "--screenshot", "x.png"});
    QCOMPARE(r.code, 1);
    QVERIFY(r.err.contains("unknown demo"));
    r = runStudio({"--screenshot", "x.png"});
    QCOMPARE(r.code, 1);
    QVERIFY(r.err.contains("--demo"));
    QTemporaryDir dir;
    r = runStudio({"--demo", "recover", "--screenshot", dir.filePath("no/such/dir/x.png")});
    QCOMPARE(r.code, 1);
    QVERIFY(!QFile::exists(dir.filePath("no/such/dir/x.png")));
  }
};

QTEST_MAIN(TestStudioWindow)
#include "tst_studio_window.moc"
