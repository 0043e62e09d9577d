// rebasin merge: aligns N models into one frame (star or universe), averages them with
// weights (optionally REPAIRed), writes the merged checkpoint and reports it beside the
// endpoints, their ensemble and the naive average.
#pragma once

#include <CLI/CLI.hpp>

namespace rebasin::cli {

void add_merge_command(CLI::App& app);

}  // namespace rebasin::cli
