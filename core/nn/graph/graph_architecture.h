// Any PyTorch model as an Architecture: a TorchScript archive (torch.jit.script or
// torch.jit.trace, then torch.jit.save) is run as a function of its tensors (program.h), and
// its permutation spec is derived from the graph and verified (derive.h). The ARCH string is
// the archive's path. No torch::jit in this header: the CLI and the studio include it.
#pragma once

#include <memory>
#include <string>

#include "common/named_tensor.h"
#include "nn/architecture.h"
#include "nn/graph/report.h"

namespace rebasin::nn::graph {

// True when `path` is an existing TorchScript archive (cheap: reads the zip directory).
bool is_torchscript_file(const std::string& path);

// Loads, picks the input shape (io's first when the model runs on it, else one read from the
// first layer: channels for a convolution, features for a linear layer, token ids below the
// vocabulary for an embedding), derives and verifies the spec. UserError (one line) when the
// file is not TorchScript or the model cannot be run.
std::unique_ptr<Architecture> make_graph_architecture(const std::string& path, const ModelIO& io = {});

// What the derivation found, or nullptr for a built-in architecture.
const GraphReport* graph_report(const Architecture& arch);

// True for a buffer of a graph architecture that its model never updates (report.h).
bool is_constant_buffer(const Architecture& arch, const std::string& name);

// A checkpoint's tensors matched to a graph architecture's by name (a common "module." or
// "model." prefix of the checkpoint is ignored), converted to the model's dtypes. stored_names
// gets the checkpoint's name of each spec entry (empty for a constant buffer the checkpoint does
// not carry: the archive's value is used, and never written). UserError naming the first tensor that is
// missing or has another shape.
NamedTensors map_by_name(const NamedTensors& stored, const Architecture& arch, std::vector<std::string>* stored_names);

}  // namespace rebasin::nn::graph
