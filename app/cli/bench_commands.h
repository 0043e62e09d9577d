// rebasin bench sinkhorn|lap: timings of the numerical core, best of 3 after a warm-up, for
// docs/benchmarks.md and side-by-side runs with ../shared/bench/anchors.py.
#pragma once

#include <CLI/CLI.hpp>

namespace rebasin::cli {

void add_bench_commands(CLI::App& app);

}  // namespace rebasin::cli
