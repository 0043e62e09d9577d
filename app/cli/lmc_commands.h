// `rebasin interpolate` (loss and accuracy along the line from model A to (aligned) model B,
// with its barrier) and `rebasin landscape` (loss over the plane through A, B and aligned B):
// the linear mode connectivity measurements of METHOD.md section 7.
#pragma once

#include <CLI/CLI.hpp>

namespace rebasin::cli {

void add_lmc_commands(CLI::App& app);

}  // namespace rebasin::cli
