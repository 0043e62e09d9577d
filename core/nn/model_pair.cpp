#include "nn/model_pair.h"

#include <ATen/ATen.h>

#include <map>

#include "common/error.h"
#include "nn/graph/graph_architecture.h"
#include "nn/mapping.h"

namespace rebasin::nn {

std::string recorded_arch(const io::Checkpoint& ck, const std::string& arch) {
  if (arch != "auto") return arch;
  const auto it = ck.metadata.find("arch");
  return it == ck.metadata.end() ? arch : it->second;
}

ModelPair load_model_pair(const std::string& a_path, const std::string& b_path, const std::string& arch,
                          const nn::ModelIO& io, const std::string& key, const std::string& residual) {
  ModelPair p;
  const io::Checkpoint a_file = io::load_checkpoint(a_path, key);
  // A TorchScript A under --arch auto is its own architecture (the spec derived from its graph).
  const std::string a_arch = arch == "auto" && graph::is_torchscript_file(a_path) ? a_path
                                                                                 : recorded_arch(a_file, arch);
  nn::MappedModel ma = nn::map_checkpoint(a_file.tensors, a_arch, io);
  if (!residual.empty()) ma = nn::map_checkpoint(a_file.tensors, with_residual(ma.arch->name(), residual), ma.arch->io());
  p.b_file = io::load_checkpoint(b_path, key);
  for (const auto& [path, ck] : {std::pair<const std::string&, const io::Checkpoint&>{a_path, a_file}, {b_path, p.b_file}})
    if (const std::string note = io::nesting_note(path, ck); !note.empty()) p.notes.push_back(note);
  // B must fit the architecture A was mapped onto (not a second auto-detection); a graph
  // model is not derived twice: B's tensors are matched to it by name.
  const auto recorded = [](const io::Checkpoint& ck, const char* key) {
    const auto it = ck.metadata.find(key);
    return it == ck.metadata.end() ? std::string() : it->second;
  };
  p.a_data = recorded(a_file, "data"), p.b_data = recorded(p.b_file, "data");
  p.a_accuracy = recorded(a_file, "test_accuracy"), p.b_accuracy = recorded(p.b_file, "test_accuracy");
  nn::MappedModel mb;
  mb.params = nn::bind_checkpoint(p.b_file.tensors, *ma.arch, &mb.stored_names);
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

void move_to(ModelSet& set, const c10::Device& device) {
  for (auto& m : set.models)
    for (auto& t : m) t.tensor = t.tensor.to(device);
}

ModelIO model_io(const data::Dataset& set) {
  ModelIO io;
  io.input_shape = std::vector<std::int64_t>(set.inputs.sizes().begin() + 1, set.inputs.sizes().end());
  io.outputs = set.is_regression() ? 1 : set.num_classes;
  return io;
}

NamedTensors as_stored(const ModelPair& pair, const NamedTensors& b_params) {
  return as_stored(pair.b_file, pair.b_names, b_params);
}

NamedTensors as_stored(const io::Checkpoint& file, const std::vector<std::string>& stored_names,
                       const NamedTensors& params) {
  std::map<std::string, at::Tensor> by_stored_name;
  for (std::size_t i = 0; i < params.size(); ++i)
    if (!stored_names[i].empty()) by_stored_name[stored_names[i]] = params[i].tensor;
  NamedTensors out;
  for (const auto& [name, original] : file.tensors) {
    auto it = by_stored_name.find(name);
    out.push_back({name, it == by_stored_name.end() ? original : it->second.detach().to(at::kCPU, original.scalar_type())});
  }
  return out;
}

ModelSet load_model_set(const std::vector<std::string>& paths, const std::string& arch, const nn::ModelIO& io,
                        const std::string& key, const std::string& residual) {
  require(!paths.empty(), "no models given");
  ModelSet set;
  // The first two as a pair: the same architecture choice and checks as every two-model command.
  const std::string& second = paths.size() > 1 ? paths[1] : paths[0];
  ModelPair pair = load_model_pair(paths[0], second, arch, io, key, residual);
  set.first_file = io::load_checkpoint(paths[0], key);
  bind_checkpoint(set.first_file.tensors, *pair.arch, &set.first_names);
  set.notes = pair.notes;
  set.models.push_back(std::move(pair.a));
  if (paths.size() > 1) set.models.push_back(std::move(pair.b));
  for (std::size_t i = 2; i < paths.size(); ++i) {
    const io::Checkpoint file = io::load_checkpoint(paths[i], key);
    if (const std::string note = io::nesting_note(paths[i], file); !note.empty()) set.notes.push_back(note);
    NamedTensors params = bind_checkpoint(file.tensors, *pair.arch, nullptr);
    check_same_layout(set.models.front(), params);
    set.models.push_back(std::move(params));
  }
  set.arch = std::move(pair.arch);
  return set;
}

}  // namespace rebasin::nn
