// Strict parsing of numbers from option, ARCH and metadata strings: the whole text must be the
// number (std::stoll / std::stod alone accept "12abc" and throw on "abc").
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

namespace rebasin {

// The integer in `text` when it lies in [lo, hi]; nullopt otherwise.
inline std::optional<std::int64_t> parse_int(const std::string& text, std::int64_t lo, std::int64_t hi) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used != text.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

// The finite number in `text` (e.g. a test accuracy `rebasin train` recorded in a checkpoint's
// metadata, which is text); nullopt otherwise.
inline std::optional<double> parse_number(const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used != text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace rebasin
