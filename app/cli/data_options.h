// --data, --normalize and --data-dir, shared by every command that reads a data set.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "data/dataset.h"
#include "jobs/inputs.h"
#include "nn/architecture.h"

namespace rebasin::cli {

// The data flags fill the jobs layer's DataInput directly (core/jobs/inputs.h).
using DataCliOptions = jobs::DataInput;

// with_input: also --input C,H,W (commands that run a given model on the data).
void add_data_options(CLI::App* cmd, DataCliOptions& opts, bool required, bool with_input = false);

// load_dataset with --normalize and --data-dir applied, then --input when given.
data::Splits load_cli_data(const DataCliOptions& opts, std::uint64_t seed);

// check_data_fits, its message pointing at --input when the shapes differ and none was given.
void check_cli_data_fits(const nn::Architecture& arch, const data::Dataset& set, const DataCliOptions& opts);

// Parses --normalize (UserError when malformed) and fills DataOptions.
data::DataOptions to_data_options(const DataCliOptions& opts, std::uint64_t seed);

}  // namespace rebasin::cli
