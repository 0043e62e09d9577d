// Continual-learning building blocks on small synthetic data: stream construction (rotation
// angles, pixel permutations, class splits and their masks, per-task subsets), the replay
// memory's balance over tasks and classes, and the metrics on hand-made accuracy matrices.
#include <QtTest/QtTest>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "common/error.h"
#include "continual/metrics.h"
#include "continual/replay.h"
#include "continual/stream.h"
#include "data/transforms.h"
#include "ot/permutation.h"

using namespace rebasin;
using namespace rebasin::continual;

Q_DECLARE_METATYPE(AccuracyMatrix)

namespace {

// n images of 1 x 28 x 28 with labels i % 10 (every class present).
data::Dataset synthetic(std::int64_t n, std::uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  data::Dataset d;
  d.inputs = at::rand({n, 1, 28, 28}, gen, at::kFloat);
  d.targets = at::arange(n, at::kLong).remainder(10);
  d.num_classes = 10;
  d.name = "synthetic";
  return d;
}

data::Splits base() { return {synthetic(400, 1), synthetic(100, 2)}; }

StreamOptions options(const std::string& name, int tasks = 4) {
  StreamOptions o;
  o.name = name;
  o.tasks = tasks;
  o.normalize = false;
  return o;
}

std::vector<std::int64_t> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kLong).contiguous();
  return {c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel()};
}

}  // namespace

