// rebasin train as a user runs it: a model file with its metadata that `rebasin info`
// recognises, progress on stderr, and clean failures (exit 1, one line, no file).
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include "cli_run.h"
#include <QTemporaryDir>

namespace {

using Run = rebasin::test::CliRun;

Run run(const QStringList& args) { return rebasin::test::run_cli(args); }

}  // namespace

class TestCliTrain : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void trainsAndWrites() {
    QTemporaryDir dir;
    const QString out = dir.filePath("digits.safetensors");
    const Run r = run({"train", "--arch", "mlp:64,32,10", "--data", "digits", "--epochs", "3",
                       "--batch-size", "32", "--seed", "2", "--out", out, "--json"});
    QCOMPARE(r.code, 0);
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o["arch"].toString(), QString("mlp:64,32,10"));
    QCOMPARE(o["history"].toArray().size(), 3);
    QVERIFY(o["test_accuracy"].toDouble() > 0.7);
    QVERIFY(o["seconds_per_epoch"].toDouble() > 0);
    QVERIFY(QFile::exists(out));
    const Run info = run({"info", out, "--json"});
    QCOMPARE(info.code, 0);
    QCOMPARE(QJsonDocument::fromJson(info.out).object()["architecture"].toString(), QString("mlp:64,32,10"));
  }

  void progressOnStderr() {
    QTemporaryDir dir;
    const Run r = run({"train", "--arch", "mlp:64,16,10", "--data", "digits", "--epochs", "2",
                       "--out", dir.filePath("m.safetensors")});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.err.contains("epoch 1/2: train loss"), r.err.constData());
    QVERIFY(r.err.contains("ETA"));
    QVERIFY(r.err.contains("test accuracy"));
    QVERIFY(r.out.contains("test_accuracy: "));
  }

  void failures_data() {
    QTest::addColumn<QStringList>("args");
    QTest::newRow("wrong extension") << QStringList{"--arch", "mlp:64,8,10", "--data", "digits", "--out", "OUT.pt"};
    QTest::newRow("arch does not fit data") << QStringList{"--arch", "mlp:784,8,10", "--data", "digits", "--out", "OUT"};
    QTest::newRow("classes do not fit") << QStringList{"--arch", "mlp:64,8,3", "--data", "digits", "--out", "OUT"};
    QTest::newRow("unknown data") << QStringList{"--arch", "mlp:64,8,10", "--data", "imagenet", "--out", "OUT"};
    QTest::newRow("data dir without data") << QStringList{"--arch", "mlp:784,8,10", "--data", "mnist", "--data-dir", "EMPTY", "--out", "OUT"};
    QTest::newRow("bad normalize") << QStringList{"--arch", "mlp:64,8,10", "--data", "digits", "--normalize", "0.5", "--out", "OUT"};
    QTest::newRow("unknown arch") << QStringList{"--arch", "lstm", "--data", "digits", "--out", "OUT"};
    QTest::newRow("zero epochs") << QStringList{"--arch", "mlp:64,8,10", "--data", "digits", "--epochs", "0", "--out", "OUT"};
  }

  void failures() {
    QFETCH(QStringList, args);
    QTemporaryDir dir;
    const QString out = dir.filePath("model.safetensors");
    for (QString& a : args) {
      if (a == "OUT") a = out;
      if (a == "OUT.pt") a = dir.filePath("model.pt");
      if (a == "EMPTY") a = dir.path();
    }
    args.prepend("train");
    const Run r = run(args);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.startsWith("rebasin: error: "), r.err.constData());
    QCOMPARE(r.err.count('\n'), 1);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 0);  // nothing written
  }
};

QTEST_GUILESS_MAIN(TestCliTrain)
#include "tst_cli_train.moc"
