#include "info_command.h"

#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "cli_common.h"
#include "common/parse.h"
#include "jobs/inspect_job.h"

namespace rebasin::cli {
namespace {

struct InfoOptions {
  CommonOptions common;  // only --json applies: info computes nothing
  jobs::InspectOptions inspect;
};

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::ostringstream s;
  s << "[";
  for (std::size_t d = 0; d < shape.size(); ++d) s << (d ? ", " : "") << shape[d];
  s << "]";
  return s.str();
}

// A TorchScript model's derived spec: every group (size, head structure, tensors touched), every
// dropped one with its reason, the buffers held fixed.
void print_graph(const jobs::InspectReport& r) {
  std::cout << "input: " << r.input_dtype << " " << shape_text(r.input_shape) << " per sample\n"
            << r.groups.size() << " permutation groups (derived from the graph, each verified):\n";
  for (const auto& g : r.groups) {
    std::cout << "  " << g.name << "  " << g.size;
    if (g.heads > 1)
      std::cout << " (" << g.heads << " heads x " << g.size / g.heads
                << (g.heads_shared_with.empty() ? "" : ", head order of " + g.heads_shared_with) << ")";
    std::cout << "  " << g.params.size() << " tensors\n";
  }
  std::cout << r.dropped.size() << " dropped" << (r.dropped.empty() ? "" : ":") << "\n";
  for (const auto& d : r.dropped) std::cout << "  " << d.name << "  " << d.size << "  " << d.reason << "\n";
  if (!r.constant_buffers.empty()) {
    std::cout << r.constant_buffers.size() << " buffers held fixed (the model never updates them; never permuted):";
    for (const auto& b : r.constant_buffers) std::cout << " " << b;
    std::cout << "\n";
  }
  std::cout << "derived and verified in " << r.seconds << " s\n";
}

void run_info(const InfoOptions& o) {
  const jobs::InspectReport r = jobs::run_inspect(o.inspect);
  if (o.common.json) {
    emit(r.to_json(), o.common);
    return;
  }
  std::cout << o.inspect.file << ": " << r.format << (r.nesting.empty() ? "" : " (state dict under \"" + r.nesting + "\")") << "\n";
  if (!r.note.empty()) std::cout << r.note << "\n";
  if (!r.trained_data.empty()) {
    char percent[32] = "";
    if (const auto accuracy = parse_number(r.trained_accuracy))
      std::snprintf(percent, sizeof percent, ", test accuracy %.2f%%", 100 * *accuracy);
    std::cout << "trained on " << r.trained_data << percent << " (its metadata)\n";
  }
  for (const auto& t : r.tensors) std::cout << "  " << t.name << "  " << shape_text(t.shape) << "  " << t.dtype << "\n";
  std::cout << r.tensors.size() << " tensors, " << r.parameters << " parameters; architecture: "
            << (!r.architecture.empty() ? r.architecture : r.graph ? "its TorchScript graph" : "not recognised (pass --arch)")
            << std::endl;
  if (r.graph) {
    print_graph(r);
  } else if (!r.groups.empty()) {
    std::cout << r.groups.size() << " permutation groups:";
    for (const auto& g : r.groups) std::cout << " " << g.name << " " << g.size << (g.heads > 1 ? " (" + std::to_string(g.heads) + " heads)" : "");
    std::cout << "\n";
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "info", "List a checkpoint's tensors (safetensors, torch.save .pt/.pth/.ckpt, TorchScript)");
  cmd->add_option("FILE", o->inspect.file, "Checkpoint file (format detected from its content)")->required();
  cmd->add_option("--arch", o->inspect.arch,
                  arch_help("the path of a TorchScript model of the same network (its groups are read through it), or auto"))
      ->capture_default_str();
  cmd->add_option("--key", o->inspect.key, "torch.save checkpoints: take the state dict under this top-level key (e.g. ema)");
  cmd->add_flag("--json", o->common.json, "Print one JSON object on stdout and nothing else there");
  cmd->callback([o] { run_info(*o); });
}

}  // namespace rebasin::cli
