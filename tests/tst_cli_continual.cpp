// rebasin continual as a user runs it: the JSON of PRODUCT.md on stdout, the accuracy matrix
// as CSV, one progress line per task on stderr, and clean failures (exit 1, one line, no file).
// MNIST comes from scripts/setup.sh; with REBASIN_ALLOW_MISSING_DATA=1 the runs that need it
// are skipped.
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include "cli_run.h"

namespace {

using Run = rebasin::test::CliRun;

Run run(const QStringList& args) { return rebasin::test::run_cli(args); }

const QStringList kSmall = {"--tasks", "2", "--epochs", "1", "--train-per-task", "500", "--test-per-task", "200",
                            "--batch-size", "50", "--seed", "3"};

bool skip_without_mnist(const Run& r) {
  return r.code == 1 && r.err.contains("mnist") && qEnvironmentVariableIntValue("REBASIN_ALLOW_MISSING_DATA") == 1;
}

}  // namespace

class TestCliContinual : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void jsonAndCsv() {
    QTemporaryDir dir;
    const QString csv = dir.filePath("matrix.csv");
    const Run r = run(QStringList{"continual", "--stream", "rotated-mnist", "--method", "rebasin-il", "--json", "--csv", csv} + kSmall);
    if (skip_without_mnist(r)) QSKIP("MNIST not installed");
    QVERIFY2(r.code == 0, r.err.constData());
    QJsonParseError error;
    const QJsonObject o = QJsonDocument::fromJson(r.out, &error).object();
    QCOMPARE(error.error, QJsonParseError::NoError);  // stdout holds the JSON object alone
    for (const char* key : {"accuracy_matrix", "average_accuracy", "forgetting", "seconds", "backward_transfer",
                            "train_mix_accuracy_matrix"})
      QVERIFY2(o.contains(key), key);
    const QJsonArray m = o["accuracy_matrix"].toArray();
    QCOMPARE(m.size(), 2);
    QCOMPARE(m[1].toArray().size(), 2);
    QVERIFY(m[0].toArray()[0].toDouble() > 0.5);
    QCOMPARE(o["method"].toString(), QString("rebasin-il"));
    QCOMPARE(o["alpha"].toDouble(), 0.8);
    QCOMPARE(o["batch_size"].toInt(), 50);
    const double last_mean = (m[1].toArray()[0].toDouble() + m[1].toArray()[1].toDouble()) / 2;
    QVERIFY(std::abs(o["average_accuracy"].toDouble() - last_mean) < 1e-12);
    // Progress: one line per task on stderr.
    QVERIFY2(r.err.contains("task 1/2: accuracy") && r.err.contains("task 2/2: accuracy"), r.err.constData());

    QFile f(csv);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = f.readAll().trimmed().split('\n');
    QCOMPARE(lines.size(), 3);
    QCOMPARE(lines[0], QByteArray("after_task,task_0,task_1"));
    const QList<QByteArray> row = lines[1].split(',');
    QCOMPARE(row.size(), 3);
    QVERIFY(std::abs(row[1].toDouble() - m[0].toArray()[0].toDouble()) < 1e-5);
  }

  void splitStreamScenario_data() {
    QTest::addColumn<QStringList>("extra");
    QTest::addColumn<QString>("scenario");
    QTest::newRow("task-incremental") << QStringList{} << "task-incremental";
    QTest::newRow("class-incremental") << QStringList{"--class-incremental"} << "class-incremental";
  }

  void splitStreamScenario() {
    QFETCH(QStringList, extra);
    QFETCH(QString, scenario);
    const Run r = run(QStringList{"continual", "--stream", "split-mnist", "--method", "finetune", "--json"} + kSmall + extra);
    if (skip_without_mnist(r)) QSKIP("MNIST not installed");
    QVERIFY2(r.code == 0, r.err.constData());
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o["scenario"].toString(), scenario);
    QCOMPARE(o["accuracy_matrix"].toArray().size(), 5);
  }

  void failures_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown method") << QStringList{"--method", "lwf"} << "--method";
    QTest::newRow("unknown stream") << QStringList{"--stream", "rotated-cifar"} << "--stream";
    QTest::newRow("no tasks") << QStringList{"--tasks", "0"} << "--tasks";
    QTest::newRow("alpha out of range") << QStringList{"--alpha", "2"} << "--alpha";
    QTest::newRow("data dir without data") << QStringList{"--data-dir", "EMPTY"} << "mnist";
    QTest::newRow("csv in a missing folder") << QStringList{"--csv", "MISSING/m.csv"} << "--csv";
    QTest::newRow("model with 5 outputs") << QStringList{"--arch", "mlp:784,16,5", "--data-dir", "EMPTY"} << "10 outputs";
  }

  void failures() {
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    QTemporaryDir dir;
    for (QString& a : args) a.replace("EMPTY", dir.path()).replace("MISSING", dir.filePath("missing"));
    QStringList tail{"--json"};
    if (!args.contains("--tasks")) tail << "--tasks" << "1";
    const Run r = run(QStringList{"continual"} + args + tail);
    QCOMPARE(r.code, 1);
    QVERIFY(r.out.isEmpty());
    const QByteArray err = r.err.trimmed();
    QVERIFY2(!err.contains('\n'), err.constData());
    QVERIFY2(err.contains(message.toUtf8()), err.constData());
    QVERIFY(QDir(dir.path()).entryList(QDir::Files).isEmpty());
  }
};

QTEST_GUILESS_MAIN(TestCliContinual)
#include "tst_cli_continual.moc"
