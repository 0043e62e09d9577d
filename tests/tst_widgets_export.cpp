// Plot export (PNG/PDF/SVG by suffix, atomic, clean failures) and palette following: every
// plotting widget re-colours itself when its palette changes (light <-> dark).
#include <QtTest/QtTest>

#include <QApplication>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <functional>
#include <memory>

#include "widgets/continual_plot.h"
#include "widgets/curves_plot.h"
#include "widgets/landscape_plot.h"
#include "widgets/objective_plot.h"
#include "widgets/plan_heatmap.h"
#include "widgets/plot_export.h"
#include "widgets/qcp.h"
#include "widgets/recovery_plot.h"

using namespace rebasin::widgets;

namespace {

std::unique_ptr<PlotFrame> makeWidget(const QString& kind) {
  if (kind == "heatmap") {
    auto w = std::make_unique<PlanHeatmap>();
    PlanView plan;
    plan.size = plan.shown = 3;
    plan.values = {0.8f, 0.1f, 0.1f, 0.1f, 0.1f, 0.8f, 0.1f, 0.8f, 0.1f};
    plan.assignment = {0, 2, 1};
    w->setPlan(plan);
    return w;
  }
  if (kind == "curves") {
    auto w = std::make_unique<CurvesPlot>();
    for (double l : {0.0, 0.5, 1.0}) w->addPoint({"naive", "test", l, 1 + l * (1 - l), 0.9});
    return w;
  }
  if (kind == "landscape") {
    auto w = std::make_unique<LandscapePlot>();
    w->setGrid(2, 2, 0, 1, 0, 1);
    w->setRow(0, {0.1, 1.0});
    return w;
  }
  if (kind == "objective") {
    auto w = std::make_unique<ObjectivePlot>();
    for (int s = 0; s < 5; ++s) w->addSample({s, 5.0 - s, qQNaN()});
    return w;
  }
  if (kind == "recovery") {
    auto w = std::make_unique<RecoveryPlot>();
    w->setGroups({{"P_0", 32, 1.0}, {"P_1", 32, 0.5}});
    return w;
  }
  auto w = std::make_unique<ContinualPlot>();
  w->addTaskRow(0, {0.9, 0.1});
  return w;
}

QPalette darkPalette() {
  QPalette p;
  p.setColor(QPalette::Window, QColor(0x30, 0x30, 0x30));
  p.setColor(QPalette::Base, QColor(0x1e, 0x1e, 0x1e));
  p.setColor(QPalette::Text, QColor(0xe8, 0xe8, 0xe8));
  p.setColor(QPalette::WindowText, QColor(0xe8, 0xe8, 0xe8));
  p.setColor(QPalette::Mid, QColor(0x60, 0x60, 0x60));
  p.setColor(QPalette::Highlight, QColor(0x3d, 0xae, 0xe9));
  return p;
}

QByteArray head(const QString& path, int n) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.read(n) : QByteArray();
}

}  // namespace

