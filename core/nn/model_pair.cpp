#include "nn/model_pair.h"

#include <ATen/ATen.h>

#include <map>

#include "io/safetensors.h"
#include "nn/graph/graph_architecture.h"
#include "nn/mapping.h"

namespace rebasin::nn {

std::string recorded_arch(const std::string& path, const io::Checkpoint& ck, const std::string& arch) {
  if (arch != "auto" || ck.format != "safetensors") return arch;
  const auto meta = io::read_safetensors(path).metadata;
  const auto it = meta.find("arch");
  return it == meta.end() ? arch : it->second;
}

ModelPair load_model_pair(const std::string& a_path, const std::string& b_path, const std::string& arch,
                          const nn::ModelIO& io, const std::string& key) {
  ModelPair p;
  const io::Checkpoint a_file = io::load_checkpoint(a_path, key);
  // A TorchScript A under --arch auto is its own architecture (the spec derived from its graph).
  const std::string a_arch = arch == "auto" && graph::is_torchscript_file(a_path) ? a_path
                                                                                 : recorded_arch(a_path, a_file, arch);
  nn::MappedModel ma = nn::map_checkpoint(a_file.tensors, a_arch, io);
  p.b_file = io::load_checkpoint(b_path, key);
  for (const auto& [path, ck] : {std::pair<const std::string&, const io::Checkpoint&>{a_path, a_file}, {b_path, p.b_file}})
    if (const std::string note = io::nesting_note(path, ck); !note.empty()) p.notes.push_back(note);
  // B must fit the architecture A was mapped onto (not a second auto-detection); a graph
  // model is not derived twice: B's tensors are matched to it by name.
  nn::MappedModel mb;
  if (graph::graph_report(*ma.arch)) {
    mb.params = graph::map_by_name(p.b_file.tensors, *ma.arch, &mb.stored_names);
  } else {
    mb = nn::map_checkpoint(p.b_file.tensors, ma.arch->name(), ma.arch->io());
  }
  nn::check_same_layout(ma.params, mb.params);
  p.arch = std::move(ma.arch);
  p.a = std::move(ma.params);
  p.b = std::move(mb.params);
  p.b_names = std::move(mb.stored_names);
  return p;
}

void move_to(ModelPair& pair, const c10::Device& device) {
  for (NamedTensors* set : {&pair.a, &pair.b})
    for (auto& t : *set) t.tensor = t.tensor.to(device);
}

ModelIO model_io(const data::Dataset& set) {
  ModelIO io;
  io.input_shape = std::vector<std::int64_t>(set.inputs.sizes().begin() + 1, set.inputs.sizes().end());
  io.outputs = set.is_regression() ? 1 : set.num_classes;
  return io;
}

NamedTensors as_stored(const ModelPair& pair, const NamedTensors& b_params) {
  std::map<std::string, at::Tensor> by_stored_name;
  for (std::size_t i = 0; i < b_params.size(); ++i)
    if (!pair.b_names[i].empty()) by_stored_name[pair.b_names[i]] = b_params[i].tensor;
  NamedTensors out;
  for (const auto& [name, original] : pair.b_file.tensors) {
    auto it = by_stored_name.find(name);
    out.push_back({name, it == by_stored_name.end() ? original : it->second.detach().to(at::kCPU, original.scalar_type())});
  }
  return out;
}

}  // namespace rebasin::nn
