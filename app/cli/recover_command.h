// rebasin recover: hide a random permutation in a random model and find it again.
#pragma once

#include <CLI/CLI.hpp>

namespace rebasin::cli {

void add_recover_command(CLI::App& app);

}  // namespace rebasin::cli
