// `rebasin merge`, `interpolate --repair` and `align --repair` as a user runs them, on small
// digits MLPs trained by `rebasin train`: the JSON contract, the merged file under the first
// model's names (readable back, with --arch auto), a merge of one model with itself that scores
// as the model, and clean failures (exit 1, one line, nothing on stdout, no file written).
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <cmath>

#include "cli_run.h"
#include "io/safetensors.h"

namespace {

using Run = rebasin::test::CliRun;

Run run(const QStringList& args) { return rebasin::test::run_cli(args); }

QJsonObject json_of(const Run& r) { return QJsonDocument::fromJson(r.out).object(); }

}  // namespace

class TestCliMerge : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QStringList models_;
  QString narrow_;
  std::vector<double> accuracy_;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    const QStringList common = {"train", "--data", "digits", "--epochs", "2", "--json", "--arch"};
    for (int s = 1; s <= 3; ++s) {
      models_ << dir_.filePath(QString("m%1.safetensors").arg(s));
      const Run r = run(common + QStringList{"mlp:64,32,10", "--seed", QString::number(s), "--out", models_.last()});
      QCOMPARE(r.code, 0);
      accuracy_.push_back(json_of(r)["test_accuracy"].toDouble());
    }
    narrow_ = dir_.filePath("narrow.safetensors");
    QCOMPARE(run(common + QStringList{"mlp:64,16,10", "--seed", "4", "--out", narrow_}).code, 0);
  }

  void merge_reports_and_writes_data() {
    QTest::addColumn<QString>("to");
    QTest::addColumn<bool>("repair");
    QTest::newRow("star") << "first" << false;
    QTest::newRow("universe repair") << "universe" << true;
  }
  void merge_reports_and_writes() {
    QFETCH(QString, to);
    QFETCH(bool, repair);
    const QString out = dir_.filePath("merged-" + to + ".safetensors");
    QStringList args = QStringList{"merge"} + models_ +
                       QStringList{"--method", "weight", "--to", to, "--data", "digits", "--out", out, "--json"};
    if (repair) args << "--repair";
    const Run r = run(args);
    QVERIFY2(r.code == 0, r.err.constData());
    const QJsonObject j = json_of(r);
    for (const char* key : {"arch", "models", "method", "to", "weights", "repair", "merged", "naive_average",
                            "endpoints", "average_of_endpoints", "best_single", "ensemble", "cycle_error",
                            "objective", "seconds"})
      QVERIFY2(j.contains(key), key);
    QCOMPARE(j["arch"].toString(), QString("mlp:64,32,10"));
    QCOMPARE(j["repair"].toBool(), repair);
    QCOMPARE(j["endpoints"].toArray().size(), 3);
    // The endpoints are the models themselves, as train measured them.
    double mean = 0;
    for (int i = 0; i < 3; ++i) {
      QVERIFY(std::abs(j["endpoints"][i]["accuracy"].toDouble() - accuracy_[i]) < 1e-9);
      mean += accuracy_[i] / 3;
    }
    QVERIFY(std::abs(j["average_of_endpoints"]["accuracy"].toDouble() - mean) < 1e-9);
    const double best = *std::max_element(accuracy_.begin(), accuracy_.end());
    QVERIFY(std::abs(j["best_single"]["accuracy"].toDouble() - best) < 1e-9);
    for (const char* key : {"merged", "naive_average", "ensemble"}) {
      const double acc = j[key]["accuracy"].toDouble();
      QVERIFY2(acc > 0.0 && acc <= 1.0, key);
    }
    QVERIFY(j["merged_without_repair"].isNull() != repair);
    QVERIFY(j["barriers"].isNull());  // only with --barriers
    // The merge's own pairwise maps share one frame; independent pairs need not.
    QCOMPARE(j["cycle_error"]["merge"].toDouble(-1), 0.0);
    QVERIFY(j["cycle_error"]["pairwise"].toDouble(-1) >= 0.0);
    QVERIFY(j["objective"]["final"].toDouble() >= j["objective"]["start"].toDouble());
    // Under the first model's names, and `auto` knows what it is.
    const auto merged = rebasin::io::read_safetensors(out.toStdString());
    const auto first = rebasin::io::read_safetensors(models_[0].toStdString());
    QCOMPARE(merged.tensors.size(), first.tensors.size());
    for (std::size_t i = 0; i < first.tensors.size(); ++i) QCOMPARE(merged.tensors[i].name, first.tensors[i].name);
    const Run ip = run({"interpolate", models_[0], out, "--data", "digits", "--points", "2", "--json"});
    QVERIFY2(ip.code == 0, ip.err.constData());
    QVERIFY(std::abs(json_of(ip)["accuracy"][1].toDouble() - j["merged"]["accuracy"].toDouble()) < 1e-9);
  }

  void barriers_of_every_pair_before_and_after() {
    const QString out = dir_.filePath("merged-barriers.safetensors");
    const Run r = run(QStringList{"merge"} + models_ +
                      QStringList{"--data", "digits", "--barriers", "--points", "5", "--out", out, "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    const QJsonObject b = json_of(r)["barriers"].toObject();
    QCOMPARE(b["points"].toInt(), 5);
    double before = 0, after = 0;
    for (const char* key : {"before", "after"}) {
      const QJsonArray m = b[key].toArray();
      QCOMPARE(m.size(), 3);
      for (int i = 0; i < 3; ++i) {
        QCOMPARE(m[i].toArray().size(), 3);
        QCOMPARE(m[i][i].toDouble(-1), 0.0);
        for (int j = 0; j < 3; ++j) {
          QVERIFY(m[i][j].toDouble(-1) >= 0.0);
          QCOMPARE(m[i][j].toDouble(), m[j][i].toDouble());  // symmetric
          (QByteArray(key) == "before" ? before : after) += m[i][j].toDouble();
        }
      }
    }
    QVERIFY2(after < before, qPrintable(QString("%1 vs %2").arg(after).arg(before)));  // alignment lowers them
  }

  void merge_of_a_model_with_itself_is_the_model() {
    const QString out = dir_.filePath("self.safetensors");
    const Run r = run({"merge", models_[0], models_[0], "--to", "universe", "--repair", "--data", "digits",
                       "--out", out, "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    const QJsonObject j = json_of(r);
    QVERIFY(std::abs(j["merged"]["accuracy"].toDouble() - accuracy_[0]) < 1e-9);
    QVERIFY(j["cycle_error"]["merge"].isNull());  // fewer than 3 models
  }

  void repair_on_interpolate_and_align() {
    const QString perm = dir_.filePath("perm.json");
    const Run al = run({"align", models_[0], models_[1], "--method", "weight", "--data", "digits", "--repair",
                        "--points", "5", "--perm-out", perm, "--json"});
    QVERIFY2(al.code == 0, al.err.constData());
    const QJsonObject barrier = json_of(al)["barrier"].toObject();
    QVERIFY(barrier.contains("repaired"));
    QVERIFY(barrier["repaired"].toDouble(-1) >= 0.0);
    const Run ip = run({"interpolate", models_[0], models_[1], "--perm", perm, "--data", "digits", "--repair",
                        "--points", "5", "--json"});
    QVERIFY2(ip.code == 0, ip.err.constData());
    const QJsonObject j = json_of(ip);
    QVERIFY(j["repair"].toBool());
    // REPAIR of an endpoint is the endpoint.
    QVERIFY(std::abs(j["accuracy"][0].toDouble() - accuracy_[0]) < 2e-3);
    QVERIFY(std::abs(j["accuracy"][4].toDouble() - accuracy_[1]) < 2e-3);
    QVERIFY(std::abs(j["barrier"].toDouble() - barrier["repaired"].toDouble()) < 1e-9);
  }

  void failures_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    QTest::newRow("one model") << QStringList{"merge", "M1", "--data", "digits", "--out", "OUT"} << "at least 2 models";
    QTest::newRow("weights count") << QStringList{"merge", "M1", "M2", "M3", "--weights", "1,1", "--data", "digits", "--out", "OUT"} << "2 weights for 3 models";
    QTest::newRow("weights text") << QStringList{"merge", "M1", "M2", "--weights", "1,x", "--data", "digits", "--out", "OUT"} << "--weights";
    QTest::newRow("weights nan") << QStringList{"merge", "M1", "M2", "--weights", "1,nan", "--data", "digits", "--out", "OUT"} << "--weights";
    QTest::newRow("weights negative") << QStringList{"merge", "M1", "M2", "--weights", "1,-1", "--data", "digits", "--out", "OUT"} << ">= 0";
    QTest::newRow("weights zero") << QStringList{"merge", "M1", "M2", "--weights", "0,0", "--data", "digits", "--out", "OUT"} << "sum to 0";
    QTest::newRow("no out") << QStringList{"merge", "M1", "M2", "--data", "digits"} << "--out";
    QTest::newRow("out not safetensors") << QStringList{"merge", "M1", "M2", "--data", "digits", "--out", "OUT.txt"} << ".safetensors";
    QTest::newRow("no data") << QStringList{"merge", "M1", "M2", "--out", "OUT"} << "--data";
    QTest::newRow("bad target") << QStringList{"merge", "M1", "M2", "--to", "star", "--data", "digits", "--out", "OUT"} << "--to";
    QTest::newRow("different widths") << QStringList{"merge", "M1", "NARROW", "--data", "digits", "--out", "OUT"} << "fc1.weight";
    QTest::newRow("missing model") << QStringList{"merge", "M1", "M2", "MISSING", "--data", "digits", "--out", "OUT"} << "missing";
    QTest::newRow("align repair without data") << QStringList{"align", "M1", "M2", "--method", "weight", "--repair"} << "--data";
  }
  void failures() {
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    QTemporaryDir out;
    for (QString& a : args) {
      if (a == "M1") a = models_[0];
      if (a == "M2") a = models_[1];
      if (a == "M3") a = models_[2];
      if (a == "NARROW") a = narrow_;
      if (a == "MISSING") a = out.filePath("missing.safetensors");
      if (a == "OUT") a = out.filePath("merged.safetensors");
      if (a == "OUT.txt") a = out.filePath("merged.txt");
    }
    args << "--json";
    const Run r = run(args);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.startsWith("rebasin: error: "), r.err.constData());
    QCOMPARE(r.err.count('\n'), 1);
    QVERIFY2(r.err.contains(message.toUtf8()), r.err.constData());
    QVERIFY(r.out.isEmpty());
    QVERIFY(QDir(out.path()).entryList(QDir::Files).isEmpty());  // nothing written
  }
};

QTEST_GUILESS_MAIN(TestCliMerge)
#include "tst_cli_merge.moc"
