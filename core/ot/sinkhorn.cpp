// Tensor-level Sinkhorn: input checks, marginals, dispatch to the CPU kernels or the reference
// loop, and the autograd function whose backward is the implicit one.
#include "ot/sinkhorn.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <string>

#include "common/error.h"
#include "cuda/sinkhorn_gpu.h"
#include "ot/sinkhorn_kernels.h"

namespace rebasin::ot {
namespace {

std::string shape_of(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

void check_logits(const at::Tensor& X, const SinkhornOptions& o) {
  require(X.defined(), "sinkhorn: the input matrix is undefined");
  require(X.dim() == 2, "sinkhorn: expected a 2-D matrix, got shape " + shape_of(X));
  require(X.size(0) > 0 && X.size(1) > 0, "sinkhorn: the input matrix is empty " + shape_of(X));
  require(X.scalar_type() == at::kFloat || X.scalar_type() == at::kDouble,
          "sinkhorn: expected float32 or float64, got " + std::string(c10::toString(X.scalar_type())));
  require(std::isfinite(o.tau) && o.tau > 0, "sinkhorn: tau must be a positive number");
  require(o.iters >= 1, "sinkhorn: iterations must be at least 1");
  require(std::isfinite(o.tol) && o.tol >= 0, "sinkhorn: tolerance must be >= 0");
}

const char* const kNonFinite = "sinkhorn: the input matrix contains NaN or Inf";

// Log marginals in X's dtype/device; validates user-given ones.
std::pair<at::Tensor, at::Tensor> log_marginals(const at::Tensor& X, const SinkhornOptions& o) {
  const int64_t m = X.size(0), n = X.size(1);
  auto opts = X.options().requires_grad(false);
  auto check = [&](const at::Tensor& t, int64_t len, const char* what) {
    require(t.dim() == 1 && t.size(0) == len, std::string("sinkhorn: ") + what +
                                                  " marginal must have " + std::to_string(len) +
                                                  " entries, got shape " + shape_of(t));
    at::Tensor d = t.detach().to(X.options().requires_grad(false));
    require(at::isfinite(d).all().item<bool>() && (d > 0).all().item<bool>(),
            std::string("sinkhorn: ") + what + " marginal must be positive and finite");
    return d;
  };
  at::Tensor a = o.row_marginal ? check(*o.row_marginal, m, "row") : at::ones({m}, opts);
  at::Tensor b = o.col_marginal ? check(*o.col_marginal, n, "column")
                                : at::full({n}, double(m) / double(n), opts);
  const double ma = a.sum().item<double>(), mb = b.sum().item<double>();
  require(std::abs(ma - mb) <= 1e-4 * std::max(ma, mb),
          "sinkhorn: row and column marginals must have the same total mass (" +
              std::to_string(ma) + " vs " + std::to_string(mb) + ")");
  return {a.log(), b.log()};
}

SinkhornResult forward_cpu(const at::Tensor& X, const at::Tensor& log_a, const at::Tensor& log_b,
                           const SinkhornOptions& o) {
  at::Tensor x = X.detach().contiguous();
  SinkhornResult r;
  r.plan = at::empty_like(x);
  r.f = at::empty({x.size(0)}, x.options());
  r.g = at::empty({x.size(1)}, x.options());
  kernels::ForwardSpec spec{x.size(0), x.size(1), 1.0 / o.tau, o.iters, o.tol};
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "sinkhorn_forward", [&] {
    const auto s = kernels::sinkhorn_forward<scalar_t>(
        x.data_ptr<scalar_t>(), log_a.contiguous().data_ptr<scalar_t>(),
        log_b.contiguous().data_ptr<scalar_t>(), spec, r.plan.data_ptr<scalar_t>(),
        r.f.data_ptr<scalar_t>(), r.g.data_ptr<scalar_t>());
    r.iterations = s.iterations;
    r.marginal_error = s.marginal_error;
    r.log_domain = s.log_domain;
    require(!s.non_finite, kNonFinite);
  });
  return r;
}

at::Tensor reference_loop(const at::Tensor& X, const at::Tensor& log_a, const at::Tensor& log_b,
                          const SinkhornOptions& o) {
  at::Tensor logp = X / o.tau;
  for (int k = 0; k < o.iters; ++k) {
    logp = logp - at::logsumexp(logp, {-2}, true) + log_b.unsqueeze(0);
    logp = logp - at::logsumexp(logp, {-1}, true) + log_a.unsqueeze(1);
  }
  return logp.exp();
}

double column_error(const at::Tensor& plan, const at::Tensor& log_b) {
  at::Tensor b = log_b.exp();
  return ((plan.sum(0) - b).abs().sum() / b.sum()).item<double>();
}

// Forward by the fused kernels (CPU) or the reference loop, backward implicit.
class SinkhornFunction : public torch::autograd::Function<SinkhornFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& X,
                            const at::Tensor& log_a, const at::Tensor& log_b,
                            const SinkhornOptions* o, SinkhornResult* out) {
    if (cuda::runs_on_gpu(X)) {
      // CUDA tensors, or host tensors offloaded when LibTorch has no CUDA (cuda/sinkhorn_gpu.h).
      const cuda::ForwardOutput g =
          cuda::sinkhorn_forward(X, log_a, log_b, {X.size(0), X.size(1), 1.0 / o->tau, o->iters, o->tol});
      require(!g.stats.non_finite, kNonFinite);
      *out = SinkhornResult{g.plan, g.f, g.g, g.stats.iterations, g.stats.marginal_error, g.stats.log_domain};
    } else if (X.device().is_cpu()) {
      *out = forward_cpu(X, log_a, log_b, *o);
    } else {
      require(at::isfinite(X).all().item<bool>(), kNonFinite);
      out->plan = reference_loop(X, log_a, log_b, *o);
      out->iterations = o->iters;
      out->marginal_error = column_error(out->plan, log_b);
    }
    ctx->save_for_backward({out->plan});
    ctx->saved_data["tau"] = o->tau;
    ctx->saved_data["cg_tol"] = o->cg_tol;
    ctx->saved_data["cg_max_iters"] = static_cast<int64_t>(o->cg_max_iters);
    return out->plan;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor P = ctx->get_saved_variables()[0];
    at::Tensor gx = sinkhorn_implicit_backward(P, grads[0], ctx->saved_data["tau"].toDouble(),
                                               ctx->saved_data["cg_tol"].toDouble(),
                                               static_cast<int>(ctx->saved_data["cg_max_iters"].toInt()));
    return {gx, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

SinkhornResult sinkhorn(const at::Tensor& X, const SinkhornOptions& options) {
  check_logits(X, options);
  auto [log_a, log_b] = log_marginals(X, options);
  if (X.requires_grad() && options.backward == SinkhornBackward::Unrolled) {
    require(at::isfinite(X).all().item<bool>(), kNonFinite);
    SinkhornResult r;
    r.plan = reference_loop(X, log_a, log_b, options);
    r.iterations = options.iters;
    r.marginal_error = column_error(r.plan.detach(), log_b);
    return r;
  }
  SinkhornResult r;
  at::Tensor plan = SinkhornFunction::apply(X, log_a, log_b, &options, &r);
  r.plan = plan;
  return r;
}

at::Tensor sinkhorn_reference(const at::Tensor& X, const SinkhornOptions& options) {
  check_logits(X, options);
  require(at::isfinite(X).all().item<bool>(), kNonFinite);
  auto [log_a, log_b] = log_marginals(X, options);
  return reference_loop(X, log_a, log_b, options);
}

}  // namespace rebasin::ot
