// --data, --normalize and --data-dir, shared by every command that reads a data set.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "data/dataset.h"
#include "nn/architecture.h"

namespace rebasin::cli {

struct DataCliOptions {
  std::string data;
  std::string normalize;  // "MEAN,STD"
  std::string data_dir;
};

void add_data_options(CLI::App* cmd, DataCliOptions& opts, bool required);

// Parses --normalize (UserError when malformed) and fills DataOptions.
data::DataOptions to_data_options(const DataCliOptions& opts, std::uint64_t seed);

}  // namespace rebasin::cli
