// CPU Sinkhorn kernels. Rows are split across LibTorch's intra-op threads; each thread keeps its
// own column accumulator, reduced in a fixed order after the pass (deterministic for a given
// thread count). The block functions carry target_clones so one binary runs everywhere and still
// uses AVX-512/AVX2 where present: the hot loops are inlined into each clone.
#include "ot/sinkhorn_kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ot/fast_math.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define REBASIN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define REBASIN_CLONES
#endif
#define REBASIN_INLINE inline __attribute__((always_inline))

namespace rebasin::ot::kernels {
namespace {

constexpr int kLanes = 16;

// Passes alternate direction: the rows a thread touched last (still in its L2) are the first it
// needs in the next pass, which saves a large share of the memory traffic of repeated passes.
inline std::int64_t row_at(std::int64_t step, std::int64_t r0, std::int64_t r1, bool backwards) {
  return backwards ? r0 + r1 - 1 - step : step;
}

template <typename T>
REBASIN_INLINE T max_of(const T* x, std::int64_t n) {
  // omp simd: a max reduction does not vectorise otherwise without -ffinite-math-only.
  T mx = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : mx)
  for (std::int64_t j = 0; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  return mx;
}

// --- log-domain row pass -------------------------------------------------------------------
// For rows [r0, r1): f_i = log a_i - LSE_j(X_ij s + g_j); adds the resulting plan row to acc and,
// when plan != nullptr, writes it. buf is an n-long scratch row.
template <typename T>
REBASIN_INLINE void log_rows_impl(const T* X, std::int64_t n, T s, const T* log_a, const T* g,
                                  std::int64_t r0, std::int64_t r1, T* f, T* acc, T* plan,
                                  T* buf, bool backwards) {
  for (std::int64_t step = r0; step < r1; ++step) {
    const std::int64_t i = row_at(step, r0, r1, backwards);
    const T* x = X + i * n;
    for (std::int64_t j = 0; j < n; ++j) buf[j] = x[j] * s + g[j];
    const T mx = max_of(buf, n);
    T se = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      buf[j] = fast_exp(buf[j] - mx);
      se += buf[j];
    }
    f[i] = log_a[i] - mx - std::log(se);
    const T r = std::exp(log_a[i]) / se;
    if (plan) {
      T* p = plan + i * n;
      for (std::int64_t j = 0; j < n; ++j) {
        p[j] = buf[j] * r;
        acc[j] += p[j];
      }
    } else {
      for (std::int64_t j = 0; j < n; ++j) acc[j] += buf[j] * r;
    }
  }
}

// --- scaling-form passes --------------------------------------------------------------------
// Range of X over rows [r0, r1): lo/hi get the min/max, *bad is set on NaN/Inf (max/min alone
// skip a NaN, so NaNs are counted by v != v, which this file's flags keep).
template <typename T>
REBASIN_INLINE void range_rows_impl(const T* X, std::int64_t n, std::int64_t r0, std::int64_t r1,
                                    T* lo, T* hi, bool* bad) {
  T mx = -std::numeric_limits<T>::infinity(), mn = std::numeric_limits<T>::infinity();
  std::int64_t nans = 0;
  const T* x = X + r0 * n;
  const std::int64_t total = (r1 - r0) * n;
#pragma omp simd reduction(max : mx) reduction(min : mn) reduction(+ : nans)
  for (std::int64_t k = 0; k < total; ++k) {
    const T v = x[k];
    mx = v > mx ? v : mx;
    mn = v < mn ? v : mn;
    nans += v != v;
  }
  *lo = mn;
  *hi = mx;
  *bad = nans != 0 || !std::isfinite(mx) || !std::isfinite(mn);
}

// K_ij = exp(X_ij s - c) into K; acc += column sums of K.
template <typename T>
REBASIN_INLINE void kernel_rows_impl(const T* X, std::int64_t n, T s, T c, std::int64_t r0,
                                     std::int64_t r1, T* K, T* acc) {
  for (std::int64_t i = r0; i < r1; ++i) {
    const T* x = X + i * n;
    T* k = K + i * n;
    for (std::int64_t j = 0; j < n; ++j) {
      k[j] = fast_exp(x[j] * s - c);
      acc[j] += k[j];
    }
  }
}

// u_i = a_i / (K_i . v); acc += u_i K_i. With write, K_i becomes the plan row u_i K_i v and acc
// gets the plan's column sums instead.
template <typename T>
REBASIN_INLINE void scale_rows_impl(T* K, std::int64_t n, const T* a, const T* v,
                                    std::int64_t r0, std::int64_t r1, T* u, T* acc, bool write,
                                    bool backwards) {
  for (std::int64_t step = r0; step < r1; ++step) {
    const std::int64_t i = row_at(step, r0, r1, backwards);
    T* k = K + i * n;
    T d = 0;
    for (std::int64_t j = 0; j < n; ++j) d += k[j] * v[j];
    const T ui = a[i] / d;
    u[i] = ui;
    if (write) {
      for (std::int64_t j = 0; j < n; ++j) {
        k[j] = ui * k[j] * v[j];
        acc[j] += k[j];
      }
    } else {
      for (std::int64_t j = 0; j < n; ++j) acc[j] += ui * k[j];
    }
  }
}

// Column-wise max of X s (cm) and then sum of exp(X s - cm) (acc), row by row: the initial
// column normalisation of the log-domain path without strided column walks.
template <typename T>
REBASIN_INLINE void colmax_rows_impl(const T* X, std::int64_t n, T s, std::int64_t r0,
                                     std::int64_t r1, T* cm) {
  for (std::int64_t i = r0; i < r1; ++i) {
    const T* x = X + i * n;
    for (std::int64_t j = 0; j < n; ++j) cm[j] = x[j] * s > cm[j] ? x[j] * s : cm[j];
  }
}

template <typename T>
REBASIN_INLINE void colexp_rows_impl(const T* X, std::int64_t n, T s, const T* cm,
                                     std::int64_t r0, std::int64_t r1, T* acc) {
  for (std::int64_t i = r0; i < r1; ++i) {
    const T* x = X + i * n;
    for (std::int64_t j = 0; j < n; ++j) acc[j] += fast_exp(x[j] * s - cm[j]);
  }
}

template <typename T>
REBASIN_INLINE void schur_rows_impl(const T* P, std::int64_t n, const T* inv_a, const T* p,
                                    std::int64_t r0, std::int64_t r1, T* acc, bool backwards) {
  for (std::int64_t step = r0; step < r1; ++step) {
    const std::int64_t i = row_at(step, r0, r1, backwards);
    const T* row = P + i * n;
    T d = 0;
    for (std::int64_t j = 0; j < n; ++j) d += row[j] * p[j];
    const T t = d * inv_a[i];
    for (std::int64_t j = 0; j < n; ++j) acc[j] += t * row[j];
  }
}

template <typename T>
REBASIN_INLINE void prepare_rows_impl(const T* P, const T* G, std::int64_t n, std::int64_t r0,
                                      std::int64_t r1, T* a, T* h1, T* acc) {
  T* b = acc;
  T* h2 = acc + n;
  T* dsq = acc + 2 * n;
  T* t = acc + 3 * n;
  for (std::int64_t i = r0; i < r1; ++i) {
    const T* p = P + i * n;
    const T* g = G + i * n;
    T ai = 0, hi = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      ai += p[j];
      hi += g[j] * p[j];
    }
    a[i] = ai;
    h1[i] = hi;
    const T inv = T(1) / ai, ha = hi / ai;
    for (std::int64_t j = 0; j < n; ++j) {
      b[j] += p[j];
      h2[j] += g[j] * p[j];
      dsq[j] += p[j] * p[j] * inv;
      t[j] += p[j] * ha;
    }
  }
}

