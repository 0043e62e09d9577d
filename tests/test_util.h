// Helpers shared by the core tests: seeded tensors and relative errors.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cstdint>

namespace rebasin::test {

inline at::Tensor seeded_randn(std::int64_t m, std::int64_t n, std::uint64_t seed,
                               at::ScalarType dtype = at::kDouble) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn({m, n}, gen, at::TensorOptions().dtype(dtype));
}

// max |a - b| / max(max |b|, tiny)
inline double rel_error(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ad = a.detach().to(at::kDouble), bd = b.detach().to(at::kDouble);
  const double scale = std::max(bd.abs().max().item<double>(), 1e-300);
  return (ad - bd).abs().max().item<double>() / scale;
}

}  // namespace rebasin::test
