// rebasin align and recover as a user runs them: two digits models trained by rebasin train,
// aligned by each method; the aligned checkpoint keeps B's names, the permutation file feeds
// rebasin interpolate, and bad invocations exit 1 with one line and no files.
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include "cli_run.h"

using rebasin::test::run_cli;

class TestCliAlign : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    for (const char* seed : {"1", "2"}) {
      const auto r = run_cli({"train", "--arch", "mlp:64,32,10", "--data", "digits", "--epochs", "3",
                              "--batch-size", "32", "--seed", seed, "--out", path(QString("m%1.safetensors").arg(seed))});
      QCOMPARE(r.code, 0);
    }
    const auto r = run_cli({"train", "--arch", "mlp:64,16,10", "--data", "digits", "--epochs", "1",
                            "--out", path("narrow.safetensors")});
    QCOMPARE(r.code, 0);
  }

  void methods_data() {
    QTest::addColumn<QStringList>("extra");
    QTest::newRow("naive") << QStringList{"--method", "naive"};
    QTest::newRow("weight") << QStringList{"--method", "weight"};
    QTest::newRow("activation") << QStringList{"--method", "activation"};
    QTest::newRow("ste") << QStringList{"--method", "ste", "--steps", "5"};
    QTest::newRow("sinkhorn l2") << QStringList{"--method", "sinkhorn", "--steps", "20"};
    QTest::newRow("sinkhorn mid") << QStringList{"--method", "sinkhorn", "--cost", "mid", "--steps", "20"};
    QTest::newRow("sinkhorn rnd warm") << QStringList{"--method", "sinkhorn", "--cost", "rnd", "--init", "weight", "--steps", "10"};
  }

  void methods() {
    QFETCH(QStringList, extra);
    const auto r = run_cli(QStringList{"align", path("m1.safetensors"), path("m2.safetensors"), "--data", "digits",
                                       "--points", "5", "--json"} + extra);
    QCOMPARE(r.code, 0);
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o["method"].toString(), extra[1]);
    QVERIFY(o["seconds"].toDouble() > 0);
    QVERIFY(o["barrier"].toObject()["naive"].toDouble() >= 0);
    QVERIFY(o["barrier"].toObject()["aligned"].toDouble() >= 0);
    QCOMPARE(o["groups"].toArray().size(), 1);
    QCOMPARE(o["groups"].toArray()[0].toObject()["size"].toInt(), 32);
  }

  void outputsFeedOtherCommands() {
    const QString out = path("b_aligned.safetensors"), perm = path("perm.json");
    const auto r = run_cli({"align", path("m1.safetensors"), path("m2.safetensors"), "--method", "weight",
                            "--data", "digits", "--out", out, "--perm-out", perm, "--json"});
    QCOMPARE(r.code, 0);
    const double aligned = QJsonDocument::fromJson(r.out).object()["barrier"].toObject()["aligned"].toDouble();
    const auto info = run_cli({"info", out, "--json"});
    QCOMPARE(info.code, 0);
    const QJsonArray t = QJsonDocument::fromJson(info.out).object()["tensors"].toArray();
    QCOMPARE(t[0].toObject()["name"].toString(), QString("fc1.weight"));
    // interpolate with the permutation file = interpolate with the aligned checkpoint = align's barrier.
    const auto viaPerm = run_cli({"interpolate", path("m1.safetensors"), path("m2.safetensors"), "--perm", perm,
                                  "--data", "digits", "--json"});
    const auto viaFile = run_cli({"interpolate", path("m1.safetensors"), out, "--data", "digits", "--json"});
    QCOMPARE(viaPerm.code, 0);
    QCOMPARE(viaFile.code, 0);
    const double b1 = QJsonDocument::fromJson(viaPerm.out).object()["barrier"].toDouble();
    const double b2 = QJsonDocument::fromJson(viaFile.out).object()["barrier"].toDouble();
    QVERIFY(std::abs(b1 - aligned) < 1e-9);
    QVERIFY(std::abs(b2 - aligned) < 1e-9);
  }

  void recover() {
    const auto r = run_cli({"recover", "--arch", "mlp:20,64,64,5", "--method", "sinkhorn", "--seed", "4", "--json"});
    QCOMPARE(r.code, 0);
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o["recovered_fraction"].toDouble(), 1.0);
    QCOMPARE(o["groups"].toArray().size(), 2);
    QVERIFY(o["steps"].toInt() >= 1);
    QVERIFY(o.contains("seconds"));
  }

  void failures_data() {
    QTest::addColumn<QStringList>("args");
    QTest::newRow("different widths") << QStringList{"align", "M1", "NARROW"};
    QTest::newRow("mid without data") << QStringList{"align", "M1", "M2", "--cost", "mid"};
    QTest::newRow("activation without data") << QStringList{"align", "M1", "M2", "--method", "activation"};
    QTest::newRow("missing file") << QStringList{"align", "M1", "NOFILE"};
    QTest::newRow("bad out") << QStringList{"align", "M1", "M2", "--method", "weight", "--out", "OUTPT"};
    QTest::newRow("unknown method") << QStringList{"align", "M1", "M2", "--method", "magic"};
    QTest::newRow("recover with mid") << QStringList{"recover", "--arch", "mlp:4,4,2", "--cost", "mid"};
    QTest::newRow("recover bad input") << QStringList{"recover", "--arch", "vgg11", "--input", "3,x,32"};
  }

  void failures() {
    QFETCH(QStringList, args);
    QTemporaryDir out_dir;
    for (QString& a : args) {
      if (a == "M1") a = path("m1.safetensors");
      if (a == "M2") a = path("m2.safetensors");
      if (a == "NARROW") a = path("narrow.safetensors");
      if (a == "NOFILE") a = path("missing.safetensors");
      if (a == "OUTPT") a = out_dir.filePath("x.pt");
    }
    if (args.first() == "align") args << "--perm-out" << out_dir.filePath("p.json");
    const auto r = run_cli(args);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.startsWith("rebasin: error: "), r.err.constData());
    QCOMPARE(r.err.count('\n'), 1);
    QVERIFY(r.out.isEmpty());
    QCOMPARE(QDir(out_dir.path()).entryList(QDir::Files).size(), 0);
  }

  void autoUsesRecordedArch() {
    // Shapes alone would read this tanh MLP as ReLU; the ARCH recorded by train is used.
    for (const char* seed : {"1", "2"})
      QCOMPARE(run_cli({"train", "--arch", "mlp:64,16,10:tanh", "--data", "digits", "--epochs", "1",
                        "--seed", seed, "--out", path(QString("t%1.safetensors").arg(seed))}).code, 0);
    const auto r = run_cli({"align", path("t1.safetensors"), path("t2.safetensors"), "--method", "weight", "--json"});
    QCOMPARE(r.code, 0);
    QCOMPARE(QJsonDocument::fromJson(r.out).object()["arch"].toString(), QString("mlp:64,16,10:tanh"));
  }

  void mismatchNamesTheTensor() {
    const auto r = run_cli({"align", path("m1.safetensors"), path("narrow.safetensors")});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("fc1.weight"), r.err.constData());
  }

 private:
  QString path(const QString& name) const { return dir_.filePath(name); }
  QTemporaryDir dir_;
};

QTEST_GUILESS_MAIN(TestCliAlign)
#include "tst_cli_align.moc"
