// Jonker & Volgenant, "A shortest augmenting path algorithm for dense and sparse linear
// assignment problems", Computing 38 (1987), dense square version. Rectangular inputs are padded
// with zero rows/columns (a constant row or column does not change which assignment is optimal).
#include "ot/assignment.h"

#include <cmath>
#include <limits>
#include <utility>

#include "common/error.h"

namespace rebasin::ot {
namespace {

using Index = std::int64_t;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::int64_t kReductionBudget = 8;  // row scans per augmenting-row-reduction round / n

class JonkerVolgenant {
 public:
  // c: n x n minimisation costs, borrowed (no copy: it can be hundreds of MB).
  JonkerVolgenant(const double* c, Index n) : c_(c), n_(n), x_(n, -1), y_(n, -1), v_(n, 0.0) {}

  const std::vector<Index>& solve() {
    std::vector<Index> free_rows = column_reduction();
    for (int round = 0; round < 2 && !free_rows.empty(); ++round)
      free_rows.resize(augmenting_row_reduction(free_rows));
    for (Index i : free_rows) augment(i);
    return x_;
  }

 private:
  double cost(Index i, Index j) const { return c_[i * n_ + j]; }

  // Each column goes to its cheapest row; rows that won exactly one column transfer their slack
  // to it. Returns the rows that won nothing.
  std::vector<Index> column_reduction() {
    std::vector<Index> argmin(n_, 0);
    std::fill(v_.begin(), v_.end(), kInf);
    for (Index i = 0; i < n_; ++i) {
      const double* row = &c_[i * n_];
      for (Index j = 0; j < n_; ++j)
        if (row[j] < v_[j]) {
          v_[j] = row[j];
          argmin[j] = i;
        }
    }
    std::vector<int> wins(n_, 0);
    for (Index j = n_ - 1; j >= 0; --j) {
      const Index i = argmin[j];
      if (wins[i]++ == 0) {
        x_[i] = j;
        y_[j] = i;
      }
    }
    std::vector<Index> free_rows;
    for (Index i = 0; i < n_; ++i) {
      if (wins[i] == 0) {
        free_rows.push_back(i);
      } else if (wins[i] == 1) {
        const Index j1 = x_[i];
        double mn = kInf;
        const double* row = &c_[i * n_];
        for (Index j = 0; j < n_; ++j)
          if (j != j1) mn = std::min(mn, row[j] - v_[j]);
        if (mn < kInf) v_[j1] -= mn;
      }
    }
    return free_rows;
  }

  // Free rows take their cheapest column (by reduced cost), evicting its owner; lowering the
  // column's price by the gap to the second cheapest keeps the evicted row from bouncing back.
  std::size_t augmenting_row_reduction(std::vector<Index>& free_rows) {
    const std::size_t count = free_rows.size();
    std::size_t current = 0, next_free = 0;
    std::int64_t rr = 0;
    while (current < count) {
      ++rr;
      const Index i = free_rows[current++];
      const double* row = &c_[i * n_];
      Index j1 = 0, j2 = -1;
      double u1 = row[0] - v_[0], u2 = kInf;
      for (Index j = 1; j < n_; ++j) {
        const double h = row[j] - v_[j];
        if (h < u2) {
          if (h >= u1) {
            u2 = h;
            j2 = j;
          } else {
            u2 = u1;
            u1 = h;
            j2 = j1;
            j1 = j;
          }
        }
      }
      Index i0 = y_[j1];
      const double v1_new = v_[j1] - (u2 - u1);
      const bool lowers = v1_new < v_[j1];
      // The original bounds rr by current * n only, to stop cycling. On real-valued random
      // costs the evictions then cost O(n) scans each for a long tail; past 8n scans the
      // shortest-path phase finishes the remaining rows faster (measured: 3x at n = 2048).
      if (rr < static_cast<std::int64_t>(current) * n_ && rr < kReductionBudget * n_) {
        if (lowers) {
          v_[j1] = v1_new;
        } else if (i0 >= 0 && j2 >= 0) {
          j1 = j2;
          i0 = y_[j2];
        }
        if (i0 >= 0) {
          if (lowers)
            free_rows[--current] = i0;
          else
            free_rows[next_free++] = i0;
        }
      } else if (i0 >= 0) {
        free_rows[next_free++] = i0;
      }
      x_[i] = j1;
      y_[j1] = i;
      if (i0 >= 0 && i0 != i) x_[i0] = -1;
    }
    return next_free;
  }