template <typename T>
REBASIN_INLINE void finish_rows_impl(const T* P, const T* G, std::int64_t n, const T* a,
                                     const T* h1, const T* v, T inv_tau, std::int64_t r0,
                                     std::int64_t r1, T* grad) {
  for (std::int64_t i = r0; i < r1; ++i) {
    const T* p = P + i * n;
    const T* g = G + i * n;
    T* out = grad + i * n;
    T d = 0;
    for (std::int64_t j = 0; j < n; ++j) d += p[j] * v[j];
    const T ui = (h1[i] - d) / a[i];
    for (std::int64_t j = 0; j < n; ++j) out[j] = p[j] * (g[j] - ui - v[j]) * inv_tau;
  }
}

// Non-template, cloned entry points (target_clones does not apply to templates reliably).
#define REBASIN_DEFINE_BLOCKS(T)                                                                \
  REBASIN_CLONES void log_rows(const T* X, std::int64_t n, T s, const T* log_a, const T* g,     \
                               std::int64_t r0, std::int64_t r1, T* f, T* acc, T* plan,         \
                               T* buf, bool back) {                                             \
    log_rows_impl<T>(X, n, s, log_a, g, r0, r1, f, acc, plan, buf, back);                       \
  }                                                                                             \
  REBASIN_CLONES void range_rows(const T* X, std::int64_t n, std::int64_t r0, std::int64_t r1,   \
                                 T* lo, T* hi, bool* bad) {                                     \
    range_rows_impl<T>(X, n, r0, r1, lo, hi, bad);                                              \
  }                                                                                             \
  REBASIN_CLONES void kernel_rows(const T* X, std::int64_t n, T s, T c, std::int64_t r0,        \
                                  std::int64_t r1, T* K, T* acc) {                              \
    kernel_rows_impl<T>(X, n, s, c, r0, r1, K, acc);                                            \
  }                                                                                             \
  REBASIN_CLONES void scale_rows(T* K, std::int64_t n, const T* a, const T* v, std::int64_t r0, \
                                 std::int64_t r1, T* u, T* acc, bool write, bool back) {        \
    scale_rows_impl<T>(K, n, a, v, r0, r1, u, acc, write, back);                                \
  }                                                                                             \
  REBASIN_CLONES void colmax_rows(const T* X, std::int64_t n, T s, std::int64_t r0,             \
                                  std::int64_t r1, T* cm) {                                     \
    colmax_rows_impl<T>(X, n, s, r0, r1, cm);                                                   \
  }                                                                                             \
  REBASIN_CLONES void colexp_rows(const T* X, std::int64_t n, T s, const T* cm, std::int64_t r0, \
                                  std::int64_t r1, T* acc) {                                    \
    colexp_rows_impl<T>(X, n, s, cm, r0, r1, acc);                                              \
  }                                                                                             \
  REBASIN_CLONES void schur_rows(const T* P, std::int64_t n, const T* inv_a, const T* p,        \
                                 std::int64_t r0, std::int64_t r1, T* acc, bool back) {         \
    schur_rows_impl<T>(P, n, inv_a, p, r0, r1, acc, back);                                      \
  }                                                                                             \
  REBASIN_CLONES void prepare_rows(const T* P, const T* G, std::int64_t n, std::int64_t r0,     \
                                   std::int64_t r1, T* a, T* h1, T* acc) {                      \
    prepare_rows_impl<T>(P, G, n, r0, r1, a, h1, acc);                                          \
  }                                                                                             \
  REBASIN_CLONES void finish_rows(const T* P, const T* G, std::int64_t n, const T* a,           \
                                  const T* h1, const T* v, T inv_tau, std::int64_t r0,          \
                                  std::int64_t r1, T* grad) {                                   \
    finish_rows_impl<T>(P, G, n, a, h1, v, inv_tau, r0, r1, grad);                              \
  }
