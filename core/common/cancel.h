// Cooperative cancellation: jobs check the token once per optimisation step (or batch) and stop
// by throwing Cancelled, so a cancelled job ends within one step and writes nothing.
#pragma once

#include <atomic>
#include <stdexcept>

namespace rebasin {

class CancelToken {
 public:
  void cancel() { flag_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return flag_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> flag_{false};
};

class Cancelled : public std::runtime_error {
 public:
  Cancelled() : std::runtime_error("cancelled") {}
};

inline void check_cancel(const CancelToken* token) {
  if (token && token->cancelled()) throw Cancelled();
}

}  // namespace rebasin
