#include "ot/permutation.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "ot/assignment.h"

namespace rebasin::ot {

at::Tensor linear_assignment(const at::Tensor& cost, bool maximize) {
  require(cost.defined() && cost.dim() == 2, "assignment: expected a 2-D cost matrix");
  require(cost.numel() > 0, "assignment: the cost matrix is empty");
  require(at::isFloatingType(cost.scalar_type()) || at::isIntegralType(cost.scalar_type(), false),
          "assignment: expected a real-valued cost matrix");
  const at::Tensor c = cost.detach().to(at::kCPU, at::kDouble).contiguous();
  const Assignment a = solve_assignment(c.data_ptr<double>(), c.size(0), c.size(1), maximize);
  return at::tensor(a.col_of_row, at::kLong);
}

at::Tensor hard_permutation(const at::Tensor& scores) { return linear_assignment(scores, true); }

void check_permutation(const at::Tensor& perm, int64_t expected) {
  require(perm.defined() && perm.dim() == 1 && perm.scalar_type() == at::kLong,
          "permutation: expected a 1-D int64 index vector");
  const int64_t n = perm.size(0);
  require(expected < 0 || n == expected, "permutation: expected " + std::to_string(expected) +
                                             " entries, got " + std::to_string(n));
  const at::Tensor p = perm.to(at::kCPU).contiguous();
  std::vector<char> seen(n, 0);
  const int64_t* d = p.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    require(d[i] >= 0 && d[i] < n && !seen[d[i]],
            "permutation: entry " + std::to_string(i) + " (" + std::to_string(d[i]) +
                ") is out of range or repeated");
    seen[d[i]] = 1;
  }
}

at::Tensor permutation_matrix(const at::Tensor& perm, at::ScalarType dtype) {
  check_permutation(perm);
  const int64_t n = perm.size(0);
  at::Tensor m = at::zeros({n, n}, at::TensorOptions().dtype(dtype).device(perm.device()));
  m.scatter_(1, perm.unsqueeze(1), 1.0);
  return m;
}

at::Tensor permutation_indices(const at::Tensor& matrix) {
  require(matrix.dim() == 2 && matrix.size(0) == matrix.size(1),
          "permutation: expected a square matrix");
  const at::Tensor m = matrix.detach().to(at::kCPU, at::kDouble);
  const bool binary = ((m == 0) | (m == 1)).all().item<bool>();
  require(binary && (m.sum(0) == 1).all().item<bool>() && (m.sum(1) == 1).all().item<bool>(),
          "permutation: the matrix is not a permutation matrix");
  return m.argmax(1);
}

at::Tensor inverse_permutation(const at::Tensor& perm) {
  check_permutation(perm);
  at::Tensor inv = at::empty_like(perm);
  inv.scatter_(0, perm, at::arange(perm.size(0), perm.options()));
  return inv;
}

at::Tensor compose(const at::Tensor& p, const at::Tensor& q) {
  check_permutation(p);
  check_permutation(q, p.size(0));
  return p.index_select(0, q);
}

at::Tensor apply_permutation(const at::Tensor& x, const at::Tensor& perm, int64_t axis) {
  require(x.dim() > 0, "permutation: cannot permute a scalar");
  const int64_t ax = axis < 0 ? axis + x.dim() : axis;
  require(ax >= 0 && ax < x.dim(), "permutation: axis " + std::to_string(axis) +
                                       " out of range for a " + std::to_string(x.dim()) +
                                       "-D tensor");
  check_permutation(perm, x.size(ax));
  return x.index_select(ax, perm.to(x.device()));
}

at::Tensor random_permutation(int64_t n, uint64_t seed) {
  require(n >= 0, "permutation: negative size");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randperm(n, gen, at::kLong);
}

}  // namespace rebasin::ot
