#include "bench_commands.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>

#include <iostream>
#include <memory>

#include "cli_common.h"
#include "common/device.h"
#include "common/error.h"
#include "common/runtime.h"
#include "cuda/gpu_check.h"
#include "cuda/gpu_runtime.h"
#include "cuda/sinkhorn_gpu.h"
#include "ot/assignment.h"
#include "ot/permutation.h"
#include "ot/sinkhorn.h"

namespace rebasin::cli {
namespace {

constexpr int kReps = 3;

struct SinkhornBenchOptions {
  CommonOptions common;
  std::int64_t n = 1024;
  int iters = 20;
  double tau = 1.0;
  std::string dtype = "float32";
  bool unrolled = true;
  bool check = false;
};

at::Tensor seeded_normal(std::int64_t rows, std::int64_t cols, std::uint64_t seed,
                         at::ScalarType dtype) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn({rows, cols}, gen, at::TensorOptions().dtype(dtype));
}

// Waits for queued CUDA work so wall-clock timings cover it (LibTorch CUDA ops are async).
void sync(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

// --check: every GPU pass against its CPU reference; exit 1 on a mismatch or without a GPU.
void run_gpu_check(const SinkhornBenchOptions& o) {
  apply_common_options(o.common);
  const std::vector<cuda::CheckResult> results = cuda::run_gpu_checks(o.common.seed);
  nlohmann::json rows = nlohmann::json::array();
  int failed = 0;
  for (const auto& r : results) {
    rows.push_back({{"name", r.name}, {"error", r.error}, {"tolerance", r.tolerance}, {"passed", r.passed}});
    failed += r.passed ? 0 : 1;
  }
  emit({{"device", cuda::device_description()},
        {"checks", rows},
        {"failed", failed},
        {"passed", failed == 0}},
       o.common);
  require(failed == 0, "bench sinkhorn --check: " + std::to_string(failed) + " of " +
                           std::to_string(results.size()) + " GPU checks failed");
}

void run_sinkhorn_bench(const SinkhornBenchOptions& o) {
  if (o.check) return run_gpu_check(o);
  const c10::Device device = apply_common_options(o.common);
  const bool on_gpu = device.is_cuda() || device_name(device) == "cuda-offload";
  const auto dtype = o.dtype == "float64" ? at::kDouble : at::kFloat;
  const at::Tensor X = seeded_normal(o.n, o.n, o.common.seed, dtype).to(device);
  const at::Tensor G = seeded_normal(o.n, o.n, o.common.seed + 1, dtype).to(device);
  ot::SinkhornOptions so;
  so.tau = o.tau;
  so.iters = o.iters;

  ot::SinkhornResult fwd;
  const double forward_s = best_seconds(kReps, [&] { fwd = ot::sinkhorn(X, so); });
  const double reference_s = best_seconds(kReps, [&] {
    ot::sinkhorn_reference(X, so);
    sync(device);
  });
  ot::ImplicitBackwardStats cg;
  const double implicit_s = best_seconds(kReps, [&] {
    ot::sinkhorn_implicit_backward(fwd.plan, G, o.tau, 0.0, 1000, &cg);
  });
  nlohmann::json out = {{"n", o.n},
                        {"iters", o.iters},
                        {"tau", o.tau},
                        {"dtype", o.dtype},
                        {"device", device_name(device)},
                        {"threads", thread_count()},
                        {"forward_s", forward_s},
                        {"reference_forward_s", reference_s},
                        {"implicit_backward_s", implicit_s},
                        {"cg_iterations", cg.cg_iterations},
                        {"log_domain", fwd.log_domain},
                        {"marginal_error", fwd.marginal_error}};
  const double bytes = double(o.n) * double(o.n) * double(X.element_size());
  out["forward_gb_per_s"] = bytes * o.iters / forward_s / 1e9;
  if (on_gpu) {
    // One read of the matrix at the device's copy rate (a 1 GiB copy: the rate without launch
    // overheads), to say what an iteration costs in matrix reads.
    const double copy_gb_per_s = cuda::device_copy_bandwidth(std::size_t(1) << 30);
    const double one_read_s = bytes / (copy_gb_per_s * 1e9);
    // The passes alone, without the operator's checks and marginals (with offload: the copies).
    const at::Tensor zeros = at::zeros({o.n}, X.options());
    const cuda::ForwardSpec spec{o.n, o.n, 1.0 / o.tau, o.iters, 0.0};
    const double kernel_s = best_seconds(kReps, [&] { cuda::sinkhorn_forward(X, zeros, zeros, spec); });
    out["gpu"] = cuda::device_description();
    out["kernel_forward_s"] = kernel_s;
    out["device_copy_gb_per_s"] = copy_gb_per_s;
    out["forward_iteration_reads"] = kernel_s / o.iters / one_read_s;
    // With offload the LibTorch loop runs on the CPU: no GPU figure to give for it.
    out["reference_iteration_reads"] =
        device.is_cuda() ? nlohmann::json(reference_s / o.iters / one_read_s) : nlohmann::json(nullptr);
  }
  // Unrolled autograd keeps ~3 n x n tensors per iteration alive; past a few GB it would only
  // measure swapping (or be killed), so it is skipped there and reported as null.
  const double unrolled_bytes = 3.0 * o.iters * bytes;
  const bool unrolled = o.unrolled && unrolled_bytes <= 6e9;
  if (o.unrolled && !unrolled && !o.common.json)
    std::cerr << "rebasin: skipping the unrolled backward (would hold "
              << unrolled_bytes / 1e9 << " GB); pass --no-unrolled to silence this\n";
  if (unrolled) {
    // Backward through the unrolled reference loop: the graph is rebuilt each run, only
    // backward() is timed.
    double best = 1e300;
    for (int r = 0; r <= kReps; ++r) {
      at::Tensor Xg = X.detach().clone().requires_grad_(true);
      at::Tensor loss = (ot::sinkhorn_reference(Xg, so) * G).sum();
      const auto t0 = std::chrono::steady_clock::now();
      torch::autograd::backward({loss});
      sync(device);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (r > 0) best = std::min(best, s);
    }
    out["unrolled_backward_s"] = best;
  } else {
    out["unrolled_backward_s"] = nullptr;
  }
  emit(out, o.common);
}

struct LapBenchOptions {
  CommonOptions common;
  std::int64_t n = 1024;
};

double time_assignment(const at::Tensor& C) {
  const at::Tensor c = C.to(at::kDouble).contiguous();
  return best_seconds(kReps, [&] {
    ot::solve_assignment(c.data_ptr<double>(), c.size(0), c.size(1), false);
  });
}

void run_lap_bench(const LapBenchOptions& o) {
  apply_common_options(o.common);  // the assignment itself always runs on the CPU
  require(o.n >= 1, "--n must be at least 1");
  const at::Tensor normal = seeded_normal(o.n, o.n, o.common.seed, at::kDouble);
  // The re-basin case: a hidden permutation's matrix, negated (a cost), plus 10% noise.
  const at::Tensor perm = ot::random_permutation(o.n, o.common.seed + 7);
  const at::Tensor near = -ot::permutation_matrix(perm, at::kDouble) +
                          0.1 * seeded_normal(o.n, o.n, o.common.seed + 3, at::kDouble);
  nlohmann::json out = {{"n", o.n},
                        {"seconds", time_assignment(normal)},
                        {"near_permutation_seconds", time_assignment(near)},
                        {"threads", 1}};
  emit(out, o.common);
}

}  // namespace

void add_bench_commands(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Time the numerical core (best of 3 after a warm-up)");
  bench->require_subcommand(1);

  auto so = std::make_shared<SinkhornBenchOptions>();
  CLI::App* sk = bench->add_subcommand(
      "sinkhorn", "Sinkhorn forward, implicit and unrolled backward on an n x n standard-normal matrix");
  sk->add_option("--n", so->n, "Matrix size (required unless --check)")->check(CLI::Range(1, 1 << 16));
  sk->add_option("--iters", so->iters, "Sinkhorn iterations")->check(CLI::Range(1, 100000))->capture_default_str();
  sk->add_option("--tau", so->tau, "Temperature")->check(CLI::PositiveNumber)->capture_default_str();
  sk->add_option("--dtype", so->dtype, "float32 or float64")
      ->check(CLI::IsMember({"float32", "float64"}))
      ->capture_default_str();
  sk->add_flag("!--no-unrolled", so->unrolled, "Skip the unrolled-autograd backward (slow, O(iters n^2) memory)");
  sk->add_flag("--check", so->check,
               "Compare every GPU kernel with its CPU reference instead of timing; exit 1 on a mismatch or without a GPU");
  add_common_options(sk, so->common);
  sk->callback([so, sk] {
    require(so->check || sk->count("--n") > 0, "bench sinkhorn: --n is required (unless --check)");
    run_sinkhorn_bench(*so);
  });

  auto lo = std::make_shared<LapBenchOptions>();
  CLI::App* lap = bench->add_subcommand(
      "lap", "Exact linear assignment on n x n standard-normal and near-permutation costs");
  lap->add_option("--n", lo->n, "Matrix size")->required()->check(CLI::Range(1, 1 << 15));
  add_common_options(lap, lo->common);
  lap->callback([lo] { run_lap_bench(*lo); });
}

}  // namespace rebasin::cli
