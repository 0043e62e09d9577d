// Barrier of a loss curve against the chord between its end points.
#include "widgets/curve_barrier.h"

#include <cmath>

namespace rebasin::widgets {

std::optional<Barrier> computeBarrier(const std::map<double, double>& loss) {
  // Lambdas arrive as doubles from a linspace; allow rounding at the ends.
  constexpr double kTol = 1e-9;
  if (loss.empty()) return std::nullopt;
  const auto first = loss.begin();
  const auto last = std::prev(loss.end());
  if (std::abs(first->first) > kTol || std::abs(last->first - 1.0) > kTol) return std::nullopt;
  const double l0 = first->second, l1 = last->second;
  if (!std::isfinite(l0) || !std::isfinite(l1)) return std::nullopt;
  std::optional<Barrier> best;
  for (const auto& [lambda, value] : loss) {
    if (!std::isfinite(value)) continue;
    const double chord = (1.0 - lambda) * l0 + lambda * l1;
    const double excess = value - chord;
    if (!best || excess > best->value) best = Barrier{excess, lambda, value, chord};
  }
  return best;
}

}  // namespace rebasin::widgets