REBASIN_DEFINE_BLOCKS(float)
REBASIN_DEFINE_BLOCKS(double)
#undef REBASIN_DEFINE_BLOCKS

// Per-thread column accumulators, summed in thread order after each pass.
template <typename T>
class ColumnAccumulator {
 public:
  explicit ColumnAccumulator(std::int64_t n)
      : n_(n), threads_(std::max(1, at::get_num_threads())),
        data_(static_cast<std::size_t>(n) * threads_) {}
  void clear(T value = T(0)) { std::fill(data_.begin(), data_.end(), value); }
  int threads() const { return threads_; }
  T* of(int thread) { return data_.data() + static_cast<std::size_t>(thread) * n_; }
  // out_j = sum over threads of acc_j (in double: the sum of a column can span many rows).
  void reduce(std::vector<double>& out) const {
    out.assign(n_, 0.0);
    for (int t = 0; t < threads_; ++t)
      for (std::int64_t j = 0; j < n_; ++j) out[j] += data_[static_cast<std::size_t>(t) * n_ + j];
  }

 private:
  std::int64_t n_;
  int threads_;
  std::vector<T> data_;
};

// Runs body(r0, r1, thread) over row blocks; rows are independent. Below ~1M entries a pass
// takes tens of microseconds and waking a second thread costs more than it saves (measured at
// n = 512: 0.058 ms with 2 threads vs 0.030 ms with 1).
template <typename Body>
void for_rows(std::int64_t m, std::int64_t n, Body&& body) {
  constexpr std::int64_t kMinParallelEntries = 1 << 20;
  const std::int64_t grain =
      m * n < kMinParallelEntries ? m : std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(n, 1));
  at::parallel_for(0, m, grain, [&](std::int64_t r0, std::int64_t r1) {
    body(r0, r1, at::get_thread_num());
  });
}

