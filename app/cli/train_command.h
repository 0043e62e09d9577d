// rebasin train: trains a built-in architecture on a data set and writes it as safetensors.
#pragma once

#include <CLI/CLI.hpp>

namespace rebasin::cli {

void add_train_command(CLI::App& app);

}  // namespace rebasin::cli
