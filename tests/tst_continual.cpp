// Continual learning runs on a small slice of MNIST: every method learns (well above chance),
// the accuracy matrix and its events agree, runs are deterministic for a seed, EWC with
// lambda 0 is fine-tuning, rebasin-il measures both mixes, split streams score within or
// across tasks, bad options are user errors, and a run stops when cancelled.
// MNIST comes from scripts/setup.sh; with REBASIN_ALLOW_MISSING_DATA=1 the runs are skipped.
#include <QtTest/QtTest>

#include <cmath>

#include "common/cancel.h"
#include "common/error.h"
#include "common/runtime.h"
#include "continual/continual.h"
#include "data/dataset.h"

using namespace rebasin;
using namespace rebasin::continual;

namespace {

// Records every event; optionally cancels after `cancel_after_steps` progress events or when a
// given task finishes.
class Recorder : public EventSink {
 public:
  void progress(const ProgressEvent& e) override {
    progress_events.push_back(e);
    if (token && cancel_at_progress > 0 && int(progress_events.size()) >= cancel_at_progress) token->cancel();
  }
  void task(const TaskEvent& e) override {
    tasks.push_back(e);
    if (token && cancel_after_task >= 0 && e.task == cancel_after_task) token->cancel();
  }
  std::vector<ProgressEvent> progress_events;
  std::vector<TaskEvent> tasks;
  CancelToken* token = nullptr;
  int cancel_at_progress = 0, cancel_after_task = -1;
};

// Small and quick: 3 rotated tasks (0, 90, 180 degrees), 600 training and 300 test samples a
// task, 2 epochs, batches of 50 for the batch-500 methods and SGD at 0.05 for the batch-10 ones
// (their reference 0.01 needs more than these 120 steps to get far).
ContinualOptions small(const std::string& method) {
  ContinualOptions o;
  o.stream = "rotated-mnist";
  o.tasks = 3;
  o.method = method;
  o.epochs = 2;
  o.train_per_task = 600;
  o.test_per_task = 300;
  o.seed = 1;
  if (method != "finetune" && method != "ewc") o.batch_size = 50;
  else o.lr = 0.05;
  o.replay_size = 300;
  return o;
}

bool mnist_installed() {
  try {
    data::load_dataset("mnist");
    return true;
  } catch (const UserError&) {
    if (qEnvironmentVariableIntValue("REBASIN_ALLOW_MISSING_DATA") == 1) return false;
    throw;
  }
}

}  // namespace

