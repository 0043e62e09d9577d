// CPU references of the GPU passes (sinkhorn_cuda_kernels.h): plain serial loops with double
// accumulators, written for clarity rather than speed, so that a GPU result can be judged
// against them. The forward runs the same driver (forward_driver.h) as the GPU.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cuda/forward_driver.h"
#include "cuda/sinkhorn_cuda_kernels.h"

namespace rebasin::cuda::ref {
namespace {

template <typename T>
class ReferencePasses final : public ForwardPasses {
 public:
  ReferencePasses(const T* X, const T* log_a, const T* log_b, const ForwardSpec& spec, T* plan,
                  T* f, T* g)
      : X_(X), log_a_(log_a), log_b_(log_b), m_(spec.m), n_(spec.n),
        s_(static_cast<T>(spec.inv_tau)), plan_(plan), f_(f), g_(g), colsum_(spec.n) {
    double amax = 0;
    for (std::int64_t i = 0; i < m_; ++i) amax = std::max(amax, std::exp(double(log_a_[i])));
    for (std::int64_t j = 0; j < n_; ++j) mass_ += std::exp(double(log_b_[j]));
    tiny_ = double(std::numeric_limits<T>::min()) * 1e13 * std::max(1.0, amax);
  }

  bool init_columns() override {
    for (std::int64_t k = 0; k < m_ * n_; ++k)
      if (!std::isfinite(X_[k])) return false;
    std::fill(f_, f_ + m_, T(0));
    for (std::int64_t j = 0; j < n_; ++j) g_[j] = static_cast<T>(log_b_[j] - column_lse(j));
    return true;
  }

  void row_pass(bool write) override {
    std::fill(colsum_.begin(), colsum_.end(), 0.0);
    for (std::int64_t i = 0; i < m_; ++i) {
      const T* x = X_ + i * n_;
      double mx = -std::numeric_limits<double>::infinity();
      for (std::int64_t j = 0; j < n_; ++j) mx = std::max(mx, double(x[j] * s_ + g_[j]));
      double se = 0;
      for (std::int64_t j = 0; j < n_; ++j) se += std::exp(double(x[j] * s_ + g_[j]) - mx);
      f_[i] = static_cast<T>(double(log_a_[i]) - mx - std::log(se));
      const double r = std::exp(double(log_a_[i])) / se;
      for (std::int64_t j = 0; j < n_; ++j) {
        const double p = std::exp(double(x[j] * s_ + g_[j]) - mx) * r;
        colsum_[j] += p;
        if (write) plan_[i * n_ + j] = static_cast<T>(p);
      }
    }
  }

  double column_error() override {
    double err = 0;
    for (std::int64_t j = 0; j < n_; ++j) err += std::abs(colsum_[j] - std::exp(double(log_b_[j])));
    return err / mass_;
  }

  void update_columns() override {
    for (std::int64_t j = 0; j < n_; ++j) {
      if (colsum_[j] > tiny_)
        g_[j] = static_cast<T>(g_[j] + log_b_[j] - std::log(colsum_[j]));
      else
        g_[j] = static_cast<T>(log_b_[j] - column_lse(j));
    }
  }

 private:
  // LSE_i(X_ij s + f_i) in double.
  double column_lse(std::int64_t j) const {
    double mx = -std::numeric_limits<double>::infinity();
    for (std::int64_t i = 0; i < m_; ++i) mx = std::max(mx, double(X_[i * n_ + j] * s_ + f_[i]));
    double se = 0;
    for (std::int64_t i = 0; i < m_; ++i) se += std::exp(double(X_[i * n_ + j] * s_ + f_[i]) - mx);
    return mx + std::log(se);
  }

  const T *X_, *log_a_, *log_b_;
  std::int64_t m_, n_;
  T s_;
  T *plan_, *f_, *g_;
  std::vector<double> colsum_;
  double mass_ = 0, tiny_ = 0;
};

}  // namespace

template <typename T>
ForwardStats sinkhorn_forward(const T* X, const T* log_a, const T* log_b, const ForwardSpec& spec,
                              T* plan, T* f, T* g, void*, cudaStream_t) {
  ReferencePasses<T> passes(X, log_a, log_b, spec, plan, f, g);
  return run_forward(passes, spec);
}

template <typename T>
void schur_matvec(const T* P, std::int64_t m, std::int64_t n, const T* inv_a, const T* b,
                  const T* p, T* y, void*, cudaStream_t) {
  std::vector<double> acc(n, 0.0);
  for (std::int64_t i = 0; i < m; ++i) {
    const T* row = P + i * n;
    double d = 0;
    for (std::int64_t j = 0; j < n; ++j) d += double(row[j]) * p[j];
    const double t = d * inv_a[i];
    for (std::int64_t j = 0; j < n; ++j) acc[j] += t * row[j];
  }
  for (std::int64_t j = 0; j < n; ++j) y[j] = static_cast<T>(double(b[j]) * p[j] - acc[j]);
}

template <typename T>
void implicit_prepare(const T* P, const T* G, std::int64_t m, std::int64_t n, T* a, T* h1,
                      double* b, double* h2, double* dsq, double* t, void*, cudaStream_t) {
  std::fill(b, b + n, 0.0);
  std::fill(h2, h2 + n, 0.0);
  std::fill(dsq, dsq + n, 0.0);
  std::fill(t, t + n, 0.0);
  for (std::int64_t i = 0; i < m; ++i) {
    const T* p = P + i * n;
    const T* gr = G + i * n;
    double ai = 0, hi = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      ai += p[j];
      hi += double(gr[j]) * p[j];
    }
    a[i] = static_cast<T>(ai);
    h1[i] = static_cast<T>(hi);
    for (std::int64_t j = 0; j < n; ++j) {
      b[j] += p[j];
      h2[j] += double(gr[j]) * p[j];
      dsq[j] += double(p[j]) * p[j] / ai;
      t[j] += double(p[j]) * hi / ai;
    }
  }
}

template <typename T>
void implicit_finish(const T* P, const T* G, std::int64_t m, std::int64_t n, const T* a,
                     const T* h1, const T* v, T inv_tau, T* grad, void*, cudaStream_t) {
  for (std::int64_t i = 0; i < m; ++i) {
    const T* p = P + i * n;
    const T* gr = G + i * n;
    double d = 0;
    for (std::int64_t j = 0; j < n; ++j) d += double(p[j]) * v[j];
    const double ui = (h1[i] - d) / a[i];
    for (std::int64_t j = 0; j < n; ++j)
      grad[i * n + j] = static_cast<T>(double(p[j]) * (gr[j] - ui - v[j]) * inv_tau);
  }
}

REBASIN_INSTANTIATE_SINKHORN_FORWARD(float)
REBASIN_INSTANTIATE_IMPLICIT_BACKWARD(float)
REBASIN_INSTANTIATE_SINKHORN_FORWARD(double)
REBASIN_INSTANTIATE_IMPLICIT_BACKWARD(double)

}  // namespace rebasin::cuda::ref
