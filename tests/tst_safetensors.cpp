// safetensors: hand-written fixtures read exactly, write/read round trips for every dtype,
// atomic writes leave nothing behind on failure, and every malformed header is one UserError.
#include <QtTest/QtTest>

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "io_test_util.h"

using rebasin::NamedTensors;
using rebasin::UserError;
using namespace rebasin::io;
using namespace rebasin::test;

namespace {

// A safetensors file from a header string and a data section, as a hostile writer would make it.
std::string st_bytes(const std::string& header, const std::string& data, std::uint64_t len_override = 0) {
  std::uint64_t n = len_override ? len_override : header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out + header + data;
}

int files_in(const QString& dir) { return QDir(dir).entryList(QDir::Files | QDir::Hidden).size(); }

}  // namespace

class TestSafetensors : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void fixtures_data() {
    QTest::addColumn<QString>("file");
    QTest::newRow("mixed") << "mixed.safetensors";
    QTest::newRow("mlp") << "mlp.safetensors";
  }
  void fixtures() {
    QFETCH(QString, file);
    const SafetensorsContents c = read_safetensors(data_path(file.toStdString()));
    QString why;
    QVERIFY2(matches_expected(c.tensors, file.toStdString(), why), qPrintable(why));
    const Checkpoint ck = load_checkpoint(data_path(file.toStdString()));
    QCOMPARE(ck.format, std::string("safetensors"));
    QCOMPARE(ck.nesting, std::string());
    QVERIFY(matches_expected(ck.tensors, file.toStdString(), why));
  }

  void metadataRead() {
    const auto c = read_safetensors(data_path("mixed.safetensors"));
    QCOMPARE(c.metadata.at("format"), std::string("pt"));
    QCOMPARE(c.metadata.size(), std::size_t(2));
  }

  void roundTripAllDtypes() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("out.safetensors").toStdString();
    NamedTensors in;
    const at::Tensor base = at::randn({4, 6}, at::kDouble);
    for (auto type : {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16, at::kLong, at::kInt, at::kShort,
                      at::kChar, at::kByte, at::kBool})
      in.push_back({std::string("t.") + c10::toString(type), (base * 10).to(type)});
    in.push_back({"transposed", base.t()});           // non-contiguous input
    in.push_back({"scalar", at::scalar_tensor(3.5)});
    in.push_back({"empty", at::zeros({0, 3})});
    write_safetensors(path, in, {{"aligned", "yes"}});
    QCOMPARE(files_in(dir.path()), 1);  // no temp file left
    const auto out = read_safetensors(path);
    QCOMPARE(out.metadata.at("aligned"), std::string("yes"));
    QCOMPARE(out.tensors.size(), in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
      QCOMPARE(out.tensors[i].name, in[i].name);
      QVERIFY2(at::equal(out.tensors[i].tensor, in[i].tensor), in[i].name.c_str());
    }
    // Header padded to 8 bytes, so tensor data is aligned.
    const std::string bytes = read_bytes(path);
    QCOMPARE(static_cast<unsigned char>(bytes[0]) % 8, 0);
  }

  void writerErrors() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("w.safetensors").toStdString();
    QVERIFY_THROWS_EXCEPTION(UserError, write_safetensors(path, {{"a", at::ones({2})}, {"a", at::ones({2})}}));
    QVERIFY_THROWS_EXCEPTION(UserError, write_safetensors(path, {{"", at::ones({2})}}));
    QVERIFY_THROWS_EXCEPTION(UserError, write_safetensors(path, {{"__metadata__", at::ones({2})}}));
    QVERIFY_THROWS_EXCEPTION(UserError, write_safetensors(path, {{"c", at::ones({2}, at::kComplexFloat)}}));
    QVERIFY_THROWS_EXCEPTION(UserError, write_safetensors(dir.filePath("missing/x.st").toStdString(), {{"a", at::ones({1})}}));
    QVERIFY_THROWS_EXCEPTION(UserError, write_safetensors(dir.path().toStdString(), {{"a", at::ones({1})}}));
    QCOMPARE(files_in(dir.path()), 0);
  }

  void atomicWriteLeavesOldFileOnFailure() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("f.json").toStdString();
    write_file_atomically(path, std::string("old"));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, write_file_atomically(path, [](std::ostream& os) {
      os << std::string(200000, 'x');  // already partly flushed to the temp file
      throw std::runtime_error("cancelled");
    }));
    QCOMPARE(read_bytes(path), std::string("old"));
    QCOMPARE(files_in(dir.path()), 1);
    {
      AtomicFile f(path);
      f.write("new", 3);
      QVERIFY(QFile::exists(QString::fromStdString(f.temp_path())));
    }  // destroyed without commit
    QCOMPARE(read_bytes(path), std::string("old"));
    QCOMPARE(files_in(dir.path()), 1);
    write_file_atomically(path, [](std::ostream& os) { os << "new"; });
    QCOMPARE(read_bytes(path), std::string("new"));
  }

  void badFiles_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("message");  // a fragment the error must contain
    const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    const std::string ok_data(8, '\0');
    const auto row = [](const char* name, const std::string& b, const char* msg) {
      QTest::newRow(name) << QByteArray(b.data(), static_cast<int>(b.size())) << msg;
    };
    row("valid control", st_bytes(ok_header, ok_data), "");
    row("truncated data", st_bytes(ok_header, ok_data).substr(0, 8 + ok_header.size() + 4), "bytes");
    row("truncated header", st_bytes(ok_header, ok_data).substr(0, 20), "exceeds the file size");
    row("header length 2^60", st_bytes(ok_header, ok_data, std::uint64_t(1) << 60), "exceeds the file size");
    row("not json", st_bytes("{nope", ok_data), "not valid JSON");
    row("json array", st_bytes("[1,2]", ok_data), "not a JSON object");
    row("offsets past end", st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", ok_data), "past the end");
    row("shape mismatch", st_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", ok_data), "need 12 bytes");
    row("dtype mismatch", st_bytes(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", ok_data), "need 16 bytes");
    row("overlap", st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", ok_data), "overlap");
    row("gap", st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", ok_data), "unused bytes");
    row("trailing", st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", ok_data), "after the last tensor");
    row("reversed", st_bytes(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", ok_data), "reversed");
    row("bad dtype", st_bytes(R"({"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}})", ok_data), "unsupported dtype");
    row("negative dim", st_bytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", ok_data), "non-negative");
    row("huge shape", st_bytes(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}})", ok_data), "larger than the file");
    row("no offsets", st_bytes(R"({"a":{"dtype":"F32","shape":[2]}})", ok_data), "data_offsets");
    row("metadata not strings", st_bytes(R"({"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", ok_data), "__metadata__");
    row("entry not object", st_bytes(R"({"a":3})", ok_data), "not an object");
    row("short", std::string("\x05\0\0", 3), "shorter");
  }
  void badFiles() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, message);
    if (message.isEmpty()) {  // the control row proves the others fail for their stated reason
      QCOMPARE(parse_safetensors(bytes.constData(), bytes.size(), "mem").tensors.size(), std::size_t(1));
      return;
    }
    try {
      parse_safetensors(bytes.constData(), static_cast<std::size_t>(bytes.size()), "mem.safetensors");
      QFAIL("no error");
    } catch (const UserError& e) {
      const QString what = e.what();
      QVERIFY2(what.startsWith("mem.safetensors: ") && what.contains(message) && !what.contains('\n'), e.what());
    }
    // The same bytes through the file path and format detection.
    QTemporaryDir dir;
    const std::string path = dir.filePath("bad.safetensors").toStdString();
    write_bytes(path, bytes.toStdString());
    QVERIFY_THROWS_EXCEPTION(UserError, load_checkpoint(path));
  }

  void everyTruncationFails() {
    const std::string good = read_bytes(data_path("mixed.safetensors"));
    for (std::size_t n = 0; n < good.size(); ++n)
      QVERIFY_THROWS_EXCEPTION(UserError, parse_safetensors(good.data(), n, "cut"));
  }
};

QTEST_APPLESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"
