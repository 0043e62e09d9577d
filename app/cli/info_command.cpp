#include "info_command.h"

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "cli_common.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "nn/mapping.h"

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

void run_info(const InfoOptions& o) {
  const io::Checkpoint ck = io::load_checkpoint(o.file, o.key);
  int64_t total = 0;
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& [name, t] : ck.tensors) {
    tensors.push_back({{"name", name}, {"shape", t.sizes().vec()}, {"dtype", io::dtype_code(t.scalar_type())}});
    total += t.numel();
  }
  // What --arch auto would pick; null when the shapes fit no built-in (or several).
  const std::string arch = nn::detect_architecture(ck.tensors);
  if (o.common.json) {
    emit({{"format", ck.format},
          {"nesting", ck.nesting},
          {"entries", ck.entries},
          {"tensors", tensors},
          {"parameters", total},
          {"architecture", arch.empty() ? nlohmann::json(nullptr) : nlohmann::json(arch)}},
         o.common);
    return;
  }
  std::cout << o.file << ": " << ck.format
            << (ck.nesting.empty() ? "" : " (state dict under \"" + ck.nesting + "\")") << "\n";
  if (const std::string note = io::nesting_note(o.file, ck); !note.empty()) std::cout << note << "\n";
  for (const auto& [name, t] : ck.tensors)
    std::cout << "  " << name << "  " << shape_text(t) << "  " << io::dtype_code(t.scalar_type()) << "\n";
  std::cout << ck.tensors.size() << " tensors, " << total << " parameters; architecture: "
            << (arch.empty() ? "not recognised (pass --arch)" : arch) << std::endl;
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
