// Strict parsing of integers from option and ARCH strings: the whole text must be the number
// (std::stoll alone accepts "12abc" and throws on "abc").
#pragma once

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

}  // namespace rebasin
