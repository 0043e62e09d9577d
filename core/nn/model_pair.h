// Models A and B as every two-model command loads them: both checkpoints read (any format),
// mapped onto one architecture (ARCH, or auto: the ARCH recorded in A's safetensors metadata by
// rebasin train, else detected from shapes; A's choice applies to B), and checked to have
// the same layout, so mismatched models fail naming the first tensor that differs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/named_tensor.h"
#include "data/dataset.h"
#include "io/checkpoint.h"
#include "nn/architecture.h"

namespace rebasin::nn {

struct ModelPair {
  std::unique_ptr<nn::Architecture> arch;
  NamedTensors a, b;                   // spec names and order
  io::Checkpoint b_file;               // B as stored: its names and dtypes, for writing B back
  std::vector<std::string> b_names;    // stored name of each spec entry ("" when absent)
  std::vector<std::string> notes;      // which entry of a nested checkpoint was taken (io::nesting_note)
  // What `rebasin train` recorded in each file's metadata (empty when not recorded): the data
  // set trained on, and the test accuracy reached (a fraction, as text).
  std::string a_data, b_data, a_accuracy, b_accuracy;
};

// `key` (torch.save files, both models) takes the state dict under that top-level key
// (io::load_checkpoint). `residual` ("shared" | "identity", "" to keep the architecture's):
// a built-in transformer's residual stream permuted as one group or left as it is
// (with_residual; UserError for other architectures).
ModelPair load_model_pair(const std::string& a_path, const std::string& b_path, const std::string& arch,
                          const nn::ModelIO& io, const std::string& key = {}, const std::string& residual = {});

// B's aligned parameters under B's original tensor names and dtypes, in B's file order
// (tensors the spec does not cover are kept as they were).
NamedTensors as_stored(const ModelPair& pair, const NamedTensors& b_params);
// The same for any model: `params` (spec order) under the names and dtypes of `file`, whose
// stored name for each spec entry is stored_names[i].
NamedTensors as_stored(const io::Checkpoint& file, const std::vector<std::string>& stored_names,
                       const NamedTensors& params);

// N models (merge): all mapped onto the architecture the first was mapped onto, as B is in a
// pair; the first model's file and names are kept for writing a result under them.
struct ModelSet {
  std::unique_ptr<nn::Architecture> arch;
  std::vector<NamedTensors> models;    // spec names and order
  io::Checkpoint first_file;
  std::vector<std::string> first_names;
  std::vector<std::string> notes;
};
ModelSet load_model_set(const std::vector<std::string>& paths, const std::string& arch, const nn::ModelIO& io,
                        const std::string& key = {}, const std::string& residual = {});

// Both models' tensors moved to `device`.
void move_to(ModelPair& pair, const c10::Device& device);
// Every model's tensors moved to `device`.
void move_to(ModelSet& set, const c10::Device& device);

// The model's input shape and outputs as a data set gives them.
ModelIO model_io(const data::Dataset& set);

// `arch` unless it is "auto" and the checkpoint is a safetensors file whose metadata records the
// ARCH rebasin train wrote (shapes cannot tell relu from tanh, nor a custom VGG's pools).
std::string recorded_arch(const io::Checkpoint& ck, const std::string& arch);

}  // namespace rebasin::nn
