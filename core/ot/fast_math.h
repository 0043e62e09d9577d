// Branch-free exp that GCC vectorises inside loops (std::exp does not without libmvec and
// -ffast-math). The Sinkhorn kernels evaluate one exp per matrix entry per pass, so this is
// their inner loop. float: Cephes expf polynomial, ~2 ulp; double: std::exp (exactness first,
// double runs are for tests and references).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace rebasin::ot {

inline float fast_exp(float x) {
  // exp(x) = 2^k * exp(r), r = x - k ln2 in [-ln2/2, ln2/2].
  const float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float k = std::floor(xc * 1.44269504088896341f + 0.5f);
  const float r = xc - k * 0.693359375f + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const std::int32_t bits = (static_cast<std::int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  // Below -87 the true value is under FLT_MIN: flush to 0 (also maps -inf to 0).
  return x < -87.0f ? 0.0f : y * scale;
}

inline double fast_exp(double x) { return std::exp(x); }

}  // namespace rebasin::ot
