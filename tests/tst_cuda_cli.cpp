// --device on every computing command, as a user runs the CLI: without a usable GPU,
// "--device cuda" exits 1 with one clear line and nothing on stdout, "auto" falls back to the
// CPU, and `bench sinkhorn --check` refuses with one line. With a GPU the same calls must work.
#include <QtTest/QtTest>

#include <QJsonDocument>
#include <QJsonObject>

#include "cli_run.h"
#include "common/device.h"

namespace {

using Run = rebasin::test::CliRun;

Run run(const QStringList& args) { return rebasin::test::run_cli(args); }

bool one_line(const QByteArray& err) { return err.trimmed().count('\n') == 0 && !err.trimmed().isEmpty(); }

}  // namespace

class TestCudaCli : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void deviceCudaWithoutGpu_data() {
    QTest::addColumn<QStringList>("args");
    // Models and data that do not exist: the device is resolved before anything is read.
    QTest::newRow("bench sinkhorn") << QStringList{"bench", "sinkhorn", "--n", "8"};
    QTest::newRow("bench lap") << QStringList{"bench", "lap", "--n", "8"};
    QTest::newRow("recover") << QStringList{"recover", "--arch", "mlp:4,3,2"};
    QTest::newRow("train") << QStringList{"train", "--arch", "mlp:4,3,2", "--data", "poly1", "--out", "never.safetensors"};
    QTest::newRow("align") << QStringList{"align", "missing-a.safetensors", "missing-b.safetensors"};
    QTest::newRow("interpolate") << QStringList{"interpolate", "missing-a.safetensors", "missing-b.safetensors", "--data", "poly1"};
    QTest::newRow("landscape") << QStringList{"landscape", "missing-a.safetensors", "missing-b.safetensors", "--data", "poly1", "--perm", "missing.json"};
  }

  void deviceCudaWithoutGpu() {
    QFETCH(QStringList, args);
    if (rebasin::cuda_usable()) QSKIP("a GPU is usable here");
    const Run r = run(args + QStringList{"--device", "cuda"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.out.isEmpty(), r.out.constData());
    QVERIFY2(one_line(r.err), r.err.constData());
    QVERIFY2(r.err.contains("--device cuda: no usable CUDA GPU"), r.err.constData());
  }

  void deviceAutoFallsBack() {
    const Run r = run({"bench", "sinkhorn", "--n", "16", "--iters", "3", "--no-unrolled", "--device", "auto", "--json"});
    QCOMPARE(r.code, 0);
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    if (rebasin::cuda_usable()) {
      QVERIFY(o["device"].toString() != "cpu");
      QVERIFY(o["device_copy_gb_per_s"].toDouble() > 0);
      QVERIFY(o["kernel_forward_s"].toDouble() > 0);
    } else {
      QCOMPARE(o["device"].toString(), QString("cpu"));
      QVERIFY(!o.contains("device_copy_gb_per_s"));
    }
    QVERIFY(o["forward_s"].toDouble() > 0);
  }

  void badDeviceName() {
    const Run r = run({"bench", "sinkhorn", "--n", "8", "--device", "gpu"});
    QCOMPARE(r.code, 1);
    QVERIFY(one_line(r.err));
  }

  void benchNeedsSizeUnlessCheck() {
    const Run r = run({"bench", "sinkhorn"});
    QCOMPARE(r.code, 1);
    QVERIFY2(one_line(r.err) && r.err.contains("--n"), r.err.constData());
  }

  void benchCheck() {
    const Run r = run({"bench", "sinkhorn", "--check", "--json"});
    if (!rebasin::cuda_usable()) {
      QCOMPARE(r.code, 1);
      QVERIFY2(r.out.isEmpty(), r.out.constData());
      QVERIFY2(one_line(r.err) && r.err.contains("GPU checks"), r.err.constData());
      return;
    }
    QVERIFY2(r.code == 0, r.err.constData());
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QVERIFY(o["passed"].toBool());
    QCOMPARE(o["failed"].toInt(), 0);
  }
};

QTEST_GUILESS_MAIN(TestCudaCli)
#include "tst_cuda_cli.moc"
