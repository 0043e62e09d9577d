// Permutations as index vectors (perm[i] = j: row i goes to column j, i.e. the matrix
// P with P[i, perm[i]] = 1) and the helpers every alignment method needs.
#pragma once

#include <ATen/core/Tensor.h>

namespace rebasin::ot {

// Exact assignment on a 2-D float tensor (any dtype convertible to double). Returns int64
// indices, one column per row (-1 for unassigned rows when rows > cols).
at::Tensor linear_assignment(const at::Tensor& cost, bool maximize = false);

// Hard permutation from a soft plan / score matrix: the assignment maximising sum X_ij.
at::Tensor hard_permutation(const at::Tensor& scores);

// Permutation matrix (n x n, dtype) with P[i, perm[i]] = 1.
at::Tensor permutation_matrix(const at::Tensor& perm, at::ScalarType dtype = at::kFloat);

// Index vector of a permutation matrix (throws UserError if it is not one).
at::Tensor permutation_indices(const at::Tensor& matrix);

// inverse(perm)[perm[i]] = i.
at::Tensor inverse_permutation(const at::Tensor& perm);

// compose(p, q)[i] = p[q[i]]: first q, then p (matrix product P_q P_p in our convention).
at::Tensor compose(const at::Tensor& p, const at::Tensor& q);

// Reorders x along axis so that out.select(axis, i) = x.select(axis, perm[i]).
at::Tensor apply_permutation(const at::Tensor& x, const at::Tensor& perm, int64_t axis);

// Throws UserError unless perm is a 1-D int64 permutation of 0..n-1 (n = expected if >= 0).
void check_permutation(const at::Tensor& perm, int64_t expected = -1);

// Random permutation of 0..n-1 from a seeded generator (deterministic for the seed).
at::Tensor random_permutation(int64_t n, uint64_t seed);

}  // namespace rebasin::ot
