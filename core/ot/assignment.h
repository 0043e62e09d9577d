// Exact linear assignment (Jonker-Volgenant: column reduction, reduction transfer, augmenting
// row reduction, then shortest augmenting paths). It runs in every alignment step, so it is
// tuned for near-permutation costs (the re-basin case: the reductions settle almost every row)
// as well as random ones. Costs are accumulated in double.
#pragma once

#include <cstdint>
#include <vector>

namespace rebasin::ot {

struct Assignment {
  // col_of_row[i] = column assigned to row i; -1 for rows left out when rows > cols.
  std::vector<std::int64_t> col_of_row;
  double total = 0.0;  // sum of the chosen entries (in the caller's sense, not negated)
};

// cost: rows x cols, row-major. Every row (rows <= cols) or every column (rows > cols) is
// assigned. Throws UserError on an empty matrix or NaN/Inf entries.
Assignment solve_assignment(const double* cost, std::int64_t rows, std::int64_t cols,
                            bool maximize = false);

}  // namespace rebasin::ot