template <typename T>
double l1_error(const std::vector<double>& colsum, const T* log_b, std::int64_t n,
                double mass) {
  double err = 0;
  for (std::int64_t j = 0; j < n; ++j) err += std::abs(colsum[j] - std::exp(double(log_b[j])));
  return err / mass;
}

template <typename T>
bool all_positive_finite(const T* x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    if (!(x[i] > 0) || !std::isfinite(x[i])) return false;
  return true;
}

// Scaling form over K = exp(X s - c), c = max X s. Returns false (caller falls back to the log
// domain) when a scaling vector leaves the representable range.
template <typename T>
bool forward_scaling(const T* X, const T* log_a, const T* log_b, const ForwardSpec& spec,
                     T xmax, double mass, T* plan, T* f, T* g, ForwardStats& stats) {
  const std::int64_t m = spec.m, n = spec.n;
  const T s = static_cast<T>(spec.inv_tau);
  const T c = xmax * s;
  std::vector<T> a(m), b(n), u(m), v(n);
  for (std::int64_t i = 0; i < m; ++i) a[i] = std::exp(log_a[i]);
  for (std::int64_t j = 0; j < n; ++j) b[j] = std::exp(log_b[j]);
  ColumnAccumulator<T> acc(n);
  std::vector<double> w;
  acc.clear();
  for_rows(m, n, [&](std::int64_t r0, std::int64_t r1, int t) {
    kernel_rows(X, n, s, c, r0, r1, plan, acc.of(t));
  });
  acc.reduce(w);
  for (std::int64_t j = 0; j < n; ++j) v[j] = static_cast<T>(b[j] / w[j]);
  if (!all_positive_finite(v.data(), n)) return false;

  bool written = false;
  for (int it = 1; it <= spec.max_iters; ++it) {
    const bool last = it == spec.max_iters;
    const bool write = last && spec.tol <= 0;
    acc.clear();
    for_rows(m, n, [&](std::int64_t r0, std::int64_t r1, int t) {
      scale_rows(plan, n, a.data(), v.data(), r0, r1, u.data(), acc.of(t), write, it % 2 == 1);
    });
    acc.reduce(w);
    if (!all_positive_finite(u.data(), m)) return false;
    // Column marginals of the plan after this iteration: v_j (K^T u)_j, or the written sums.
    std::vector<double> colsum(w);
    if (!write)
      for (std::int64_t j = 0; j < n; ++j) colsum[j] = w[j] * double(v[j]);
    stats.iterations = it;
    stats.marginal_error = l1_error(colsum, log_b, n, mass);
    if (write) {
      written = true;
      break;
    }
    if (last || stats.marginal_error < spec.tol) break;
    for (std::int64_t j = 0; j < n; ++j) v[j] = static_cast<T>(b[j] / w[j]);
    if (!all_positive_finite(v.data(), n)) return false;
  }
  // Every exit above leaves u and v as the plan's scalings (v is updated only to continue).
  for (std::int64_t i = 0; i < m; ++i) f[i] = std::log(u[i]) - c;
  for (std::int64_t j = 0; j < n; ++j) g[j] = std::log(v[j]);
  if (!written) {
    for_rows(m, n, [&](std::int64_t r0, std::int64_t r1, int) {
      for (std::int64_t i = r0; i < r1; ++i) {
        T* k = plan + i * n;
        for (std::int64_t j = 0; j < n; ++j) k[j] = u[i] * k[j] * v[j];
      }
    });
  }
  return true;
}