class TestContinualStreams : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void rotationAngles_data() {
    QTest::addColumn<int>("tasks");
    QTest::addColumn<QVector<double>>("expected");
    QTest::newRow("one") << 1 << QVector<double>{0.0};
    QTest::newRow("two") << 2 << QVector<double>{0.0, 180.0};
    QTest::newRow("five") << 5 << QVector<double>{0.0, 45.0, 90.0, 135.0, 180.0};
  }

  void rotationAngles() {
    QFETCH(int, tasks);
    QFETCH(QVector<double>, expected);
    const std::vector<double> a = rotation_angles(tasks);
    QCOMPARE(int(a.size()), expected.size());
    for (int i = 0; i < expected.size(); ++i) QVERIFY(std::abs(a[i] - expected[i]) < 1e-12);
  }

  void twentyRotationsAsThePaper() {
    const std::vector<double> a = rotation_angles(20);
    QCOMPARE(a.size(), std::size_t(20));
    for (int i = 0; i < 20; ++i) QVERIFY(std::abs(a[i] - 180.0 * i / 19.0) < 1e-12);
  }

  void rotatedStreamRotatesEachTask() {
    const Stream s = Stream::from_base(options("rotated-mnist", 4), base());
    QCOMPARE(s.size(), 4);
    QVERIFY(!s.masks_classes());
    QVERIFY(s.class_mask().all().item<bool>());
    const data::Splits b = base();
    for (int t = 0; t < 4; ++t) {
      QCOMPARE(s.task(t).angle, 60.0 * t);
      QCOMPARE(s.task(t).classes.size(), std::size_t(10));
      const data::Dataset d = s.train_set(t);
      QCOMPARE(d.size(), 400);
      const at::Tensor expected = data::rotate(b.train.inputs, 60.0 * t, data::Interpolation::Nearest);
      QVERIFY(at::equal(d.inputs, expected));
      QVERIFY(at::equal(d.targets, b.train.targets));
      QCOMPARE(s.test_set(t).size(), 100);
    }
    QVERIFY(at::equal(s.train_set(0).inputs, b.train.inputs));
    QCOMPARE(s.task(1).name, std::string("rotate 60.0"));
  }

  void normalisesAfterRotating() {
    StreamOptions o = options("rotated-mnist", 3);
    o.normalize = true;
    const Stream s = Stream::from_base(o, base());
    const data::Splits b = base();
    const at::Tensor rotated = data::rotate(b.test.inputs, 90.0, data::Interpolation::Nearest);
    QVERIFY(at::allclose(s.test_set(1).inputs, (rotated - 0.1307) / 0.3081));
    // The corners a 90-degree turn of a square image keeps are the image's; a 45-degree turn
    // brings in black, which normalises to -0.1307 / 0.3081.
    o.tasks = 5;
    const at::Tensor x = Stream::from_base(o, base()).test_set(1).inputs;
    QVERIFY(std::abs(x[0][0][0][0].item<double>() + 0.1307 / 0.3081) < 1e-6);
  }

  void permutedStreamPermutesPixels() {
    StreamOptions o = options("permuted-mnist", 3);
    o.seed = 5;
    const Stream s = Stream::from_base(o, base());
    const data::Splits b = base();
    QVERIFY(!s.task(0).pixel_perm.defined());
    QVERIFY(at::equal(s.train_set(0).inputs, b.train.inputs));
    for (int t = 1; t < 3; ++t) {
      ot::check_permutation(s.task(t).pixel_perm, 784);
      QVERIFY(at::equal(s.test_set(t).inputs, data::permute_pixels(b.test.inputs, s.task(t).pixel_perm)));
    }
    QVERIFY(!at::equal(s.task(1).pixel_perm, s.task(2).pixel_perm));
    // The permutations are the seed's: the same again, others for another seed.
    QVERIFY(at::equal(Stream::from_base(o, base()).task(2).pixel_perm, s.task(2).pixel_perm));
    o.seed = 6;
    QVERIFY(!at::equal(Stream::from_base(o, base()).task(2).pixel_perm, s.task(2).pixel_perm));
  }

  void splitStreams_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("classIncremental");
    QTest::newRow("mnist task-incremental") << "split-mnist" << false;
    QTest::newRow("mnist class-incremental") << "split-mnist" << true;
    QTest::newRow("fashion task-incremental") << "split-fashion" << false;
  }

  void splitStreams() {
    QFETCH(QString, name);
    QFETCH(bool, classIncremental);
    StreamOptions o = options(name.toStdString(), 17);  // split streams ignore tasks
    o.class_incremental = classIncremental;
    const Stream s = Stream::from_base(o, base());
    QCOMPARE(s.size(), 5);
    QCOMPARE(s.masks_classes(), !classIncremental);
    for (int t = 0; t < 5; ++t) {
      const std::vector<std::int64_t> classes = {2 * t, 2 * t + 1};
      QCOMPARE(s.task(t).classes, classes);
      const data::Dataset train = s.train_set(t), test = s.test_set(t);
      // Exactly the rows of the task's two classes (40 of 400 train, 10 of 100 test each).
      QCOMPARE(train.size(), 80);
      QCOMPARE(test.size(), 20);
      for (const data::Dataset* dp : {&train, &test}) {
        const data::Dataset& d = *dp;
        QVERIFY(d.targets.eq(classes[0]).logical_or(d.targets.eq(classes[1])).all().item<bool>());
        QVERIFY(d.targets.eq(classes[0]).any().item<bool>() && d.targets.eq(classes[1]).any().item<bool>());
      }
      for (int c = 0; c < 10; ++c) {
        const bool in_task = c == classes[0] || c == classes[1];
        QCOMPARE(s.class_mask()[t][c].item<bool>(), classIncremental || in_task);
      }
    }
  }

  void subsetsPerTask() {
    StreamOptions o = options("rotated-mnist", 3);
    o.train_per_task = 50;
    o.test_per_task = 30;
    o.seed = 9;
    const Stream s = Stream::from_base(o, base());
    for (int t = 0; t < 3; ++t) {
      const std::vector<std::int64_t> rows = to_vector(s.task(t).train_rows);
      QCOMPARE(rows.size(), std::size_t(50));
      QCOMPARE(std::set<std::int64_t>(rows.begin(), rows.end()).size(), std::size_t(50));
      QCOMPARE(s.test_set(t).size(), 30);
    }
    QVERIFY(!at::equal(s.task(0).train_rows, s.task(1).train_rows));
    QVERIFY(at::equal(Stream::from_base(o, base()).task(1).train_rows, s.task(1).train_rows));
    // A subset larger than the task is the whole task.
    o.train_per_task = 100000;
    QCOMPARE(Stream::from_base(o, base()).task(0).train_rows.size(0), 400);
  }

  void jointSamplesAreTheTasks() {
    const Stream s = Stream::from_base(options("rotated-mnist", 3), base());
    const at::Tensor local = at::tensor(std::vector<std::int64_t>{3, 0, 7});
    const data::Dataset d = s.train_samples(2, local);
    QVERIFY(at::equal(d.inputs, s.train_set(2).inputs.index_select(0, local)));
    QVERIFY(at::equal(d.targets, s.train_set(2).targets.index_select(0, local)));
  }

  void badStreams() {
    QVERIFY_THROWS_EXCEPTION(UserError, Stream::from_base(options("rotated-cifar"), base()));
    QVERIFY_THROWS_EXCEPTION(UserError, Stream::from_base(options("rotated-mnist", 0), base()));
    data::Splits five = base();
    five.train.num_classes = 5;
    QVERIFY_THROWS_EXCEPTION(UserError, Stream::from_base(options("split-mnist"), five));
    StreamOptions o = options("rotated-mnist");
    o.data_dir = "/nonexistent/continual";
    QVERIFY_THROWS_EXCEPTION(UserError, Stream::make(o));
  }

  void replayBalancedOverTasksAndClasses_data() {
    QTest::addColumn<int>("perTask");
    QTest::addColumn<QString>("stream");
    QTest::addColumn<QVector<int>>("perClass");  // expected count of each of a task's classes
    QTest::newRow("reference: 50 a task, 5 a class") << 50 << "rotated-mnist" << QVector<int>(10, 5);
    QTest::newRow("remainder to the first classes") << 13 << "rotated-mnist" << QVector<int>{2, 2, 2, 1, 1, 1, 1, 1, 1, 1};
    QTest::newRow("two classes a task") << 7 << "split-mnist" << QVector<int>{4, 3};
    QTest::newRow("a class runs short") << 200 << "split-mnist" << QVector<int>{40, 40};
  }

  void replayBalancedOverTasksAndClasses() {
    QFETCH(int, perTask);
    QFETCH(QString, stream);
    QFETCH(QVector<int>, perClass);
    const Stream s = Stream::from_base(options(stream.toStdString(), 3), base());
    ReplayBuffer buffer(perTask);
    const int tasks = std::min(3, s.size());
    int expected_size = 0;
    for (int t = 0; t < tasks; ++t) {
      buffer.add(t, s.train_set(t), s.task(t).classes, 100 + t);
      for (int c : perClass) expected_size += c;
    }
    QCOMPARE(buffer.size(), expected_size);
    const Batch all = buffer.all();
    for (int t = 0; t < tasks; ++t)
      for (std::size_t i = 0; i < s.task(t).classes.size(); ++i) {
        const auto c = s.task(t).classes[i];
        QCOMPARE(all.task.eq(t).logical_and(all.y.eq(c)).sum().item<std::int64_t>(), std::int64_t(perClass[int(i)]));
      }
    // The stored inputs are the task's (rotated) samples of that class.
    const data::Dataset last = s.train_set(tasks - 1);
    for (std::int64_t k : to_vector(all.task.eq(tasks - 1).nonzero().reshape({-1}))) {
      const at::Tensor x = all.x[k];
      const at::Tensor match = (last.inputs - x).abs().flatten(1).amax(1).eq(0).logical_and(last.targets.eq(all.y[k]));
      QVERIFY(match.any().item<bool>());
    }
  }

  void replayDraws() {
    const Stream s = Stream::from_base(options("rotated-mnist", 2), base());
    ReplayBuffer buffer(20);
    QCOMPARE(buffer.draw(5, 1).x.defined(), false);  // empty memory: nothing to replay
    buffer.add(0, s.train_set(0), s.task(0).classes, 1);
    buffer.add(1, s.train_set(1), s.task(1).classes, 2);
    const Batch a = buffer.draw(15, 7), b = buffer.draw(15, 7), c = buffer.draw(15, 8);
    QCOMPARE(a.x.size(0), 15);
    QVERIFY(at::equal(a.x, b.x) && at::equal(a.task, b.task));
    QVERIFY(!at::equal(a.x, c.x));
    QCOMPARE(buffer.draw(1000, 7).x.size(0), 40);  // at most everything stored
    // Drawn samples are distinct stored samples.
    const at::Tensor flat = a.x.flatten(1);
    QCOMPARE(std::get<0>(at::unique_dim(flat, 0)).size(0), 15);
    ReplayBuffer none(0);
    none.add(0, s.train_set(0), s.task(0).classes, 1);
    QCOMPARE(none.size(), 0);
  }

  void metrics_data() {
    QTest::addColumn<AccuracyMatrix>("r");
    QTest::addColumn<double>("average");
    QTest::addColumn<double>("forget");
    QTest::addColumn<double>("bwt");
    QTest::newRow("single task") << AccuracyMatrix{{0.7}} << 0.7 << 0.0 << 0.0;
    // forgetting: task 0 0.9 -> 0.5, task 1 0.8 -> 0.7; bwt the same drops, signed.
    QTest::newRow("three tasks") << AccuracyMatrix{{0.9, 0.1, 0.2}, {0.6, 0.8, 0.3}, {0.5, 0.7, 0.9}} << 0.7 << 0.25
                                 << -0.25;
    // Task 0 peaks after task 1 (0.8, not its 0.5 when learned): forgetting counts from the
    // peak, backward transfer from the moment it was learned.
    QTest::newRow("peak after learning") << AccuracyMatrix{{0.5, 0.0, 0.0}, {0.8, 0.6, 0.0}, {0.4, 0.6, 1.0}}
                                         << 2.0 / 3.0 << 0.2 << -0.05;
    // An old task that got better: negative forgetting, positive backward transfer.
    QTest::newRow("improving old tasks") << AccuracyMatrix{{0.5, 0.2}, {0.9, 0.9}} << 0.9 << -0.4 << 0.4;
  }

  void metrics() {
    QFETCH(AccuracyMatrix, r);
    QFETCH(double, average);
    QFETCH(double, forget);
    QFETCH(double, bwt);
    QVERIFY(std::abs(average_accuracy(r) - average) < 1e-12);
    QVERIFY(std::abs(forgetting(r) - forget) < 1e-12);
    QVERIFY(std::abs(backward_transfer(r) - bwt) < 1e-12);
  }

  void metricsNeedASquareMatrix() {
    QVERIFY_THROWS_EXCEPTION(UserError, average_accuracy({}));
    QVERIFY_THROWS_EXCEPTION(UserError, forgetting({{0.5, 0.5}}));
    QVERIFY_THROWS_EXCEPTION(UserError, backward_transfer({{0.5, 0.5}, {0.5}}));
  }
};

QTEST_GUILESS_MAIN(TestContinualStreams)
#include "tst_continual_streams.moc"
