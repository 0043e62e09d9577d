#include "cli_common.h"

#include <algorithm>
#include <iostream>
#include <limits>

#include "common/device.h"
#include "common/error.h"
#include "common/runtime.h"
#include "nn/family_registry.h"

namespace rebasin::cli {

void add_residual_option(CLI::App* cmd, std::string& residual) {
  cmd->add_option("--residual", residual,
                  "Built-in transformers (vit:, gpt:): leave the residual stream as it is (identity, the default: "
                  "lower barriers in docs/results.md) or permute it as one group shared by embeddings, norms and "
                  "every block (shared)")
      ->check(CLI::IsMember({"shared", "identity"}));
}

std::string arch_help(const std::string& tail, bool builtin_only) {
  std::string families;
  for (const nn::ArchFamily& f : nn::arch_families())
    if (f.name != "torchscript") families += (families.empty() ? "" : ", ") + f.syntax;
  return "Architecture: " + families + (builtin_only ? " (" + tail + ")" : ", " + tail);
}

void add_common_options(CLI::App* cmd, CommonOptions& opts) {
  cmd->add_flag("--json", opts.json, "Print one JSON object on stdout and nothing else there");
  cmd->add_option("--device", opts.device, "Where to compute: cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
  cmd->add_option("--seed", opts.seed, "Random seed")->capture_default_str();
  cmd->add_option("--threads", opts.threads, "CPU threads (0: all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

c10::Device apply_common_options(const CommonOptions& opts) {
  configure_threads(opts.threads);
  configure_allocator();
  return resolve_device(opts.device);
}

void emit(const nlohmann::json& result, const CommonOptions& opts) {
  if (opts.json) {
    std::cout << result.dump() << std::endl;
    return;
  }
  for (const auto& [key, value] : result.items())
    std::cout << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump())
              << "\n";
  std::cout.flush();
}

double best_seconds(int reps, const std::function<void()>& fn) {
  using clock = std::chrono::steady_clock;
  fn();
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < reps; ++r) {
    const auto t0 = clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(clock::now() - t0).count());
  }
  return best;
}

}  // namespace rebasin::cli
