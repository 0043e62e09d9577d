// torch.save and TorchScript archives written by Debian's PyTorch (tests/data): every layout of
// state dict, views and dtypes read exactly; hostile or broken files are one UserError each.
#include <QtTest/QtTest>

#include <ATen/ATen.h>

#include <random>

#include "common/error.h"
#include "io/checkpoint.h"
#include "io/torch_archive.h"
#include "io/unpickler.h"
#include "io_test_util.h"

using rebasin::UserError;
using namespace rebasin::io;
using namespace rebasin::test;

namespace {

// Loading must either succeed or raise UserError: anything else (a crash, another exception)
// fails the test.
bool loads_or_user_error(const std::string& bytes) {
  try {
    parse_torch_archive(bytes.data(), bytes.size(), "mutant");
    return true;
  } catch (const UserError& e) {
    return std::string(e.what()).find('\n') == std::string::npos;
  }
}

QString pickle_error(const std::string& pkl) {
  try {
    Unpickler(pkl.data(), pkl.size(), "p").parse();
    return "";
  } catch (const UserError& e) {
    return QString::fromUtf8(e.what());
  }
}

}  // namespace

class TestTorchArchive : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void fixtures_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("format");
    QTest::addColumn<QString>("nesting");
    QTest::newRow("ordered dict") << "mlp_state_dict.pt" << "pytorch" << "";
    QTest::newRow("under state_dict") << "nested_state_dict.pth" << "pytorch" << "state_dict";
    QTest::newRow("under model") << "nested_model.pt" << "pytorch" << "model";
    QTest::newRow("lightning") << "lightning.ckpt" << "pytorch" << "state_dict";
    QTest::newRow("batchnorm") << "batchnorm.pt" << "pytorch" << "";
    QTest::newRow("views") << "views.pt" << "pytorch" << "";
    QTest::newRow("parameter") << "parameter.pt" << "pytorch" << "";
    QTest::newRow("torchscript") << "scripted.pt" << "torchscript" << "";
    QTest::newRow("legacy state dict") << "legacy_mlp.pt" << "pytorch" << "";
    QTest::newRow("legacy training checkpoint") << "legacy_checkpoint.pt" << "pytorch" << "model";
    QTest::newRow("the only state dict, unknown key") << "custom_key.pt" << "pytorch" << "weights";
  }
  void fixtures() {
    QFETCH(QString, file);
    QFETCH(QString, format);
    QFETCH(QString, nesting);
    const Checkpoint ck = load_checkpoint(data_path(file.toStdString()));
    QCOMPARE(QString::fromStdString(ck.format), format);
    QCOMPARE(QString::fromStdString(ck.nesting), nesting);
    QString why;
    QVERIFY2(matches_expected(ck.tensors, file.toStdString(), why), qPrintable(why));
    for (const auto& t : ck.tensors) QVERIFY(t.tensor.is_contiguous());
  }

  void viewsAreExactCopies() {
    const Checkpoint ck = load_checkpoint(data_path("views.pt"));
    const at::Tensor base = at::arange(24, at::kFloat).reshape({4, 6});
    QVERIFY(at::equal(ck.tensors[0].tensor, base.t()));
    QVERIFY(at::equal(ck.tensors[1].tensor, base[1]));
    QVERIFY(at::equal(ck.tensors[2].tensor, base.slice(1, 2, 5)));
    QVERIFY(at::equal(ck.tensors[3].tensor, base.slice(0, 0, 4, 2).slice(1, 0, 6, 3)));
    // Two views of one storage come back as independent tensors.
    ck.tensors[1].tensor.fill_(-1);
    QCOMPARE(ck.tensors[0].tensor[0][1].item<float>(), 6.0f);
  }

  void int64Buffer() {
    const Checkpoint ck = load_checkpoint(data_path("batchnorm.pt"));
    QCOMPARE(ck.tensors.back().name, std::string("1.num_batches_tracked"));
    QCOMPARE(ck.tensors.back().tensor.scalar_type(), at::kLong);
    QCOMPARE(ck.tensors.back().tensor.item<int64_t>(), int64_t(1));
  }

  void wholeModelIsExplained() {
    try {
      load_checkpoint(data_path("whole_model.pt"));
      QFAIL("no error");
    } catch (const UserError& e) {
      QVERIFY2(QString(e.what()).contains(
                   "refused: the file calls Python object torch.nn.modules.container.Sequential"),
               e.what());
      QVERIFY2(QString(e.what()).contains("state_dict()"), e.what());
    }
  }

  void userClassIsRefused() {
    // A user's own class beside the state dict: torch.load would import and run it.
    const std::string path = data_path("user_class.pt");
    try {
      load_checkpoint(path);
      QFAIL("no error");
    } catch (const UserError& e) {
      QCOMPARE(QString(e.what()), QString::fromStdString(
                                      path + ": refused: the file calls Python object __main__.UserConfig; "
                                             "nothing was executed"));
    }
  }

  void legacyViewsShareStorage() {
    const Checkpoint ck = load_checkpoint(data_path("legacy_mlp.pt"));
    const auto find = [&](const std::string& name) {
      for (const auto& t : ck.tensors)
        if (t.name == name) return t.tensor;
      return at::Tensor();
    };
    const at::Tensor full = at::arange(12, at::kFloat).reshape({3, 4});
    QVERIFY(at::equal(find("shared.full"), full));
    QVERIFY(at::equal(find("shared.row"), full[1]));
    QCOMPARE(find("steps").item<int64_t>(), int64_t(42));
  }

  void keyChoosesTheStateDict() {
    const std::string path = data_path("legacy_checkpoint.pt");
    const Checkpoint model = load_checkpoint(path);
    QCOMPARE(model.nesting, std::string("model"));
    QCOMPARE(model.entries, (std::vector<std::string>{"epoch", "model", "optimizer", "ema", "config"}));
    QCOMPARE(QString::fromStdString(nesting_note(path, model)),
             QString::fromStdString(path + ": took the state dict under 'model' (the file also holds epoch, "
                                           "optimizer, ema, config; --key NAME takes another)"));
    const Checkpoint ema = load_checkpoint(path, "ema");
    QCOMPARE(ema.nesting, std::string("ema"));
    QString why;
    QVERIFY2(matches_expected(ema.tensors, "legacy_checkpoint.pt#ema", why), qPrintable(why));
    const Checkpoint teacher = load_checkpoint(data_path("two_state_dicts.pt"), "teacher");
    QVERIFY2(matches_expected(teacher.tensors, "two_state_dicts.pt#teacher", why), qPrintable(why));
    QCOMPARE(nesting_note("x", load_checkpoint(data_path("mlp_state_dict.pt"))), std::string());
  }

  void keyErrors_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("message");
    QTest::newRow("missing key") << "legacy_checkpoint.pt" << "nope"
                                 << "no entry 'nope' (--key; top-level keys: epoch, model, optimizer, ema, config)";
    QTest::newRow("not a state dict") << "legacy_checkpoint.pt" << "config" << "'config' holds a dict without tensors";
    QTest::newRow("two candidates") << "two_state_dicts.pt" << ""
                                    << "holds several state dicts (student, teacher); choose one with --key NAME";
    QTest::newRow("safetensors") << "mlp.safetensors" << "ema" << "--key applies to torch.save files";
    QTest::newRow("plain state dict") << "mlp_state_dict.pt" << "ema" << "no entry 'ema'";
  }
  void keyErrors() {
    QFETCH(QString, file);
    QFETCH(QString, key);
    QFETCH(QString, message);
    try {
      load_checkpoint(data_path(file.toStdString()), key.toStdString());
      QFAIL("no error");
    } catch (const UserError& e) {
      QVERIFY2(QString(e.what()).contains(message) && !QString(e.what()).contains('\n'), e.what());
    }
  }

  void legacyTruncationsAndByteFlipsAreSafe() {
    const std::string pt = read_bytes(data_path("legacy_checkpoint.pt"));
    for (std::size_t n = 0; n < pt.size(); n += 5)
      QVERIFY_THROWS_EXCEPTION(UserError, parse_legacy_torch(pt.data(), n, "cut"));
    for (std::size_t i = 0; i < pt.size(); ++i) {
      std::string m = pt;
      m[i] = static_cast<char>(m[i] ^ 0x5a);
      try {
        parse_legacy_torch(m.data(), m.size(), "mutant");
      } catch (const UserError& e) {
        QVERIFY2(!QString(e.what()).contains('\n'), qPrintable(QString("flip at %1").arg(i)));
      }
    }
  }

  void detectionIgnoresExtension() {
    QTemporaryDir dir;
    const std::string a = dir.filePath("model.safetensors").toStdString();
    const std::string b = dir.filePath("weights.bin").toStdString();
    write_bytes(a, read_bytes(data_path("mlp_state_dict.pt")));
    write_bytes(b, read_bytes(data_path("mixed.safetensors")));
    QCOMPARE(load_checkpoint(a).format, std::string("pytorch"));
    QCOMPARE(load_checkpoint(b).format, std::string("safetensors"));
  }

  void badFiles_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("message");
    const std::string pt = read_bytes(data_path("mlp_state_dict.pt"));
    std::mt19937 rng(7);
    std::string random(4096, '\0');
    for (auto& c : random) c = static_cast<char>(rng());
    random[8] = 'x';  // not '{', so it cannot pass for safetensors
    const auto row = [](const char* name, const std::string& b, const char* msg) {
      QTest::newRow(name) << QByteArray(b.data(), static_cast<int>(b.size())) << msg;
    };
    row("empty", "", "empty file");
    row("text", "hello, this is not a checkpoint\n", "text file");
    row("random bytes", random, "unrecognised format");
    row("truncated .pt (half)", pt.substr(0, pt.size() / 2), "not a valid zip archive");
    row("truncated .pt (tail)", pt.substr(0, pt.size() - 10), "not a valid zip archive");
    const std::string legacy = read_bytes(data_path("legacy_mlp.pt"));
    row("pickle without magic", std::string("\x80\x02\x8a\x0a", 4) + random.substr(0, 40),
        "a Python pickle without torch.save's magic number");
    row("truncated legacy (half)", legacy.substr(0, legacy.size() / 2), "legacy torch.save file");
    row("truncated legacy (tail)", legacy.substr(0, legacy.size() - 10), "legacy torch.save file");
    row("zip magic only", "PK\x03\x04garbage", "not a valid zip archive");
  }
  void badFiles() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const std::string path = dir.filePath("bad.pt").toStdString();
    write_bytes(path, bytes.toStdString());
    try {
      load_checkpoint(path);
      QFAIL("no error");
    } catch (const UserError& e) {
      const QString what = e.what();
      QVERIFY2(what.startsWith(QString::fromStdString(path) + ": ") && what.contains(message) && !what.contains('\n'),
               e.what());
    }
  }

  void fuzzerFindingsStayFixed() {
    // Inputs the fuzzer once crashed on (scripts/fuzz.sh): each must now fail cleanly.
    const QDir dir(QString::fromStdString(data_path("fuzz-regressions")));
    const QStringList files = dir.entryList(QDir::Files);
    QVERIFY(!files.isEmpty());
    for (const QString& f : files) {
      const std::string path = dir.filePath(f).toStdString();
      try {
        load_checkpoint(path);
      } catch (const UserError& e) {
        QVERIFY2(!QString(e.what()).contains('\n'), e.what());
      }
    }
  }

  void pathsThatAreNotFiles() {
    QTemporaryDir dir;
    QVERIFY_THROWS_EXCEPTION(UserError, load_checkpoint(dir.path().toStdString()));
    QVERIFY_THROWS_EXCEPTION(UserError, load_checkpoint(dir.filePath("missing.pt").toStdString()));
    QVERIFY_THROWS_EXCEPTION(UserError, load_checkpoint(""));
  }

  void everyTruncationAndByteFlipIsSafe() {
    const std::string pt = read_bytes(data_path("lightning.ckpt"));
    for (std::size_t n = 0; n < pt.size(); n += 7)
      QVERIFY_THROWS_EXCEPTION(UserError, parse_torch_archive(pt.data(), n, "cut"));
    // Each byte replaced in turn: the archive may still load (a changed float) or fail with a
    // UserError, never anything else.
    for (std::size_t i = 0; i < pt.size(); ++i) {
      std::string m = pt;
      m[i] = static_cast<char>(m[i] ^ 0x5a);
      QVERIFY2(loads_or_user_error(m), qPrintable(QString("flip at %1").arg(i)));
    }
  }

  void unpicklerRejectsCode() {
    // pickle.dumps of os.system("x") style: refused at the GLOBAL, before any call could happen.
    const std::string evil = std::string("\x80\x02" "cos\nsystem\n" "X\x01\0\0\0x" "\x85R.", 22);
    QCOMPARE(pickle_error(evil), QString("p: refused: the file calls Python object os.system; nothing was executed"));
    // Protocol 4's STACK_GLOBAL is checked the same way; the data types a checkpoint holds pass.
    const std::string stacked = std::string("\x80\x04\x8c\x05posix\x8c\x06system\x93.");
    QVERIFY(pickle_error(stacked).contains("refused: the file calls Python object posix.system"));
    const std::string ns = std::string("\x80\x02" "cargparse\nNamespace\n" ")\x81" "}b.");
    Unpickler u(ns.data(), ns.size(), "p");
    QCOMPARE(int(u.parse().kind), int(PyValue::Kind::Object));
    QVERIFY(pickle_error(std::string("\x80\x02}", 3)).contains("truncated"));
    QVERIFY(pickle_error(std::string("\x80\x02", 2) + "I1\n.").contains("unsupported pickle opcode 0x49"));
    QVERIFY(pickle_error(".").contains("stack underflow"));
    QVERIFY(pickle_error("h\x05.").contains("memo key 5 missing"));
    QVERIFY(pickle_error("X\xff\xff\xff\xff.").contains("truncated"));
    QVERIFY(pickle_error(std::string("X\x02\0\0\0\xff\xfe.", 8)).contains("UTF-8"));
    QVERIFY(pickle_error(std::string("\x80\x09.", 3)).contains("protocol 9"));
  }
};

QTEST_APPLESS_MAIN(TestTorchArchive)
#include "tst_torch_archive.moc"
