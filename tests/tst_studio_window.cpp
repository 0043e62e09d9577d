// The main window end to end: an alignment of the shipped demo models on MNIST drawn in every
// tab, exports (plots, data, checkpoint, permutations, interpolated model), a session round
// trip, and the rebasin-studio executable run headless as the README and CI run it.
#include <QFile>
#include <QImage>
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
#include "nn/permutation_file.h"
#include "widgets/plot_frame.h"
#include "widgets/plot_types.h"
#include "widgets/qcp.h"

#include <QLabel>
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
    QVERIFY2(w.exportAllPlots(dir.path(), "svg", &error), qPrintable(error));
    QVERIFY(QFile::exists(dir.filePath("transport-plans.svg")));
    QVERIFY(QFile::exists(dir.filePath("continual-learning.svg")));
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
    for (int i = 0; i < w.tabs()->count(); ++i) {
      auto* frame = qobject_cast<rebasin::widgets::PlotFrame*>(w.tabs()->widget(i));
      QVERIFY(frame);
      QVERIFY2(frame->isPlaceholderVisible(), qPrintable(w.tabs()->tabText(i)));
      QVERIFY(frame->placeholderText().startsWith("Run "));
    }
    auto* plans = qobject_cast<rebasin::widgets::PlotFrame*>(w.tabs()->widget(0));
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
