// Shared by the core/io tests: fixture paths, small file helpers, and the comparison of loaded
// tensors with tests/data/expected.json (written by make_fixtures.py from PyTorch itself).
#pragma once

#include <QtTest/QtTest>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "common/named_tensor.h"

namespace rebasin::test {

inline std::string data_path(const std::string& name) { return std::string(REBASIN_TEST_DATA) + "/" + name; }

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline nlohmann::ordered_json expected_ordered(const std::string& file) {
  return nlohmann::ordered_json::parse(read_bytes(data_path("expected.json")))[file];
}

inline std::string torch_dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return "?";
  }
}

// Names in order, shapes, dtypes exactly; first values exactly; sums to 1e-12 (summation order
// differs between Python and ATen).
inline bool matches_expected(const NamedTensors& got, const std::string& file, QString& why) {
  const nlohmann::ordered_json want = expected_ordered(file);
  if (got.size() != want.size()) {
    why = QString("%1: %2 tensors, expected %3").arg(file.c_str()).arg(got.size()).arg(want.size());
    return false;
  }
  std::size_t i = 0;
  for (const auto& [name, w] : want.items()) {
    const auto& g = got[i++];
    const QString where = QString("%1: %2").arg(file.c_str(), name.c_str());
    if (g.name != name) return why = where + " got name " + g.name.c_str(), false;
    if (g.tensor.sizes().vec() != w["shape"].get<std::vector<int64_t>>()) return why = where + " shape", false;
    if (torch_dtype_name(g.tensor.scalar_type()) != w["dtype"].get<std::string>()) return why = where + " dtype", false;
    const at::Tensor d = g.tensor.to(at::kDouble).reshape(-1);
    const double sum = d.sum().item<double>(), want_sum = w["sum"].get<double>();
    if (std::abs(sum - want_sum) > 1e-12 * std::max(1.0, std::abs(want_sum)))
      return why = where + QString(" sum %1 != %2").arg(sum, 0, 'g', 17).arg(want_sum, 0, 'g', 17), false;
    const auto first = w["first"].get<std::vector<double>>();
    for (std::size_t k = 0; k < first.size(); ++k)
      if (d[static_cast<int64_t>(k)].item<double>() != first[k]) return why = where + " values", false;
  }
  return true;
}

}  // namespace rebasin::test
