// The loss barrier of an interpolation curve: the largest excess of loss(lambda) over the
// straight line between the end points, max over lambda of
// loss(lambda) - ((1 - lambda) loss(0) + lambda loss(1)).
#pragma once

#include <map>
#include <optional>

namespace rebasin::widgets {

struct Barrier {
  double value = 0;   // the barrier itself (>= 0: the end points count)
  double lambda = 0;  // where it is reached
  double loss = 0;    // loss(lambda) there
  double chord = 0;   // the straight line's value there
};

// `loss` maps lambda to loss. Empty unless both end points (lambda 0 and 1) are present.
std::optional<Barrier> computeBarrier(const std::map<double, double>& loss);

}  // namespace rebasin::widgets
