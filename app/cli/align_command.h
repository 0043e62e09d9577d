// rebasin align: finds the permutations that bring model B into model A's basin, reports the
// loss barriers before and after, and writes the aligned B and the permutations.
#pragma once

#include <CLI/CLI.hpp>

namespace rebasin::cli {

void add_align_command(CLI::App& app);

}  // namespace rebasin::cli
