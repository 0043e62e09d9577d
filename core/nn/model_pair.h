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
};

// `key` (torch.save files, both models) takes the state dict under that top-level key
// (io::load_checkpoint).
ModelPair load_model_pair(const std::string& a_path, const std::string& b_path, const std::string& arch,
                          const nn::ModelIO& io, const std::string& key = {});

// B's aligned parameters under B's original tensor names and dtypes, in B's file order
// (tensors the spec does not cover are kept as they were).
NamedTensors as_stored(const ModelPair& pair, const NamedTensors& b_params);

// Both models' tensors moved to `device`.
void move_to(ModelPair& pair, const c10::Device& device);

// The model's input shape and outputs as a data set gives them.
ModelIO model_io(const data::Dataset& set);

// `arch` unless it is "auto" and `path` is a safetensors file whose metadata records the ARCH
// rebasin train wrote (shapes cannot tell relu from tanh, nor a custom VGG's pools).
std::string recorded_arch(const std::string& path, const io::Checkpoint& ck, const std::string& arch);

}  // namespace rebasin::nn
