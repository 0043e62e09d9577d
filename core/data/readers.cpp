// File formats behind the DATA specs: IDX (MNIST, Fashion-MNIST), sklearn's digits CSV, the
// CIFAR-10 binary batches, and the generated polynomial sets. zlib's gz* calls read plain and
// gzipped files alike, so every reader accepts both.
#include "data/readers.h"

#include <ATen/ATen.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <vector>

#include "common/error.h"

namespace fs = std::filesystem;

namespace rebasin::data::detail {

namespace {

// The whole (decompressed) file. A truncated gzip stream is reported, not silently cut short.
std::vector<uint8_t> read_all(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  require(f != nullptr, "cannot open " + path);
  gzbuffer(f, 1 << 20);
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 22);
  while (true) {
    const int got = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (got < 0) {
      int code = 0;
      const std::string msg = gzerror(f, &code);
      gzclose(f);
      throw UserError("cannot read " + msg);  // zlib's message starts with the path
    }
    if (got == 0) break;
    out.insert(out.end(), chunk.begin(), chunk.begin() + got);
  }
  int code = 0;
  const std::string msg = gzerror(f, &code);
  gzclose(f);
  require(code == Z_OK || code == Z_STREAM_END, "cannot read " + msg);
  return out;
}

// IDX: two zero bytes, type (0x08 = unsigned byte), rank, big-endian uint32 sizes, data.
at::Tensor read_idx(const std::string& path) {
  std::vector<uint8_t> bytes = read_all(path);
  require(bytes.size() >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0x08 &&
              bytes[3] >= 1 && bytes[3] <= 4,
          path + ": not an unsigned-byte IDX file");
  const size_t rank = bytes[3], header = 4 + 4 * rank;
  require(bytes.size() >= header, path + ": truncated IDX header");
  std::vector<int64_t> sizes;
  size_t count = 1;
  for (size_t i = 0; i < rank; ++i) {
    const uint8_t* p = bytes.data() + 4 + 4 * i;
    const uint32_t d =
        (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
    sizes.push_back(d);
    count *= d;
  }
  require(bytes.size() - header == count,
          path + ": IDX header promises " + std::to_string(count) + " bytes, file has " +
              std::to_string(bytes.size() - header) + " (truncated or corrupt)");
  at::Tensor t = at::empty(sizes, at::kByte);
  std::copy(bytes.begin() + header, bytes.end(), t.data_ptr<uint8_t>());
  return t;
}

void check_labels(const at::Tensor& labels, int64_t classes, const std::string& where) {
  require(labels.numel() == 0 || labels.max().item<int64_t>() < classes,
          where + ": label out of range 0.." + std::to_string(classes - 1));
}

// One CIFAR-10 batch: records of 1 label byte + 3072 pixel bytes (R, G, B planes, row-major).
Dataset read_cifar_batch(const std::string& path) {
  constexpr int64_t kRecord = 1 + 3 * 32 * 32;
  require(fs::is_regular_file(path), "cifar10: " + path + " not found");
  std::vector<uint8_t> bytes = read_all(path);
  const int64_t size = static_cast<int64_t>(bytes.size());
  require(size > 0 && size % kRecord == 0,
          "cifar10: " + path + " has " + std::to_string(size) + " bytes, not a whole number of " +
              std::to_string(kRecord) + "-byte records (truncated or not the binary version)");
  const at::Tensor raw = at::from_blob(bytes.data(), {size / kRecord, kRecord}, at::kByte);
  Dataset d;
  d.targets = raw.select(1, 0).to(at::kLong);
  d.inputs = raw.narrow(1, 1, kRecord - 1).reshape({-1, 3, 32, 32}).to(at::kFloat).div_(255.0);
  check_labels(d.targets, 10, "cifar10: " + path);
  return d;
}

}  // namespace

std::string find_maybe_gz(const std::string& dir, const std::string& base) {
  std::error_code ec;
  for (const std::string& name : {base, base + ".gz"}) {
    const fs::path p = fs::path(dir) / name;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return {};
}

Dataset read_idx_pair(const std::string& images_path, const std::string& labels_path,
                      const std::string& name) {
  const at::Tensor images = read_idx(images_path), labels = read_idx(labels_path);
  require(images.dim() == 3, images_path + ": expected N x H x W images");
  require(labels.dim() == 1, labels_path + ": expected N labels");
  require(images.size(0) == labels.size(0), name + ": " + std::to_string(images.size(0)) +
                                                " images but " + std::to_string(labels.size(0)) +
                                                " labels");
  Dataset d;
  d.inputs = images.unsqueeze(1).to(at::kFloat).div_(255.0);
  d.targets = labels.to(at::kLong);
  check_labels(d.targets, 10, labels_path);
  d.num_classes = 10;
  d.name = name;
  return d;
}

Splits read_digits_csv(const std::string& path) {
  constexpr int64_t kRows = 1797, kTrain = 1500, kCols = 65;
  const std::vector<uint8_t> text = read_all(path);
  std::vector<uint8_t> values;
  values.reserve(kRows * kCols);
  int64_t row = 0, col = 0, value = -1;
  auto end_value = [&](bool end_of_row) {
    require(value >= 0 && value <= 16 && col < kCols,
            path + ": row " + std::to_string(row + 1) + " is not 64 values 0..16 and a label");
    values.push_back(static_cast<uint8_t>(value));
    value = -1;
    ++col;
    if (end_of_row) {
      require(col == kCols, path + ": row " + std::to_string(row + 1) + " has " +
                                std::to_string(col) + " columns, expected 65");
      col = 0;
      ++row;
    }
  };
  for (const uint8_t ch : text) {
    if (ch >= '0' && ch <= '9') {
      value = (value < 0 ? 0 : value * 10) + (ch - '0');
      require(value <= 1000, path + ": value out of range in row " + std::to_string(row + 1));
    } else if (ch == ',') {
      end_value(false);
    } else if (ch == '\n') {
      if (value >= 0 || col > 0) end_value(true);
    } else if (ch != '\r' && ch != ' ') {
      throw UserError(path + ": unexpected character in row " + std::to_string(row + 1));
    }
  }
  if (value >= 0 || col > 0) end_value(true);
  require(row == kRows,
          path + ": expected " + std::to_string(kRows) + " rows, found " + std::to_string(row));
  const at::Tensor all = at::from_blob(values.data(), {kRows, kCols}, at::kByte).clone();
  const at::Tensor inputs =
      all.narrow(1, 0, 64).reshape({kRows, 1, 8, 8}).to(at::kFloat).div_(16.0);
  const at::Tensor targets = all.select(1, 64).to(at::kLong);
  check_labels(targets, 10, path);
  Splits s;
  s.train = Dataset{inputs.narrow(0, 0, kTrain).clone(), targets.narrow(0, 0, kTrain).clone(), 10,
                    "digits"};
  s.test = Dataset{inputs.narrow(0, kTrain, kRows - kTrain).clone(),
                   targets.narrow(0, kTrain, kRows - kTrain).clone(), 10, "digits"};
  return s;
}

Splits read_cifar10(const std::string& dir) {
  std::string root = dir;
  if (!fs::exists(fs::path(root) / "test_batch.bin") &&
      fs::exists(fs::path(root) / "cifar-10-batches-bin" / "test_batch.bin"))
    root = (fs::path(root) / "cifar-10-batches-bin").string();
  require(fs::is_directory(root),
          "cifar10: folder " + dir + " not found (expected the CIFAR-10 binary version there)");
  std::vector<at::Tensor> xs, ys;
  for (int b = 1; b <= 5; ++b) {
    Dataset part =
        read_cifar_batch((fs::path(root) / ("data_batch_" + std::to_string(b) + ".bin")).string());
    xs.push_back(part.inputs);
    ys.push_back(part.targets);
  }
  Splits s;
  s.train = Dataset{at::cat(xs), at::cat(ys), 10, "cifar10"};
  s.test = read_cifar_batch((fs::path(root) / "test_batch.bin").string());
  s.test.num_classes = 10;
  s.test.name = "cifar10";
  return s;
}

Splits make_poly(int k, uint64_t seed) {
  constexpr int64_t kTrain = 1000, kTest = 200;
  constexpr double kNoise = 0.01;
  PortableRandom rng(seed);
  auto make = [&](int64_t n) {
    at::Tensor x = at::empty({n, 1}, at::kFloat), y = at::empty({n, 1}, at::kFloat);
    float* px = x.data_ptr<float>();
    float* py = y.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
      const double xi = 2.0 * rng.uniform() - 1.0;
      px[i] = static_cast<float>(xi);
      py[i] = static_cast<float>(std::pow(xi, k) + kNoise * rng.normal());
    }
    return Dataset{x, y, 0, "poly" + std::to_string(k)};
  };
  Splits s;
  s.train = make(kTrain);
  s.test = make(kTest);
  return s;
}

double PortableRandom::normal() {
  const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

uint64_t PortableRandom::below(uint64_t bound) {
  // Reject the top partial block so every residue is equally likely.
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
  uint64_t r;
  do r = gen_();
  while (r >= limit);
  return r % bound;
}

}  // namespace rebasin::data::detail
