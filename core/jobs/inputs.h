// What every job reads, resolved once and in one place for the CLI and the studio alike: the
// models (files, architecture, --key, --residual), the data (name, --normalize, --data-dir,
// --input resizing, checked against the models) and the output paths (checked before any
// computing, so a long run cannot fail only at its end).
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"
#include "nn/architecture.h"
#include "nn/model_pair.h"

namespace rebasin::jobs {

struct ModelsInput {
  std::string a, b;
  std::string arch = "auto";  // a built-in ARCH, a TorchScript file, or auto
  std::string key;            // torch.save checkpoints: the state dict under this top-level key
  std::string residual;       // built-in transformers: shared | identity (empty: the default)
};

struct DataInput {
  std::string data;       // empty: no data
  std::string normalize;  // "MEAN,STD" (empty: none)
  std::string data_dir;   // empty: $REBASIN_DATA_DIR, then the installed places
  std::string input;      // "C,H,W": resize / replicate channels to the model's input (empty: as stored)
  bool given() const { return !data.empty(); }
};

// --normalize parsed (UserError when malformed) into DataOptions.
data::DataOptions data_options(const DataInput& in, std::uint64_t seed);
// load_dataset with normalize and data_dir applied, then the resizing to `input`.
data::Splits load_data(const DataInput& in, std::uint64_t seed);
// train::check_data_fits, its message pointing at --input when the image shapes differ.
void check_data_fits(const nn::Architecture& arch, const data::Dataset& set, const DataInput& in);

// Warnings (one line each, empty when none) where the data contradicts what `rebasin train`
// recorded in a model's metadata: a model evaluated on another data set than it was trained on
// measures chance-level accuracy and meaningless barriers.
std::vector<std::string> recorded_data_warnings(const nn::ModelPair& pair, const DataInput& in);

// Warnings where a model's measured accuracy at its own end of the line (the test split of the
// data it was trained on) differs by more than 2 points from the test accuracy `rebasin train`
// recorded: the model is not read as it was trained (another --normalize, --input, --key or
// architecture). a_accuracy, b_accuracy: measured at lambda 0 and 1; NaN skips.
std::vector<std::string> recorded_accuracy_warnings(const nn::ModelPair& pair, const DataInput& in,
                                                    const std::string& split, double a_accuracy, double b_accuracy);

// Both models as one architecture's parameter sets (nn::load_model_pair), with `io` from data.
nn::ModelPair load_models(const ModelsInput& in, const nn::ModelIO& io = {});

// An output path: its folder must exist and it must not be a folder; with `safetensors` it must
// end in .safetensors. Empty passes. `flag` names the option in the message.
void check_output_path(const std::string& path, const std::string& flag, bool safetensors = false);

}  // namespace rebasin::jobs
