// `rebasin info FILE [--json]`: what a checkpoint holds (format, where the state dict was found,
// each tensor's name, shape and dtype).
#pragma once

#include <CLI/CLI.hpp>

namespace rebasin::cli {

void add_info_command(CLI::App& app);

}  // namespace rebasin::cli
