// Small double-precision vector helpers of the conjugate-gradient solves (CPU and GPU implicit
// backward): the Schur complement's null space is span(1), so iterates are kept orthogonal to it.
#pragma once

#include <vector>

namespace rebasin::ot {

inline void project_out_ones(std::vector<double>& x) {
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  for (double& v : x) v -= mean;
}

inline double dot(const std::vector<double>& x, const std::vector<double>& y) {
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

}  // namespace rebasin::ot
