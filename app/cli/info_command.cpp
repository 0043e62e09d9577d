#include "info_command.h"

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "cli_common.h"
#include "common/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "nn/graph/graph_architecture.h"
#include "nn/mapping.h"
#include "nn/model_pair.h"

namespace rebasin::cli {
namespace {

struct InfoOptions {
  CommonOptions common;  // only --json applies: info computes nothing
  std::string file, key;
};

std::string shape_text(const at::Tensor& t) {
  std::ostringstream s;
  s << "[";
  for (int64_t d = 0; d < t.dim(); ++d) s << (d ? ", " : "") << t.size(d);
  s << "]";
  return s.str();
}

// A TorchScript model's derived spec: every group (size, head structure, tensors touched) and
// every dropped one with its reason.
nlohmann::json graph_groups(const nn::Architecture& arch, const nn::graph::GraphReport& r) {
  nlohmann::json groups = nlohmann::json::array();
  const auto& spec = arch.spec();
  for (std::size_t g = 0; g < spec.groups().size(); ++g) {
    const nn::Group& gr = spec.groups()[g];
    nlohmann::json params = nlohmann::json::array();
    for (const auto& ps : spec.params())
      for (const auto& axis : ps.axes)
        for (const auto& tie : axis)
          if (tie.group == static_cast<int>(g) && (params.empty() || params.back() != ps.name)) params.push_back(ps.name);
    nlohmann::json j = {{"name", gr.name}, {"size", gr.size}, {"params", params}};
    if (gr.blocks > 1) {
      j["heads"] = gr.blocks;
      j["head_size"] = gr.size / gr.blocks;
      if (gr.link >= 0) j["heads_shared_with"] = spec.groups()[gr.link].name;
    }
    groups.push_back(j);
  }
  nlohmann::json dropped = nlohmann::json::array();
  for (const auto& d : r.dropped)
    dropped.push_back({{"name", d.name}, {"size", d.size}, {"params", d.params}, {"reason", d.reason}});
  return {{"input", {{"shape", r.input_shape}, {"dtype", r.token_input ? "int64" : "float32"}}},
          {"groups", groups},
          {"dropped", dropped},
          {"constant_buffers", r.constant_buffers},
          {"seconds", r.seconds}};
}

void print_graph_groups(const nlohmann::json& j) {
  std::cout << "input: " << j["input"]["dtype"].get<std::string>() << " [";
  for (std::size_t i = 0; i < j["input"]["shape"].size(); ++i) std::cout << (i ? ", " : "") << j["input"]["shape"][i];
  std::cout << "] per sample\n" << j["groups"].size() << " permutation groups (derived from the graph, each verified):\n";
  for (const auto& g : j["groups"]) {
    std::cout << "  " << g["name"].get<std::string>() << "  " << g["size"];
    if (g.contains("heads"))
      std::cout << " (" << g["heads"] << " heads x " << g["head_size"]
                << (g.contains("heads_shared_with") ? ", head order of " + g["heads_shared_with"].get<std::string>() : "")
                << ")";
    std::cout << "  " << g["params"].size() << " tensors\n";
  }
  std::cout << j["dropped"].size() << " dropped" << (j["dropped"].empty() ? "" : ":") << "\n";
  for (const auto& d : j["dropped"])
    std::cout << "  " << d["name"].get<std::string>() << "  " << d["size"] << "  " << d["reason"].get<std::string>() << "\n";
  if (!j["constant_buffers"].empty()) {
    std::cout << j["constant_buffers"].size() << " buffers held fixed (the model never updates them; never permuted):";
    for (const auto& b : j["constant_buffers"]) std::cout << " " << b.get<std::string>();
    std::cout << "\n";
  }
  std::cout << "derived and verified in " << j["seconds"].get<double>() << " s\n";
}

void run_info(const InfoOptions& o) {
  const io::Checkpoint ck = io::load_checkpoint(o.file, o.key);
  nlohmann::json graph;
  if (ck.format == "torchscript") {
    const auto arch = nn::graph::make_graph_architecture(o.file);
    graph = graph_groups(*arch, *nn::graph::graph_report(*arch));
  }
  int64_t total = 0;
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& [name, t] : ck.tensors) {
    tensors.push_back({{"name", name}, {"shape", t.sizes().vec()}, {"dtype", io::dtype_code(t.scalar_type())}});
    total += t.numel();
  }
  // What --arch auto would pick - the ARCH rebasin train recorded, else one detected from the
  // tensors; null when the shapes fit no built-in (or several).
  std::string arch = nn::recorded_arch(ck, "auto");
  if (arch == "auto") {
    arch = nn::detect_architecture(ck.tensors);
  } else {
    try {
      arch = nn::map_checkpoint(ck.tensors, arch).arch->name();
    } catch (const UserError&) {
      arch = nn::detect_architecture(ck.tensors);
    }
  }
  if (o.common.json) {
    emit({{"format", ck.format},
          {"nesting", ck.nesting},
          {"entries", ck.entries},
          {"tensors", tensors},
          {"parameters", total},
          {"architecture", arch.empty() ? nlohmann::json(nullptr) : nlohmann::json(arch)},
          {"graph", graph}},
         o.common);
    return;
  }
  std::cout << o.file << ": " << ck.format
            << (ck.nesting.empty() ? "" : " (state dict under \"" + ck.nesting + "\")") << "\n";
  if (const std::string note = io::nesting_note(o.file, ck); !note.empty()) std::cout << note << "\n";
  for (const auto& [name, t] : ck.tensors)
    std::cout << "  " << name << "  " << shape_text(t) << "  " << io::dtype_code(t.scalar_type()) << "\n";
  std::cout << ck.tensors.size() << " tensors, " << total << " parameters; architecture: "
            << (arch.empty() ? (graph.is_null() ? "not recognised (pass --arch)" : "its TorchScript graph") : arch)
            << std::endl;
  if (!graph.is_null()) print_graph_groups(graph);
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "info", "List a checkpoint's tensors (safetensors, torch.save .pt/.pth/.ckpt, TorchScript)");
  cmd->add_option("FILE", o->file, "Checkpoint file (format detected from its content)")->required();
  cmd->add_option("--key", o->key, "torch.save checkpoints: take the state dict under this top-level key (e.g. ema)");
  cmd->add_flag("--json", o->common.json, "Print one JSON object on stdout and nothing else there");
  cmd->callback([o] { run_info(*o); });
}

}  // namespace rebasin::cli
