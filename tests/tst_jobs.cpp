// The jobs layer (core/jobs) as both front ends use it: the CLI's `align --json` and the
// studio's align task run the same job, so the same settings give the same report (barriers,
// curves, groups) and the same permutations; every method of the registry is offered by both;
// reports round-trip through their JSON; the "random" baseline method keeps the function.
#include <QtTest/QtTest>

#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QMap>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QWheelEvent>

#include <cmath>

#include "align/method_registry.h"
#include "app/studio/job_dock.h"
#include "app/studio/jobs.h"
#include "cli_run.h"
#include "common/cancel.h"
#include "common/error.h"
#include "common/runtime.h"
#include "jobs/align_job.h"

using namespace rebasin;

namespace {

QString demo(const char* name) { return QStringLiteral(REBASIN_DEMO_DIR) + "/" + name; }

QByteArray read_all(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool close(double a, double b) { return (std::isnan(a) && std::isnan(b)) || std::abs(a - b) <= 1e-9 * (1 + std::abs(b)); }

// Every number of two reports' JSON (seconds and device aside) equal to 1e-9, every string equal.
void compare_json(const QJsonValue& a, const QJsonValue& b, const QString& where) {
  QVERIFY2(a.type() == b.type(), qPrintable(where + ": types differ"));
  if (a.isObject()) {
    const QJsonObject x = a.toObject(), y = b.toObject();
    QCOMPARE(x.keys(), y.keys());
    for (const QString& k : x.keys())
      if (k != "seconds" && k != "device") compare_json(x[k], y[k], where + "." + k);
  } else if (a.isArray()) {
    QCOMPARE(a.toArray().size(), b.toArray().size());
    for (int i = 0; i < a.toArray().size(); ++i) compare_json(a.toArray()[i], b.toArray()[i], where + "[" + QString::number(i) + "]");
  } else if (a.isDouble()) {
    QVERIFY2(close(a.toDouble(), b.toDouble()), qPrintable(where + QString(": %1 vs %2").arg(a.toDouble()).arg(b.toDouble())));
  } else {
    QVERIFY2(a == b, qPrintable(where + ": " + a.toVariant().toString() + " vs " + b.toVariant().toString()));
  }
}

}  // namespace

class TestJobs : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    configure_threads(2);  // as the CLI below (--threads 2): the same summation order
    QVERIFY(dir_.isValid());
  }

  void cliAndStudioGiveTheSameAlignReport_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<int>("steps");
    QTest::addColumn<QString>("normalize");
    QTest::newRow("weight") << "weight" << 0 << "";
    QTest::newRow("sinkhorn l2") << "sinkhorn" << 8 << "";
    QTest::newRow("random, normalised data") << "random" << 0 << "0.1307,0.3081";
    QTest::newRow("activation") << "activation" << 0 << "";
    QTest::newRow("ste") << "ste" << 3 << "";
  }
  void cliAndStudioGiveTheSameAlignReport() {
    QFETCH(QString, method);
    QFETCH(int, steps);
    QFETCH(QString, normalize);
    const QString a = demo("mnist-mlp-seed1.safetensors"), b = demo("mnist-mlp-seed2.safetensors");
    const QString cli_perm = dir_.filePath(method + "-cli.json"), studio_perm = dir_.filePath(method + "-studio.json");
    QStringList args = {"align", a, b, "--data", "mnist", "--method", method, "--points", "5", "--seed", "3",
                        "--threads", "2", "--device", "cpu", "--perm-out", cli_perm, "--json"};
    if (steps > 0) args << "--steps" << QString::number(steps);
    if (!normalize.isEmpty()) args << "--normalize" << normalize;
    const test::CliRun r = test::run_cli(args);
    QVERIFY2(r.code == 0, r.err.constData());
    const QJsonObject cli = QJsonDocument::fromJson(r.out).object();

    studio::JobSettings s;
    s.task = studio::Task::Align;
    s.modelA = a;
    s.modelB = b;
    s.data = "mnist";
    s.method = method;
    s.steps = steps;
    s.points = 5;
    s.seed = 3;
    s.device = "cpu";
    s.normalize = normalize;
    CancelToken cancel;
    QMap<int, widgets::PlanView> drawn;  // the last plan of every group, as the plan view keeps it
    studio::JobCallbacks callbacks;
    callbacks.plan = [&](const widgets::PlanView& p) { drawn[p.group] = p; };
    const studio::JobOutcome out = studio::runJob(s, callbacks, cancel);
    QVERIFY(out.aligned != nullptr);
    studio::exportPermutations(*out.aligned, studio_perm);

    compare_json(out.summary, cli, "report");
    QCOMPARE(cli["curves"].toObject().keys(), QStringList({"aligned", "naive"}));
    QCOMPARE(read_all(studio_perm), read_all(cli_perm));

    // What the plan view draws last is the permutation the CLI wrote, unit for unit.
    const QJsonArray groups = QJsonDocument::fromJson(read_all(cli_perm)).object()["groups"].toArray();
    QCOMPARE(drawn.size(), groups.size());
    QCOMPARE(out.permutations.size(), groups.size());
    for (int g = 0; g < groups.size(); ++g) {
      QVector<qint64> written;
      for (const QJsonValue& x : groups[g].toObject()["perm"].toArray()) written << qint64(x.toDouble());
      QVERIFY2(drawn[g].result, qPrintable(method));
      QCOMPARE(drawn[g].step, cli["chosen_step"].toInt());
      QCOMPARE(drawn[g].assignment, written);
      QCOMPARE(out.permutations[g], written);
    }
  }

  // The CLI warns (exit 0, one "note:" line per model on stderr) when the data is not what the
  // models' metadata says they were trained on, and stays quiet on their own data.
  void cliWarnsWhenTheDataIsNotTheModelsOwn() {
    const QString a = demo("fmnist-vit-seed1.safetensors"), b = demo("fmnist-vit-seed2.safetensors");
    const test::CliRun other = test::run_cli({"interpolate", a, b, "--data", "mnist", "--points", "2", "--device", "cpu"});
    QVERIFY2(other.code == 0, other.err.constData());
    QVERIFY2(other.err.contains("rebasin: note: model A was trained on fashion-mnist (its metadata) but the data is mnist"),
             other.err.constData());
    QVERIFY(other.err.contains("rebasin: note: model B was trained on fashion-mnist"));
    const test::CliRun own = test::run_cli({"interpolate", a, b, "--data", "fashion-mnist", "--points", "2", "--device", "cpu"});
    QVERIFY2(own.code == 0, own.err.constData());
    QVERIFY2(!own.err.contains("trained on"), own.err.constData());
    QVERIFY2(!own.err.contains("measured test accuracy"), own.err.constData());

    // Read otherwise than trained (normalised inputs the MLPs never saw): the measured endpoint
    // accuracy is far from the recorded one, and the note says so.
    const QString m1 = demo("mnist-mlp-seed1.safetensors"), m2 = demo("mnist-mlp-seed2.safetensors");
    const test::CliRun skewed = test::run_cli({"interpolate", m1, m2, "--data", "mnist", "--normalize", "0.9,0.05",
                                               "--points", "2", "--device", "cpu"});
    QVERIFY2(skewed.code == 0, skewed.err.constData());
    QVERIFY2(skewed.err.contains("rebasin: note: model A: measured test accuracy"), skewed.err.constData());
    QVERIFY(skewed.err.contains("recorded when it was trained"));

    // rebasin info says what the model was trained on.
    const test::CliRun info = test::run_cli({"info", m1});
    QVERIFY2(info.out.contains("trained on mnist, test accuracy 96.73% (its metadata)"), info.out.constData());
    const test::CliRun infoJson = test::run_cli({"info", m1, "--json"});
    const QJsonObject trained = QJsonDocument::fromJson(infoJson.out).object()["trained"].toObject();
    QCOMPARE(trained["data"].toString(), QStringLiteral("mnist"));
    QCOMPARE(trained["test_accuracy"].toDouble(), 0.9673);
  }

  void everyMethodIsOfferedByBothFrontEnds() {
    const test::CliRun help = test::run_cli({"align", "--help"});
    QCOMPARE(help.code, 0);
    studio::JobDock dock;
    auto* combo = dock.findChild<QComboBox*>("method");
    QVERIFY(combo != nullptr);
    QCOMPARE(combo->count(), int(align::methods().size()));
    for (const align::MethodEntry& m : align::methods()) {
      QVERIFY2(help.out.contains(QByteArray::fromStdString(m.name + ": " + m.summary.substr(0, 20))), m.name.c_str());
      QVERIFY2(combo->findText(QString::fromStdString(m.name)) >= 0, m.name.c_str());
    }
    // An unknown method is refused by the registry, naming the known ones.
    try {
      align::find_method("magic");
      QFAIL("accepted an unknown method");
    } catch (const UserError& e) {
      QVERIFY2(QString(e.what()).contains("random"), e.what());
    }
  }

  // Every field of the Job dock (Advanced included) says what it does when hovered.
  void everyJobFieldHasATooltip() {
    studio::JobDock dock;
    int fields = 0;
    for (const QFormLayout* form : dock.findChildren<QFormLayout*>()) {
      for (int row = 0; row < form->rowCount(); ++row) {
        const QLayoutItem* item = form->itemAt(row, QFormLayout::FieldRole);
        const QWidget* field = item ? item->widget() : nullptr;
        if (!field) continue;
        const QLayoutItem* labelItem = form->itemAt(row, QFormLayout::LabelRole);
        const auto* label = labelItem ? qobject_cast<const QLabel*>(labelItem->widget()) : nullptr;
        ++fields;
        QVERIFY2(!field->toolTip().trimmed().isEmpty(), qPrintable((label ? label->text() : QString()) + " has no tooltip"));
      }
    }
    QVERIFY(fields >= 25);
  }

  void wheelOverAFieldScrollsTheDock() {
    // Scrolling the Job dock with the wheel must not change a field it passes over (a spin box
    // under the pointer took the wheel: Sinkhorn iterations 20 -> 5 in a real window).
    studio::JobDock dock;
    dock.resize(400, 300);
    dock.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dock));
    auto* method = dock.findChild<QComboBox*>("method");
    QVERIFY(method != nullptr);
    const QString before = method->currentText();
    QWheelEvent wheel(QPointF(5, 5), method->mapToGlobal(QPointF(5, 5)), QPoint(), QPoint(0, -120 * 3),
                      Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
    QCoreApplication::sendEvent(method, &wheel);
    QCOMPARE(method->currentText(), before);
    QCOMPARE(dock.settings().method, before);
  }

  void advancedSettingsReachTheJob() {
    // Settings only the Advanced section sets: they survive a round trip through the dock and
    // the session JSON, and they reach the job (a bad --input is the job's error, not ignored).
    studio::JobDock dock;
    studio::JobSettings s;
    s.key = "ema";
    s.residual = "shared";
    s.normalize = "0.5,0.25";
    s.input = "1,28,28";
    s.backward = "unrolled";
    s.batchSize = 64;
    s.bnReset = false;
    dock.setSettings(s);
    const studio::JobSettings back = studio::JobSettings::fromJson(dock.settings().toJson());
    QCOMPARE(back.key, s.key);
    QCOMPARE(back.residual, s.residual);
    QCOMPARE(back.normalize, s.normalize);
    QCOMPARE(back.input, s.input);
    QCOMPARE(back.backward, s.backward);
    QCOMPARE(back.batchSize, s.batchSize);
    QCOMPARE(back.bnReset, s.bnReset);
    studio::JobSettings bad;
    bad.task = studio::Task::Align;
    bad.modelA = demo("mnist-mlp-seed1.safetensors");
    bad.modelB = demo("mnist-mlp-seed2.safetensors");
    bad.method = "weight";
    bad.input = "1,x,28";
    CancelToken cancel;
    try {
      studio::runJob(bad, {}, cancel);
      QFAIL("a malformed --input was ignored");
    } catch (const UserError& e) {
      QVERIFY2(QString(e.what()).contains("--input"), e.what());
    }
  }

  void randomMethodKeepsTheFunction() {
    // A permutation of every group leaves B's function as it is: the aligned line ends where
    // the naive one does, while nearly every unit moved.
    jobs::AlignJobOptions o;
    o.models.a = demo("mnist-mlp-seed1.safetensors").toStdString();
    o.models.b = demo("mnist-mlp-seed2.safetensors").toStdString();
    o.data.data = "mnist";
    o.align.method = "random";
    o.align.seed = 5;
    o.eval.points = 3;
    o.device = "cpu";
    EventSink quiet;
    const jobs::AlignReport r = jobs::run_align(o, quiet).report;
    QCOMPARE(r.label, std::string("random"));
    for (const jobs::GroupReport& g : r.groups) QVERIFY(g.moved_fraction > 0.9);
    const double naive_end = r.curves.at("naive").loss.back(), aligned_end = r.curves.at("aligned").loss.back();
    QVERIFY2(std::abs(naive_end - aligned_end) < 1e-5 * naive_end, qPrintable(QString("%1 vs %2").arg(naive_end).arg(aligned_end)));

    // The report's JSON is its one form: from_json(to_json) gives the same JSON.
    QCOMPARE(jobs::AlignReport::from_json(r.to_json()).to_json(), r.to_json());
  }

 private:
  QTemporaryDir dir_;
};

QTEST_MAIN(TestJobs)
#include "tst_jobs.moc"