// Exact log-sum-exp down column j with the current f, for columns whose mass underflowed.
template <typename T>
double column_lse(const T* X, std::int64_t m, std::int64_t n, T s, const T* f, std::int64_t j) {
  double mx = -std::numeric_limits<double>::infinity();
  for (std::int64_t i = 0; i < m; ++i) mx = std::max(mx, double(X[i * n + j]) * s + f[i]);
  double se = 0;
  for (std::int64_t i = 0; i < m; ++i) se += std::exp(double(X[i * n + j]) * s + f[i] - mx);
  return mx + std::log(se);
}

template <typename T>
void forward_log(const T* X, const T* log_a, const T* log_b, const ForwardSpec& spec,
                 double mass, T* plan, T* f, T* g, ForwardStats& stats) {
  const std::int64_t m = spec.m, n = spec.n;
  const T s = static_cast<T>(spec.inv_tau);
  stats.log_domain = true;
  ColumnAccumulator<T> acc(n);
  std::vector<double> colsum;
  // Initial column normalisation from f = 0: g_j = log b_j - LSE_i(X_ij s).
  std::fill(f, f + m, T(0));
  acc.clear(-std::numeric_limits<T>::infinity());
  for_rows(m, n, [&](std::int64_t r0, std::int64_t r1, int t) {
    colmax_rows(X, n, s, r0, r1, acc.of(t));
  });
  std::vector<T> cm(n, -std::numeric_limits<T>::infinity());
  for (int t = 0; t < acc.threads(); ++t)
    for (std::int64_t j = 0; j < n; ++j) cm[j] = std::max(cm[j], acc.of(t)[j]);
  acc.clear();
  for_rows(m, n, [&](std::int64_t r0, std::int64_t r1, int t) {
    colexp_rows(X, n, s, cm.data(), r0, r1, acc.of(t));
  });
  acc.reduce(colsum);
  for (std::int64_t j = 0; j < n; ++j)
    g[j] = static_cast<T>(log_b[j] - cm[j] - std::log(colsum[j]));
  double amax = 0;
  for (std::int64_t i = 0; i < m; ++i) amax = std::max(amax, std::exp(double(log_a[i])));
  const double tiny = double(std::numeric_limits<T>::min()) * 1e13 * std::max(1.0, amax);

  for (int it = 1; it <= spec.max_iters; ++it) {
    const bool last = it == spec.max_iters;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool write = attempt == 1 || (last && spec.tol <= 0);
      acc.clear();
      for_rows(m, n, [&](std::int64_t r0, std::int64_t r1, int t) {
        std::vector<T> buf(n);
        log_rows(X, n, s, log_a, g, r0, r1, f, acc.of(t), write ? plan : nullptr, buf.data(),
                 it % 2 == 1);
      });
      acc.reduce(colsum);
      stats.iterations = it;
      stats.marginal_error = l1_error(colsum, log_b, n, mass);
      const bool done = last || stats.marginal_error < spec.tol;
      if (!done) break;
      if (write) return;
      // Converged on a pass that did not write: repeat it (same g, same f) writing the plan.
    }
    for (std::int64_t j = 0; j < n; ++j) {
      // A column whose mass underflowed in T gets its exact log-sum-exp instead of a ratio.
      if (colsum[j] > tiny)
        g[j] = static_cast<T>(g[j] + log_b[j] - std::log(colsum[j]));
      else
        g[j] = static_cast<T>(log_b[j] - column_lse(X, m, n, s, f, j));
    }
  }
}

}  // namespace