  // Dijkstra on reduced costs from free row `start` to the nearest free column, then flips the
  // path and updates the column prices of the settled columns.
  void augment(Index start) {
    std::vector<Index> cols(n_), pred(n_, start);
    std::vector<double> d(n_);
    for (Index j = 0; j < n_; ++j) {
      cols[j] = j;
      d[j] = cost(start, j) - v_[j];
    }
    Index lo = 0, hi = 0, ready = 0, final_j = -1;
    double mind = 0;
    while (final_j < 0) {
      if (lo == hi) {
        // Move every unsettled column at the minimum distance into cols[lo, hi).
        ready = lo;
        hi = lo + 1;
        mind = d[cols[lo]];
        for (Index k = lo + 1; k < n_; ++k) {
          const Index j = cols[k];
          if (d[j] <= mind) {
            if (d[j] < mind) {
              hi = lo;
              mind = d[j];
            }
            std::swap(cols[k], cols[hi++]);
          }
        }
        for (Index k = lo; k < hi; ++k)
          if (y_[cols[k]] < 0) {
            final_j = cols[k];
            break;
          }
      }
      if (final_j < 0) final_j = scan(lo, hi, d, cols, pred, mind);
    }
    for (Index k = 0; k < ready; ++k) {
      const Index j = cols[k];
      v_[j] += d[j] - mind;
    }
    Index i = -1, j = final_j;
    while (i != start) {
      i = pred[j];
      y_[j] = i;
      std::swap(j, x_[i]);
    }
  }

  Index scan(Index& lo, Index& hi, std::vector<double>& d, std::vector<Index>& cols,
             std::vector<Index>& pred, double mind) {
    while (lo != hi) {
      Index j = cols[lo++];
      const Index i = y_[j];
      const double* row = &c_[i * n_];
      const double h = row[j] - v_[j] - mind;
      for (Index k = hi; k < n_; ++k) {
        j = cols[k];
        const double red = row[j] - v_[j] - h;
        if (red < d[j]) {
          d[j] = red;
          pred[j] = i;
          if (red == mind) {
            if (y_[j] < 0) return j;
            cols[k] = cols[hi];
            cols[hi++] = j;
          }
        }
      }
    }
    return -1;
  }

  const double* c_;
  Index n_;
  std::vector<Index> x_, y_;
  std::vector<double> v_;
};

}  // namespace

Assignment solve_assignment(const double* cost, std::int64_t rows, std::int64_t cols,
                            bool maximize) {
  require(rows > 0 && cols > 0, "assignment: the cost matrix is empty");
  const Index n = std::max(rows, cols);
  const std::size_t total = static_cast<std::size_t>(rows) * cols;
  bool finite = true;
  for (std::size_t k = 0; k < total; ++k) finite &= std::isfinite(cost[k]);
  require(finite, "assignment: the cost matrix contains NaN or Inf");
  // Square minimisation runs on the caller's matrix; otherwise a negated and/or zero-padded copy.
  std::vector<double> copy;
  const double* c = cost;
  if (maximize || rows != cols) {
    copy.assign(static_cast<std::size_t>(n) * n, 0.0);
    const double sign = maximize ? -1.0 : 1.0;
    for (Index i = 0; i < rows; ++i)
      for (Index j = 0; j < cols; ++j) copy[i * n + j] = sign * cost[i * cols + j];
    c = copy.data();
  }
  const std::vector<Index> x = JonkerVolgenant(c, n).solve();
  Assignment out;
  out.col_of_row.resize(rows);
  for (Index i = 0; i < rows; ++i) {
    out.col_of_row[i] = x[i] < cols ? x[i] : -1;
    if (out.col_of_row[i] >= 0) out.total += cost[i * cols + x[i]];
  }
  return out;
}

}  // namespace rebasin::ot
