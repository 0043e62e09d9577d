// rebasin continual: learn a stream of tasks one after another with re-basin or a baseline and
// report the accuracy matrix (METHOD.md section 9).
#pragma once

#include <CLI/CLI.hpp>

namespace rebasin::cli {

void add_continual_command(CLI::App& app);

}  // namespace rebasin::cli