template <typename T>
ForwardStats sinkhorn_forward(const T* X, const T* log_a, const T* log_b, const ForwardSpec& spec,
                              T* plan, T* f, T* g) {
  ForwardStats stats;
  double mass = 0;
  for (std::int64_t j = 0; j < spec.n; ++j) mass += std::exp(double(log_b[j]));
  // One read of X for its range and NaN/Inf (per thread, then combined).
  const int threads = std::max(1, at::get_num_threads());
  std::vector<T> lo(threads, std::numeric_limits<T>::infinity()),
      hi(threads, -std::numeric_limits<T>::infinity());
  std::vector<char> bad(threads, 0);
  for_rows(spec.m, spec.n, [&](std::int64_t r0, std::int64_t r1, int t) {
    T l, h;
    bool b;
    range_rows(X, spec.n, r0, r1, &l, &h, &b);
    lo[t] = std::min(lo[t], l);
    hi[t] = std::max(hi[t], h);
    bad[t] |= b;
  });
  T xmin = lo[0], xmax = hi[0];
  for (int t = 0; t < threads; ++t) {
    xmin = std::min(xmin, lo[t]);
    xmax = std::max(xmax, hi[t]);
    if (bad[t]) stats.non_finite = true;
  }
  if (stats.non_finite) return stats;
  // Scaling is exact as long as no kernel entry underflows: exp(-range) must stay far above
  // the smallest normal number of T (the scaling vectors then absorb the rest).
  const double range = (double(xmax) - double(xmin)) * spec.inv_tau;
  const double safe_range = std::is_same_v<T, float> ? 40.0 : 300.0;
  if (spec.max_iters > 0 && range <= safe_range &&
      forward_scaling(X, log_a, log_b, spec, xmax, mass, plan, f, g, stats))
    return stats;
  stats = ForwardStats{};
  forward_log(X, log_a, log_b, spec, mass, plan, f, g, stats);
  return stats;
}

template <typename T>
void schur_matvec(const T* P, std::int64_t m, std::int64_t n, const T* inv_a, const T* b,
                  const T* p, T* y, bool backwards) {
  ColumnAccumulator<T> acc(n);
  acc.clear();
  for_rows(m, n, [&](std::int64_t r0, std::int64_t r1, int t) {
    schur_rows(P, n, inv_a, p, r0, r1, acc.of(t), backwards);
  });
  std::vector<double> w;
  acc.reduce(w);
  for (std::int64_t j = 0; j < n; ++j) y[j] = static_cast<T>(double(b[j]) * p[j] - w[j]);
}

template <typename T>
void implicit_prepare(const T* P, const T* G, std::int64_t m, std::int64_t n, T* a, T* h1,
                      double* b, double* h2, double* dsq, double* t) {
  ColumnAccumulator<T> acc(4 * n);
  acc.clear();
  for_rows(m, n, [&](std::int64_t r0, std::int64_t r1, int th) {
    prepare_rows(P, G, n, r0, r1, a, h1, acc.of(th));
  });
  std::vector<double> sums;
  acc.reduce(sums);
  std::copy(sums.begin(), sums.begin() + n, b);
  std::copy(sums.begin() + n, sums.begin() + 2 * n, h2);
  std::copy(sums.begin() + 2 * n, sums.begin() + 3 * n, dsq);
  std::copy(sums.begin() + 3 * n, sums.end(), t);
}

template <typename T>
void implicit_finish(const T* P, const T* G, std::int64_t m, std::int64_t n, const T* a,
                     const T* h1, const T* v, T inv_tau, T* grad) {
  for_rows(m, n, [&](std::int64_t r0, std::int64_t r1, int) {
    finish_rows(P, G, n, a, h1, v, inv_tau, r0, r1, grad);
  });
}

template void implicit_prepare<float>(const float*, const float*, std::int64_t, std::int64_t,
                                      float*, float*, double*, double*, double*, double*);
template void implicit_prepare<double>(const double*, const double*, std::int64_t, std::int64_t,
                                       double*, double*, double*, double*, double*, double*);
template void implicit_finish<float>(const float*, const float*, std::int64_t, std::int64_t,
                                     const float*, const float*, const float*, float, float*);
template void implicit_finish<double>(const double*, const double*, std::int64_t, std::int64_t,
                                      const double*, const double*, const double*, double,
                                      double*);

template ForwardStats sinkhorn_forward<float>(const float*, const float*, const float*,
                                              const ForwardSpec&, float*, float*, float*);
template ForwardStats sinkhorn_forward<double>(const double*, const double*, const double*,
                                               const ForwardSpec&, double*, double*, double*);
template void schur_matvec<float>(const float*, std::int64_t, std::int64_t, const float*,
                                  const float*, const float*, float*, bool);
template void schur_matvec<double>(const double*, std::int64_t, std::int64_t, const double*,
                                   const double*, const double*, double*, bool);

}  // namespace rebasin::ot::kernels
