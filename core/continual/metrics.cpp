#include "continual/metrics.h"

#include <algorithm>
#include <string>

#include "common/error.h"

namespace rebasin::continual {

void check_square(const AccuracyMatrix& r) {
  require(!r.empty(), "accuracy matrix: no rows");
  for (const auto& row : r)
    require(row.size() == r.size(), "accuracy matrix: expected " + std::to_string(r.size()) + " entries a row, got " +
                                        std::to_string(row.size()));
}

double average_accuracy(const AccuracyMatrix& r) {
  check_square(r);
  double sum = 0;
  for (double a : r.back()) sum += a;
  return sum / static_cast<double>(r.size());
}

double forgetting(const AccuracyMatrix& r) {
  check_square(r);
  const std::size_t t = r.size();
  if (t < 2) return 0.0;
  double sum = 0;
  for (std::size_t j = 0; j + 1 < t; ++j) {
    double best = r[j][j];
    for (std::size_t i = j; i + 1 < t; ++i) best = std::max(best, r[i][j]);
    sum += best - r[t - 1][j];
  }
  return sum / static_cast<double>(t - 1);
}

double backward_transfer(const AccuracyMatrix& r) {
  check_square(r);
  const std::size_t t = r.size();
  if (t < 2) return 0.0;
  double sum = 0;
  for (std::size_t j = 0; j + 1 < t; ++j) sum += r[t - 1][j] - r[j][j];
  return sum / static_cast<double>(t - 1);
}

}  // namespace rebasin::continual