class TestWidgetsExport : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void followsPalette_data() {
    QTest::addColumn<QString>("kind");
    for (const char* kind : {"heatmap", "curves", "landscape", "objective", "recovery", "continual"})
      QTest::newRow(kind) << QString::fromLatin1(kind);
  }
  void followsPalette() {
    QFETCH(QString, kind);
    std::unique_ptr<PlotFrame> w = makeWidget(kind);
    QVERIFY(w->minimumSizeHint().width() >= 200 && w->minimumSizeHint().height() >= 150);
    const QColor lightBase = w->palette().color(QPalette::Base);
    QImage image = w->plot()->toPixmap(400, 300).toImage();
    QCOMPARE(image.pixelColor(1, 1), lightBase);
    QCOMPARE(w->plot()->xAxis->tickLabelColor(), w->palette().color(QPalette::Text));

    const QPalette dark = darkPalette();
    w->setPalette(dark);  // delivers QEvent::PaletteChange
    image = w->plot()->toPixmap(400, 300).toImage();
    QCOMPARE(image.pixelColor(1, 1), dark.color(QPalette::Base));
    QCOMPARE(w->plot()->xAxis->tickLabelColor(), dark.color(QPalette::Text));
    QCOMPARE(w->plot()->xAxis->basePen().color(), dark.color(QPalette::Text));
    if (w->plot()->legend->visible())
      QCOMPARE(w->plot()->legend->textColor(), dark.color(QPalette::Text));
  }

  void followsApplicationPalette() {
    // Switching the whole application to dark (what a desktop's theme change does).
    std::unique_ptr<PlotFrame> w = makeWidget("curves");
    const QPalette original = QApplication::palette();
    QApplication::setPalette(darkPalette());
    QTRY_COMPARE(w->plot()->toPixmap(200, 150).toImage().pixelColor(1, 1),
                 darkPalette().color(QPalette::Base));
    QCOMPARE(w->plot()->yAxis->labelColor(), darkPalette().color(QPalette::Text));
    QApplication::setPalette(original);
    QTRY_COMPARE(w->plot()->toPixmap(200, 150).toImage().pixelColor(1, 1),
                 original.color(QPalette::Base));
  }

  void exportPlot_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("magic");
    QTest::newRow("png") << "plot.png" << QByteArray("\x89PNG");
    QTest::newRow("pdf") << "plot.pdf" << QByteArray("%PDF");
    QTest::newRow("svg") << "plot.svg" << QByteArray("<?xml");
    QTest::newRow("upper-case suffix") << "PLOT.PNG" << QByteArray("\x89PNG");
  }
  void exportPlot() {
    QFETCH(QString, name);
    QFETCH(QByteArray, magic);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    std::unique_ptr<PlotFrame> w = makeWidget("curves");
    const QString path = dir.filePath(name);
    QString error;
    QVERIFY2(rebasin::widgets::exportPlot(w->plot(), path, &error, 640, 400), qPrintable(error));
    QVERIFY(error.isEmpty());
    QVERIFY(QFileInfo(path).size() > 100);
    QCOMPARE(head(path, magic.size()), magic);
    // Nothing else is left beside it (the temporary file was renamed over the target).
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden), QStringList({name}));
    if (name.endsWith(".png")) {
      const QImage image(path);
      QCOMPARE(image.size(), QSize(640, 400));
    }
  }

  void exportReplacesExistingFile() {
    QTemporaryDir dir;
    const QString path = dir.filePath("plot.svg");
    QFile old(path);
    QVERIFY(old.open(QIODevice::WriteOnly));
    old.write("old contents");
    old.close();
    std::unique_ptr<PlotFrame> w = makeWidget("heatmap");
    QString error;
    QVERIFY2(rebasin::widgets::exportPlot(w->plot(), path, &error), qPrintable(error));
    QVERIFY(head(path, 200).contains("<svg"));
  }

  void exportFailsCleanly_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown suffix") << "plot.bmp" << "unknown format";
    QTest::newRow("no suffix") << "plot" << "unknown format";
    QTest::newRow("missing folder") << "missing/plot.png" << "does not exist";
    QTest::newRow("a folder") << "sub.png" << "is a folder";
  }
  void exportFailsCleanly() {
    QFETCH(QString, name);
    QFETCH(QString, message);
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkdir("sub.png"));
    std::unique_ptr<PlotFrame> w = makeWidget("objective");
    const QString path = dir.filePath(name);
    QString error;
    QVERIFY(!rebasin::widgets::exportPlot(w->plot(), path, &error));
    QVERIFY2(error.contains(message), qPrintable(error));
    QVERIFY(!error.contains('\n'));
    QVERIFY(!QFileInfo(path).isFile());
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden), QStringList());
    QVERIFY(!QDir(dir.filePath("missing")).exists());
    // A null error pointer is allowed.
    QVERIFY(!rebasin::widgets::exportPlot(w->plot(), path, nullptr));
  }

  void exportWidget() {
    QTemporaryDir dir;
    QWidget window;
    window.resize(500, 350);
    std::unique_ptr<PlotFrame> w = makeWidget("continual");
    w->setParent(&window);
    w->resize(500, 350);
    QString error;
    const QString png = dir.filePath("window.png");
    QVERIFY2(rebasin::widgets::exportWidget(&window, png, &error), qPrintable(error));
    QCOMPARE(head(png, 4), QByteArray("\x89PNG"));
    QCOMPARE(QImage(png).size(), window.size() * window.devicePixelRatio());
    const QString jpg = dir.filePath("window.jpg");
    QVERIFY(!rebasin::widgets::exportWidget(&window, jpg, &error));
    QVERIFY(error.contains(".png"));
    QVERIFY(!QFileInfo::exists(jpg));
    QVERIFY(!rebasin::widgets::exportWidget(&window, dir.filePath("missing/w.png"), &error));
    QVERIFY(error.contains("does not exist"));
  }
};

QTEST_MAIN(TestWidgetsExport)
#include "tst_widgets_export.moc"