class TestContinual : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    configure_threads(1);
    if (!mnist_installed()) QSKIP("MNIST not installed");
  }

  void everyMethodLearns_data() {
    QTest::addColumn<QString>("method");
    for (const auto& m : method_names()) QTest::newRow(m.c_str()) << QString::fromStdString(m);
  }

  void everyMethodLearns() {
    QFETCH(QString, method);
    Recorder rec;
    const ContinualOptions o = small(method.toStdString());
    const ContinualResult r = run_continual(o, &rec);
    QCOMPARE(r.accuracy_matrix.size(), std::size_t(3));
    for (const auto& row : r.accuracy_matrix) {
      QCOMPARE(row.size(), std::size_t(3));
      for (double a : row) QVERIFY(a >= 0.0 && a <= 1.0);
    }
    // Chance is 10%: the first task is learned well, and the stream as a whole above chance.
    QVERIFY2(r.accuracy_matrix[0][0] > 0.6, qPrintable(QString::number(r.accuracy_matrix[0][0])));
    QVERIFY2(r.average_accuracy > 0.3, qPrintable(QString::number(r.average_accuracy)));
    QCOMPARE(r.task_names, (std::vector<std::string>{"rotate 0.0", "rotate 90.0", "rotate 180.0"}));
    QCOMPARE(r.train_per_task, std::int64_t(600));
    // The events: one per task, carrying the matrix's rows; progress rising to 1.
    QCOMPARE(rec.tasks.size(), std::size_t(3));
    for (int t = 0; t < 3; ++t) {
      QCOMPARE(rec.tasks[t].task, t);
      QCOMPARE(rec.tasks[t].tasks, 3);
      QCOMPARE(rec.tasks[t].accuracy, r.accuracy_matrix[t]);
    }
    QVERIFY(!rec.progress_events.empty());
    QCOMPARE(rec.progress_events.back().fraction, 1.0);
    QCOMPARE(rec.progress_events.back().stage, std::string("continual"));
    for (std::size_t i = 1; i < rec.progress_events.size(); ++i)
      QVERIFY(rec.progress_events[i].fraction >= rec.progress_events[i - 1].fraction);
    QVERIFY(r.seconds > 0);
    QVERIFY(std::isfinite(r.forgetting) && std::isfinite(r.backward_transfer));
  }

  void deterministicForASeed() {
    const ContinualOptions o = small("rebasin-il");
    const ContinualResult a = run_continual(o), b = run_continual(o);
    QCOMPARE(a.accuracy_matrix, b.accuracy_matrix);
    ContinualOptions other = o;
    other.seed = 2;
    QVERIFY(run_continual(other).accuracy_matrix != a.accuracy_matrix);
  }

  void ewcWithoutPenaltyIsFinetuning() {
    ContinualOptions e = small("ewc");
    e.ewc_lambda = 0;
    e.ewc_samples = 100;
    const ContinualResult finetune = run_continual(small("finetune"));
    QCOMPARE(run_continual(e).accuracy_matrix, finetune.accuracy_matrix);
    e.ewc_lambda = 100;
    QVERIFY(run_continual(e).accuracy_matrix != finetune.accuracy_matrix);
  }

  void rebasinMeasuresBothMixes() {
    ContinualOptions o = small("rebasin-il");
    const ContinualResult r = run_continual(o);
    QCOMPARE(r.train_mix_accuracy_matrix.size(), std::size_t(3));
    // The first task has no mix: both are the trained model.
    QCOMPARE(r.train_mix_accuracy_matrix[0], r.accuracy_matrix[0]);
    QVERIFY(r.train_mix_accuracy_matrix[2] != r.accuracy_matrix[2]);
    QVERIFY(r.train_mix_average_accuracy > 0.3);
    // alpha = the training mix: the kept model is the measured one.
    o.alpha = o.train_alpha;
    const ContinualResult same = run_continual(o);
    QCOMPARE(same.train_mix_accuracy_matrix, same.accuracy_matrix);
    QVERIFY(run_continual(small("replay")).train_mix_accuracy_matrix.empty());
  }

  void splitStreams_data() {
    QTest::addColumn<bool>("classIncremental");
    QTest::newRow("task-incremental") << false;
    QTest::newRow("class-incremental") << true;
  }

  void splitStreams() {
    QFETCH(bool, classIncremental);
    ContinualOptions o = small("finetune");
    o.stream = "split-mnist";
    o.tasks = 99;  // ignored: five tasks
    o.class_incremental = classIncremental;
    o.train_per_task = 400;
    const ContinualResult r = run_continual(o);
    QCOMPARE(r.accuracy_matrix.size(), std::size_t(5));
    QCOMPARE(r.task_names.front(), std::string("digits 0,1"));
    for (int t = 0; t < 5; ++t) QVERIFY2(r.accuracy_matrix[t][t] > 0.9, qPrintable(QString::number(r.accuracy_matrix[t][t])));
    // Fine-tuning forgets: without task labels the earlier digits are called the last task's
    // two classes; with them (two-way choices) much survives.
    double old = 0;
    for (int t = 0; t < 4; ++t) old += r.accuracy_matrix[4][t] / 4;
    if (classIncremental) QVERIFY2(old < 0.3, qPrintable(QString::number(old)));
    else QVERIFY2(old > 0.6, qPrintable(QString::number(old)));
  }

  void badOptions_data() {
    QTest::addColumn<QString>("field");
    QTest::newRow("method") << "method";
    QTest::newRow("stream") << "stream";
    QTest::newRow("epochs") << "epochs";
    QTest::newRow("alpha") << "alpha";
    QTest::newRow("tasks") << "tasks";
    QTest::newRow("arch outputs") << "arch";
    QTest::newRow("data dir") << "data_dir";
    QTest::newRow("tau") << "tau";
  }

  void badOptions() {
    QFETCH(QString, field);
    ContinualOptions o = small("finetune");
    if (field == "method") o.method = "lwf";
    if (field == "stream") o.stream = "rotated-cifar";
    if (field == "epochs") o.epochs = 0;
    if (field == "alpha") o.alpha = 1.5;
    if (field == "tasks") o.tasks = 0;
    if (field == "arch") o.arch = "mlp:784,32,5";
    if (field == "data_dir") o.data_dir = "/nonexistent/continual";
    if (field == "tau") o.tau = 0;
    QVERIFY_THROWS_EXCEPTION(UserError, run_continual(o));
  }

  void cancelStopsWithinABatch_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<bool>("afterTask");
    QTest::newRow("finetune, first steps") << "finetune" << false;
    QTest::newRow("rebasin-il, after the first task") << "rebasin-il" << true;
  }

  void cancelStopsWithinABatch() {
    QFETCH(QString, method);
    QFETCH(bool, afterTask);
    CancelToken token;
    Recorder rec;
    rec.token = &token;
    if (afterTask) rec.cancel_after_task = 0;
    else rec.cancel_at_progress = 1;
    ContinualOptions o = small(method.toStdString());
    QVERIFY_THROWS_EXCEPTION(Cancelled, run_continual(o, &rec, &token));
    // Nothing ran past the cancel: no further task finished, at most one more progress event.
    QCOMPARE(rec.tasks.size(), std::size_t(afterTask ? 1 : 0));
    if (!afterTask) QVERIFY(rec.progress_events.size() <= 2);
    CancelToken already;
    already.cancel();
    QVERIFY_THROWS_EXCEPTION(Cancelled, run_continual(o, nullptr, &already));
  }
};

QTEST_GUILESS_MAIN(TestContinual)
#include "tst_continual.moc"
