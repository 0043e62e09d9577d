// rebasin-plot as scripts use it: the CLI's JSON in, a PNG/PDF/SVG figure out; bad input exits 1
// with one line and writes nothing.
#include <QFile>
#include <QImage>
#include <QTemporaryDir>
#include <QTest>

#include "cli_run.h"

namespace {

using rebasin::test::CliRun;
using rebasin::test::file_head;

CliRun plot(const QStringList& args) { return rebasin::test::run_program(QStringLiteral(REBASIN_PLOT_PATH), args); }

QString write(const QTemporaryDir& dir, const QString& name, const QByteArray& text) {
  QFile f(dir.filePath(name));
  f.open(QIODevice::WriteOnly);
  f.write(text);
  return f.fileName();
}

}  // namespace

class TestPlotCli : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void drawsEachKind_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("out");
    QTest::addColumn<QByteArray>("magic");
    const QByteArray curve = R"({"lambdas":[0,0.5,1],"loss":[0.1,1.1,0.1],"accuracy":[0.9,0.5,0.9],"split":"test"})";
    QTest::newRow("curves png") << "curves" << curve << "c.png" << QByteArray("\x89PNG");
    QTest::newRow("curves svg") << "curves" << curve << "c.svg" << QByteArray("<?xml");
    QTest::newRow("landscape pdf")
        << "landscape"
        << QByteArray(R"({"xs":[0,1,2],"ys":[0,1],"loss":[[1,2,3],[2,3,4]],"points":{"A":[0,0],"B":[2,0],"B_aligned":[1,1]}})")
        << "l.pdf" << QByteArray("%PDF");
    QTest::newRow("recovery png")
        << "recovery" << QByteArray(R"({"groups":[{"name":"fc1","size":10,"recovered_fraction":1},{"name":"fc2","size":10,"recovered_fraction":0.5}]})")
        << "r.png" << QByteArray("\x89PNG");
    QTest::newRow("merge png")
        << "merge"
        << QByteArray(R"({"models":["/m/a.safetensors","/m/b.safetensors"],"endpoints":[{"accuracy":0.97},{"accuracy":0.96}],)"
                      R"("merged":{"accuracy":0.975},"naive_average":{"accuracy":0.6},"ensemble":{"accuracy":0.98},)"
                      R"("barriers":{"points":5,"split":"test","before":[[0,0.7],[0.7,0]],"after":[[0,0.01],[0.01,0]]}})")
        << "g.png" << QByteArray("\x89PNG");
    // An align report (rebasin align --data ... --json): every curve in it, one file.
    QTest::newRow("curves of an align report svg")
        << "curves"
        << QByteArray(R"({"task":"align","split":"test","barrier":{"naive":1.0,"aligned":0.1},)"
                      R"("curves":{"naive":{"lambdas":[0,0.5,1],"loss":[0.1,1.1,0.1],"accuracy":[0.9,0.5,0.9],"barrier":1.0},)"
                      R"("aligned":{"lambdas":[0,0.5,1],"loss":[0.1,0.2,0.1],"accuracy":[0.9,0.85,0.9],"barrier":0.1}}})")
        << "a.svg" << QByteArray("<?xml");
    QTest::newRow("continual png") << "continual" << QByteArray(R"({"accuracy_matrix":[[0.9,0.2],[0.7,0.95]]})") << "m.png"
                                   << QByteArray("\x89PNG");
  }

  void drawsEachKind() {
    QFETCH(QString, kind);
    QFETCH(QByteArray, json);
    QFETCH(QString, out);
    QFETCH(QByteArray, magic);
    QTemporaryDir dir;
    const QString input = write(dir, "in.json", json);
    const CliRun r = plot({kind, dir.filePath(out), kind == "curves" ? "naive=" + input : input});
    QVERIFY2(r.code == 0, r.err.constData());
    QCOMPARE(file_head(dir.filePath(out), magic.size()), magic);
    if (out.endsWith(".png")) {
      const QImage image(dir.filePath(out));
      QCOMPARE(image.size(), QSize(1200, 800));
    }
  }

  void badInputExitsOneWithOneLine_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QByteArray>("message");
    QTest::newRow("missing file") << QStringList{"curves", "OUT.png", "x=/nonexistent.json"} << QByteArray() << QByteArray("cannot read");
    QTest::newRow("not json") << QStringList{"curves", "OUT.png", "IN"} << QByteArray("nope") << QByteArray("not a JSON object");
    QTest::newRow("wrong fields") << QStringList{"landscape", "OUT.png", "IN"} << QByteArray(R"({"lambdas":[]})") << QByteArray("no \"xs\"");
    QTest::newRow("merge without barriers")
        << QStringList{"merge", "OUT.png", "IN"}
        << QByteArray(R"({"models":["a","b"],"endpoints":[{"accuracy":0.9},{"accuracy":0.9}],"barriers":null})")
        << QByteArray("--barriers");
    QTest::newRow("merge matrix of another size")
        << QStringList{"merge", "OUT.png", "IN"}
        << QByteArray(R"({"models":["a","b"],"endpoints":[],"barriers":{"before":[[0]],"after":[[0,1],[1,0]]}})")
        << QByteArray("not 2 x 2");
    QTest::newRow("align report with a broken curve")
        << QStringList{"curves", "OUT.png", "IN"}
        << QByteArray(R"({"curves":{"aligned":{"lambdas":[0,1],"loss":[1],"accuracy":[1,1]}}})") << QByteArray("curve aligned");
    QTest::newRow("unknown kind") << QStringList{"pie", "OUT.png", "IN"} << QByteArray("{}") << QByteArray("unknown kind");
    QTest::newRow("bad suffix") << QStringList{"curves", "OUT.gif", "IN"}
                                << QByteArray(R"({"lambdas":[0,1],"loss":[1,1],"accuracy":[1,1]})") << QByteArray("gif");
    QTest::newRow("bad size") << QStringList{"curves", "OUT.png", "IN", "--size", "12"} << QByteArray("{}") << QByteArray("--size");
  }

  void badInputExitsOneWithOneLine() {
    QFETCH(QStringList, args);
    QFETCH(QByteArray, json);
    QFETCH(QByteArray, message);
    QTemporaryDir dir;
    const QString input = write(dir, "in.json", json);
    for (QString& a : args) a.replace("OUT", dir.filePath("out")).replace("IN", input);
    const CliRun r = plot(args);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains(message), r.err.constData());
    QCOMPARE(r.err.count('\n'), 1);
    QVERIFY(!QFile::exists(dir.filePath("out.png")) && !QFile::exists(dir.filePath("out.gif")));
  }
};

QTEST_MAIN(TestPlotCli)
#include "tst_plot_cli.moc"
