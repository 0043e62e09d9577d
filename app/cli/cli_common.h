// Options every computing command shares (--json, --device, --seed, --threads) and the one way
// results leave the CLI: a JSON object on stdout with --json, readable lines otherwise.
#pragma once

#include <CLI/CLI.hpp>
#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace rebasin::cli {

struct CommonOptions {
  bool json = false;
  std::string device = "auto";
  std::uint64_t seed = 0;
  int threads = 0;  // 0: all hardware threads
};

void add_common_options(CLI::App* cmd, CommonOptions& opts);

// --residual shared|identity (built-in transformers: permute the residual stream as one group,
// or leave it; empty when not given).
void add_residual_option(CLI::App* cmd, std::string& residual);

// --arch's help: every architecture family's ARCH strings (core/nn/family_registry.h), then
// `tail`; builtin_only leaves TorchScript out (train makes built-ins only).
std::string arch_help(const std::string& tail, bool builtin_only = false);

// Applies --threads and resolves --device (UserError for cuda without a GPU); call at the
// start of every computing command.
c10::Device apply_common_options(const CommonOptions& opts);

// Prints result as one JSON object (--json) or as "key: value" lines.
void emit(const nlohmann::json& result, const CommonOptions& opts);

// Best wall-clock seconds of `reps` runs after one warm-up run.
double best_seconds(int reps, const std::function<void()>& fn);

}  // namespace rebasin::cli
