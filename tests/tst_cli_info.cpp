// `rebasin info` as a user runs it: every fixture format lists its tensors as stored (JSON and
// human output), and every bad file exits 1 with one "rebasin: error: " line and no stdout.
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include "cli_run.h"

namespace {

using Run = rebasin::test::CliRun;

Run run(const QStringList& args) { return rebasin::test::run_cli(args); }

QString data(const char* name) { return QStringLiteral(REBASIN_TEST_DATA "/") + name; }

}  // namespace

class TestCliInfo : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void json_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("format");
    QTest::addColumn<QString>("nesting");
    QTest::addColumn<int>("count");
    QTest::addColumn<QString>("firstName");
    QTest::addColumn<QString>("firstShape");
    QTest::addColumn<QString>("firstDtype");
    QTest::newRow("pt") << "mlp_state_dict.pt" << "pytorch" << "" << 7 << "0.weight" << "[8,4]" << "F32";
    QTest::newRow("lightning") << "lightning.ckpt" << "pytorch" << "state_dict" << 4 << "model.0.weight" << "[8,4]" << "F32";
    QTest::newRow("model") << "nested_model.pt" << "pytorch" << "model" << 4 << "0.weight" << "[8,4]" << "F32";
    QTest::newRow("torchscript") << "scripted.pt" << "torchscript" << "" << 7 << "0.weight" << "[3,2,3,3]" << "F32";
    QTest::newRow("safetensors") << "mixed.safetensors" << "safetensors" << "" << 6 << "a.f32" << "[3,4]" << "F32";
    QTest::newRow("legacy") << "legacy_mlp.pt" << "pytorch" << "" << 7 << "0.weight" << "[8,4]" << "F32";
    QTest::newRow("legacy checkpoint") << "legacy_checkpoint.pt" << "pytorch" << "model" << 4 << "0.weight" << "[8,4]" << "F32";
  }
  void json() {
    QFETCH(QString, file);
    QFETCH(QString, format);
    QFETCH(QString, nesting);
    QFETCH(int, count);
    QFETCH(QString, firstName);
    QFETCH(QString, firstShape);
    QFETCH(QString, firstDtype);
    const Run r = run({"info", data(file.toUtf8().constData()), "--json"});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.err.isEmpty(), r.err.constData());
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o["format"].toString(), format);
    QCOMPARE(o["nesting"].toString(), nesting);
    const QJsonArray t = o["tensors"].toArray();
    QCOMPARE(t.size(), count);
    QCOMPARE(t[0].toObject()["name"].toString(), firstName);
    QCOMPARE(QJsonDocument(t[0].toObject()["shape"].toArray()).toJson(QJsonDocument::Compact), firstShape.toUtf8());
    QCOMPARE(t[0].toObject()["dtype"].toString(), firstDtype);
  }

  void dtypesAndBuffers() {
    const Run r = run({"info", data("mlp_state_dict.pt"), "--json"});
    const QJsonArray t = QJsonDocument::fromJson(r.out).object()["tensors"].toArray();
    QStringList dtypes;
    for (const auto& v : t) dtypes << v.toObject()["dtype"].toString();
    QCOMPARE(dtypes, QStringList({"F32", "F32", "F32", "F32", "F64", "F16", "BF16"}));
    const Run b = run({"info", data("batchnorm.pt"), "--json"});
    const QJsonArray bt = QJsonDocument::fromJson(b.out).object()["tensors"].toArray();
    QCOMPARE(bt.last().toObject()["name"].toString(), QString("1.num_batches_tracked"));
    QCOMPARE(bt.last().toObject()["dtype"].toString(), QString("I64"));
    QCOMPARE(bt.last().toObject()["shape"].toArray().size(), 0);
  }

  void architectureDetected() {
    const Run r = run({"info", data("mlp.safetensors"), "--json"});
    QCOMPARE(QJsonDocument::fromJson(r.out).object()["architecture"].toString(), QString("mlp:4,8,3"));
    const Run l = run({"info", data("lightning.ckpt"), "--json"});
    QCOMPARE(QJsonDocument::fromJson(l.out).object()["architecture"].toString(), QString("mlp:4,8,3"));
    const Run m = run({"info", data("mixed.safetensors"), "--json"});
    QVERIFY(QJsonDocument::fromJson(m.out).object()["architecture"].isNull());
  }

  void keyOption() {
    const Run r = run({"info", data("legacy_checkpoint.pt"), "--key", "ema", "--json"});
    QCOMPARE(r.code, 0);
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o["nesting"].toString(), QString("ema"));
    QCOMPARE(o["entries"].toArray().toVariantList(), QVariantList({"epoch", "model", "optimizer", "ema", "config"}));
    const Run h = run({"info", data("legacy_checkpoint.pt")});
    QVERIFY2(h.out.contains("took the state dict under 'model' (the file also holds epoch, optimizer, ema, config; "
                            "--key NAME takes another)"),
             h.out.constData());
    const Run bad = run({"info", data("legacy_checkpoint.pt"), "--key", "nope"});
    QCOMPARE(bad.code, 1);
    QVERIFY2(bad.err.contains("no entry 'nope'") && bad.err.count('\n') == 1, bad.err.constData());
  }

  void keyOnTwoModelCommands() {
    // align reads both checkpoints the same way; the note says which entry it took.
    const QString ck = data("legacy_checkpoint.pt");
    const Run r = run({"align", ck, ck, "--method", "weight", "--key", "ema", "--json"});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.err.contains("rebasin: note: " + ck.toUtf8() + ": took the state dict under 'ema'"), r.err.constData());
    QVERIFY(QJsonDocument::fromJson(r.out).isObject());
    const Run bad = run({"align", ck, ck, "--method", "weight", "--key", "config"});
    QCOMPARE(bad.code, 1);
    QVERIFY2(bad.err.contains("'config' holds a dict without tensors"), bad.err.constData());
  }

  void refusedGlobal() {
    const Run r = run({"info", data("user_class.pt")});
    QCOMPARE(r.code, 1);
    QCOMPARE(QString(r.err), "rebasin: error: " + data("user_class.pt") +
                                 ": refused: the file calls Python object __main__.UserConfig; nothing was executed\n");
  }

  void humanOutput() {
    const Run r = run({"info", data("mlp_state_dict.pt")});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.contains("0.weight  [8, 4]  F32\n"));
    QVERIFY(r.out.contains("extra.half  [5]  F16\n"));
    // 32 + 8 + 24 + 3 + 6 + 5 + 6 parameters.
    QVERIFY2(r.out.contains("7 tensors, 84 parameters"), r.out.constData());
  }

  void badFiles_data() {
    QTest::addColumn<QByteArray>("bytes");  // empty + "dir"/"missing" markers below
    QTest::addColumn<QString>("kind");
    QTest::newRow("empty") << QByteArray() << "file";
    QTest::newRow("text") << QByteArray("just some text\n") << "file";
    QTest::newRow("random") << QByteArray(300, '\x93') << "file";
    QTest::newRow("truncated pt") << QByteArray("PK\x03\x04\x14\0\0\0", 8) << "file";
    QTest::newRow("huge header") << QByteArray("\0\0\0\0\0\0\0\x10{}", 10) << "file";
    QTest::newRow("whole module") << QByteArray() << "whole_model";
    QTest::newRow("directory") << QByteArray() << "dir";
    QTest::newRow("missing") << QByteArray() << "missing";
  }
  void badFiles() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, kind);
    QTemporaryDir dir;
    QString path = dir.filePath("bad.pt");
    if (kind == "file") {
      QFile f(path);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(bytes);
    } else if (kind == "dir") {
      path = dir.path();
    } else if (kind == "whole_model") {
      path = data("whole_model.pt");
    }
    for (const bool json : {false, true}) {
      QStringList args{"info", path};
      if (json) args << "--json";
      const Run r = run(args);
      QCOMPARE(r.code, 1);
      QVERIFY2(r.out.isEmpty(), r.out.constData());
      QVERIFY2(r.err.startsWith("rebasin: error: "), r.err.constData());
      QCOMPARE(r.err.count('\n'), 1);
      QVERIFY(r.err.endsWith('\n'));
    }
  }

  void missingArgument() {
    const Run r = run({"info"});
    QCOMPARE(r.code, 1);
    QVERIFY(r.err.startsWith("rebasin: error: "));
  }
};

QTEST_APPLESS_MAIN(TestCliInfo)
#include "tst_cli_info.moc"
