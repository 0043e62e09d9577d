// `rebasin interpolate` and `rebasin landscape` as a user runs them, on two small digits MLPs
// trained by `rebasin train`: the JSON contract, endpoints that match each model's own test
// accuracy, --perm, CSV output, and clean failures (exit 1, one line, nothing on stdout, no
// file written).
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <cmath>

#include "cli_run.h"
#include "nn/architecture.h"
#include "nn/permutation_file.h"
#include "nn/permute.h"

namespace {

using Run = rebasin::test::CliRun;

Run run(const QStringList& args) { return rebasin::test::run_cli(args); }

QJsonObject json_of(const Run& r) { return QJsonDocument::fromJson(r.out).object(); }

void write_text(const QString& path, const QByteArray& text) {
  QFile f(path);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write(text);
}

int line_count(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return -1;
  return f.readAll().count('\n');
}

}  // namespace

class TestCliLmc : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QString a_, b_, narrow_, identity_, random_;
  double acc_a_ = 0, acc_b_ = 0;

  QStringList base(const char* command) const {
    return {command, a_, b_, "--arch", "mlp:64,32,10", "--data", "digits", "--json"};
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    a_ = dir_.filePath("a.safetensors");
    b_ = dir_.filePath("b.safetensors");
    narrow_ = dir_.filePath("narrow.safetensors");
    const QStringList common = {"train", "--data", "digits", "--epochs", "2", "--json"};
    Run ra = run(common + QStringList{"--arch", "mlp:64,32,10", "--seed", "1", "--out", a_});
    Run rb = run(common + QStringList{"--arch", "mlp:64,32,10", "--seed", "2", "--out", b_});
    Run rn = run(common + QStringList{"--arch", "mlp:64,16,10", "--seed", "3", "--out", narrow_});
    QCOMPARE(ra.code, 0);
    QCOMPARE(rb.code, 0);
    QCOMPARE(rn.code, 0);
    acc_a_ = json_of(ra)["test_accuracy"].toDouble();
    acc_b_ = json_of(rb)["test_accuracy"].toDouble();

    // The identity written by hand, as the file format documents it.
    QByteArray perm = "{\"format\": \"rebasin-permutations\", \"version\": 1, \"arch\": \"mlp:64,32,10\", "
                      "\"groups\": [{\"name\": \"fc1\", \"size\": 32, \"perm\": [";
    for (int i = 0; i < 32; ++i) perm += QByteArray::number(i) + (i < 31 ? "," : "");
    perm += "]}]}\n";
    identity_ = dir_.filePath("identity.json");
    write_text(identity_, perm);
    const auto arch = rebasin::nn::make_architecture("mlp:64,32,10");
    random_ = dir_.filePath("random.json");
    rebasin::nn::write_permutations(random_.toStdString(), arch->name(), arch->spec(),
                                    rebasin::nn::random_permutations(arch->spec(), 7));
  }

  void interpolateJson() {
    const Run r = run(base("interpolate"));
    QCOMPARE(r.code, 0);
    const QJsonObject o = json_of(r);
    QVERIFY2(!o.isEmpty(), r.out.constData());  // stdout holds only the JSON
    const QJsonArray lambdas = o["lambdas"].toArray(), loss = o["loss"].toArray(), acc = o["accuracy"].toArray();
    QCOMPARE(o["points"].toInt(), 25);
    QCOMPARE(lambdas.size(), 25);
    QCOMPARE(loss.size(), 25);
    QCOMPARE(acc.size(), 25);
    QCOMPARE(lambdas.first().toDouble(), 0.0);
    QCOMPARE(lambdas.last().toDouble(), 1.0);
    QCOMPARE(o["split"].toString(), QString("test"));
    QCOMPARE(o["arch"].toString(), QString("mlp:64,32,10"));
    QVERIFY(std::abs(acc.first().toDouble() - acc_a_) < 1e-6);
    QVERIFY(std::abs(acc.last().toDouble() - acc_b_) < 1e-6);
    QVERIFY(o["barrier"].toDouble() >= 0);
    QVERIFY(o.contains("area"));
    QVERIFY2(r.err.contains("lambda 0.500: test loss"), r.err.constData());  // progress on stderr
    QVERIFY(r.err.contains("ETA"));

    // An identity --perm changes nothing.
    const Run p = run(base("interpolate") + QStringList{"--perm", identity_});
    QCOMPARE(p.code, 0);
    QCOMPARE(json_of(p)["loss"].toArray(), loss);
    QCOMPARE(json_of(p)["barrier"].toDouble(), o["barrier"].toDouble());
  }

  void interpolateCsvAndTable() {
    QTemporaryDir out;
    const QString csv = out.filePath("curve.csv");
    const Run r = run({"interpolate", a_, b_, "--data", "digits", "--points", "5", "--split", "train",
                       "--perm", random_, "--csv", csv});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.contains("barrier: "), r.out.constData());  // auto arch, readable table
    QCOMPARE(line_count(csv), 6);
    QFile f(csv);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readLine(), QByteArray("lambda,loss,accuracy\n"));
    QVERIFY(f.readLine().startsWith("0,"));
  }

  void landscapeJsonAndCsv() {
    QTemporaryDir out;
    const QString csv = out.filePath("plane.csv");
    const Run r = run(base("landscape") + QStringList{"--perm", random_, "--grid", "5", "--csv", csv});
    QCOMPARE(r.code, 0);
    const QJsonObject o = json_of(r);
    QCOMPARE(o["grid"].toInt(), 5);
    QCOMPARE(o["xs"].toArray().size(), 5);
    QCOMPARE(o["ys"].toArray().size(), 5);
    const QJsonArray loss = o["loss"].toArray();
    QCOMPARE(loss.size(), 5);
    for (const auto& row : loss) QCOMPARE(row.toArray().size(), 5);
    QCOMPARE(o["accuracy"].toArray().size(), 5);
    const QJsonObject pts = o["points"].toObject();
    QCOMPARE(pts["A"].toArray(), (QJsonArray{0.0, 0.0}));
    QVERIFY(pts["B"].toArray()[0].toDouble() > 0);
    QVERIFY(pts["B_aligned"].toArray()[1].toDouble() > 0);
    QCOMPARE(line_count(csv), 26);
    QVERIFY2(r.err.contains("row 5/5"), r.err.constData());
  }

  void failures_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    QTest::newRow("missing file") << QStringList{"interpolate", "A", "MISSING", "--data", "digits"} << "missing";
    QTest::newRow("different widths") << QStringList{"interpolate", "A", "NARROW", "--data", "digits"} << "fc1.weight";
    QTest::newRow("bad perm file") << QStringList{"interpolate", "A", "B", "--data", "digits", "--perm", "BADPERM"} << "permutation";
    QTest::newRow("perm of another model") << QStringList{"interpolate", "A", "NARROW", "--arch", "mlp:64,16,10", "--data", "digits", "--perm", "IDENTITY"} << "";
    QTest::newRow("one point") << QStringList{"interpolate", "A", "B", "--data", "digits", "--points", "1"} << "points";
    QTest::newRow("bad split") << QStringList{"interpolate", "A", "B", "--data", "digits", "--split", "val"} << "split";
    QTest::newRow("csv folder missing") << QStringList{"interpolate", "A", "B", "--data", "digits", "--csv", "NODIR"} << "--csv";
    QTest::newRow("landscape without perm") << QStringList{"landscape", "A", "B", "--data", "digits"} << "perm";
    QTest::newRow("landscape identity perm") << QStringList{"landscape", "A", "B", "--data", "digits", "--perm", "IDENTITY"} << "line";
    QTest::newRow("landscape grid 2") << QStringList{"landscape", "A", "B", "--data", "digits", "--perm", "RANDOM", "--grid", "2"} << "grid";
    QTest::newRow("data does not fit") << QStringList{"interpolate", "A", "B", "--data", "poly1"} << "";
  }

  void failures() {
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    QTemporaryDir out;
    const QString csv = out.filePath("out.csv");
    const QString bad = out.filePath("bad.json");
    write_text(bad, "{\"format\": \"something else\"}");
    for (QString& a : args) {
      if (a == "A") a = a_;
      if (a == "B") a = b_;
      if (a == "NARROW") a = narrow_;
      if (a == "MISSING") a = out.filePath("missing.safetensors");
      if (a == "BADPERM") a = bad;
      if (a == "IDENTITY") a = identity_;
      if (a == "RANDOM") a = random_;
      if (a == "NODIR") a = out.filePath("no/such/dir/out.csv");
    }
    args << "--csv" << csv << "--json";
    if (args.count("--csv") > 1) args.removeAt(args.lastIndexOf("--csv")), args.removeAt(args.lastIndexOf(csv));
    const Run r = run(args);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.startsWith("rebasin: error: "), r.err.constData());
    QCOMPARE(r.err.count('\n'), 1);
    QVERIFY2(r.err.contains(message.toUtf8()), r.err.constData());
    QVERIFY(r.out.isEmpty());
    QCOMPARE(QDir(out.path()).entryList(QDir::Files), QStringList{"bad.json"});  // nothing written
  }
};

QTEST_GUILESS_MAIN(TestCliLmc)
#include "tst_cli_lmc.moc"
