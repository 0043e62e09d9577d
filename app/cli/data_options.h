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

}  // namespace rebasin::cli
