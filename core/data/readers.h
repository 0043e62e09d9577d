// Internal to core/data: the file formats behind each DATA spec and a portable random stream.
// Each reader validates what it reads and throws UserError naming the file.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <random>
#include <string>

#include "data/dataset.h"

namespace rebasin::data::detail {

// "<dir>/<base>" if it exists, else "<dir>/<base>.gz" if that exists, else "".
std::string find_maybe_gz(const std::string& dir, const std::string& base);

// An image/label pair of IDX files (raw or gzipped): inputs N x 1 x H x W in [0, 1], targets
// int64 N in [0, 10).
Dataset read_idx_pair(const std::string& images_path, const std::string& labels_path,
                      const std::string& name);

// sklearn's digits.csv(.gz): rows of 64 values 0..16 then the label.
Splits read_digits_csv(const std::string& path);

// The CIFAR-10 binary batches in `dir` (or dir/cifar-10-batches-bin).
Splits read_cifar10(const std::string& dir);

// text:NAME[:T] (text.cpp): token windows of a character-level corpus; data_dir as DataOptions.
Splits read_text(const std::string& spec, const std::string& data_dir);

// y = x^k + noise; see dataset.h.
Splits make_poly(int k, uint64_t seed);

// std::mt19937_64's sequence is fixed by the standard; its distributions are not, so the
// uniform and normal draws are written out here to give the same data on every toolchain.
class PortableRandom {
 public:
  explicit PortableRandom(uint64_t seed) : gen_(seed) {}
  double uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal();                                                            // Box-Muller
  uint64_t below(uint64_t bound);  // uniform in [0, bound), unbiased; bound > 0

 private:
  std::mt19937_64 gen_;
};

}  // namespace rebasin::data::detail
