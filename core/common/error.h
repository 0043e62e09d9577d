// Error types shared by every core area. A UserError is the user's fault (bad file, bad option,
// NaN in an input): front ends print its message on one line and exit 1. Anything else that
// escapes is a bug.
#pragma once

#include <stdexcept>
#include <string>

namespace rebasin {

class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws UserError(message) when cond is false; keeps argument checks one line each.
inline void require(bool cond, const std::string& message) {
  if (!cond) throw UserError(message);
}

}  // namespace rebasin
