// The rebasin CLI as a user runs it: --version, --help, the bench commands' JSON, and every bad
// invocation exits 1 with one line on stderr and nothing on stdout.
#include <QtTest/QtTest>

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include "cli_run.h"

namespace {

using Run = rebasin::test::CliRun;

Run run(const QStringList& args) { return rebasin::test::run_cli(args); }

}  // namespace

class TestCli : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void version() {
    const Run r = run({"--version"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.startsWith("rebasin "));
  }

  void help() {
    const Run r = run({"--help"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.contains("bench"));
    const Run b = run({"bench", "sinkhorn", "--help"});
    QCOMPARE(b.code, 0);
    QVERIFY(b.out.contains("--tau"));
    QVERIFY(b.out.contains("--device"));
  }

  void benchSinkhornJson() {
    const Run r = run({"bench", "sinkhorn", "--n", "64", "--iters", "10", "--json"});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.err.isEmpty(), r.err.constData());
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(r.out, &pe);
    QVERIFY2(doc.isObject(), qPrintable(pe.errorString()));
    const QJsonObject o = doc.object();
    QCOMPARE(o["n"].toInt(), 64);
    QCOMPARE(o["iters"].toInt(), 10);
    for (const char* key : {"forward_s", "implicit_backward_s", "unrolled_backward_s"})
      QVERIFY2(o[key].toDouble() > 0, key);
    QCOMPARE(o["device"].toString(), QString("cpu"));
  }

  void benchLapJson() {
    const Run r = run({"bench", "lap", "--n", "100", "--json", "--seed", "3"});
    QCOMPARE(r.code, 0);
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o["n"].toInt(), 100);
    QVERIFY(o["seconds"].toDouble() > 0);
    QVERIFY(o["near_permutation_seconds"].toDouble() > 0);
  }

  void humanOutputHasUnits() {
    const Run r = run({"bench", "lap", "--n", "20"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.contains("seconds: "));
  }

  void unknownCommandNamesTheNearest_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("line");
    QTest::newRow("typo") << QStringList{"alig", "a.pt", "b.pt"}
                          << "rebasin: error: unknown command 'alig'; did you mean 'align'? (see rebasin --help)\n";
    // The issue's own example: before `merge` existed this was the "nothing close" case.
    QTest::newRow("merg") << QStringList{"merg"}
                          << "rebasin: error: unknown command 'merg'; did you mean 'merge'? (see rebasin --help)\n";
    QTest::newRow("nothing close")
        << QStringList{"frobnicate"}
        << "rebasin: error: unknown command 'frobnicate' (commands: align, bench, continual, info, interpolate, "
           "landscape, merge, recover, train) (see rebasin --help)\n";
    QTest::newRow("nested") << QStringList{"bench", "sinkhron", "--n", "8"}
                            << "rebasin: error: unknown command 'sinkhron' for 'rebasin bench'; did you mean "
                               "'sinkhorn'? (see rebasin --help)\n";
  }
  void unknownCommandNamesTheNearest() {
    QFETCH(QStringList, args);
    QFETCH(QString, line);
    const Run r = run(args);
    QCOMPARE(r.code, 1);
    QVERIFY(r.out.isEmpty());
    QCOMPARE(QString(r.err), line);
  }

  void userErrors_data() {
    QTest::addColumn<QStringList>("args");
    QTest::newRow("no command") << QStringList{};
    QTest::newRow("unknown command") << QStringList{"frobnicate"};
    QTest::newRow("bench without kind") << QStringList{"bench"};
    QTest::newRow("missing --n") << QStringList{"bench", "sinkhorn"};
    QTest::newRow("negative --n") << QStringList{"bench", "lap", "--n", "-5"};
    QTest::newRow("text --n") << QStringList{"bench", "lap", "--n", "many"};
    QTest::newRow("tau 0") << QStringList{"bench", "sinkhorn", "--n", "8", "--tau", "0"};
    QTest::newRow("bad device") << QStringList{"bench", "sinkhorn", "--n", "8", "--device", "tpu"};
    QTest::newRow("bad dtype") << QStringList{"bench", "sinkhorn", "--n", "8", "--dtype", "int8"};
    QTest::newRow("unknown option") << QStringList{"bench", "lap", "--n", "8", "--fast"};
  }

  void userErrors() {
    QFETCH(QStringList, args);
    const Run r = run(args);
    QCOMPARE(r.code, 1);
    QVERIFY(r.out.isEmpty());
    QVERIFY2(r.err.startsWith("rebasin: error: "), r.err.constData());
    QCOMPARE(r.err.count('\n'), 1);
  }

  void cudaWithoutGpu() {
    const Run probe = run({"bench", "lap", "--n", "4", "--device", "cuda", "--json"});
    if (probe.code == 0) QSKIP("a CUDA GPU is usable here");
    const Run r = run({"bench", "sinkhorn", "--n", "8", "--device", "cuda", "--json"});
    QCOMPARE(r.code, 1);
    QVERIFY(r.out.isEmpty());
    QVERIFY(r.err.contains("no usable CUDA GPU"));
    QCOMPARE(r.err.count('\n'), 1);
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
