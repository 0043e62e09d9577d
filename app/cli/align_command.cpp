#include "align_command.h"

#include <cmath>
#include <iostream>
#include <memory>

#include "align_options.h"
#include "cli_common.h"
#include "data_options.h"
#include "jobs/align_job.h"

namespace rebasin::cli {
namespace {

struct AlignCommandOptions {
  CommonOptions common;
  AlignCliOptions align;
  jobs::AlignJobOptions job;  // models, data, evaluation and outputs straight from the flags
  bool no_bn_reset = false;
};

void run_align(AlignCommandOptions& o) {
  apply_common_options(o.common);
  jobs::AlignJobOptions job = o.job;
  job.align = to_align_options(o.align, o.common.seed);
  job.eval.bn_reset = !o.no_bn_reset;
  job.device = o.common.device;
  CliSink sink(o.common.json);
  const jobs::AlignReport r = jobs::run_align(job, sink).report;
  if (!r.curves.empty() && !o.common.json)
    std::cerr << "loss barrier (" << r.split << ", " << job.eval.points << " points): naive " << r.barrier("naive")
              << ", aligned " << r.barrier("aligned")
              << (std::isnan(r.barrier("repaired")) ? std::string() : ", aligned with REPAIR " + std::to_string(r.barrier("repaired")))
              << std::endl;
  nlohmann::json result = r.to_json();
  // The curves' numbers only in JSON (the text output stays one line per field).
  if (!o.common.json) result.erase("curves");
  emit(result, o.common);
}

}  // namespace

void add_align_command(CLI::App& app) {
  auto o = std::make_shared<AlignCommandOptions>();
  jobs::AlignJobOptions& j = o->job;
  CLI::App* cmd = app.add_subcommand("align", "Align model B to model A by permuting B's hidden units");
  cmd->add_option("A", j.models.a, "Reference model (safetensors, .pt/.pth/.ckpt, TorchScript)")->required();
  cmd->add_option("B", j.models.b, "Model to align to A")->required();
  cmd->add_option("--arch", j.models.arch, arch_help("the path of a TorchScript model of the same network, or auto (detected from the tensors' names and shapes; a TorchScript A is its own architecture)"))->capture_default_str();
  add_residual_option(cmd, j.models.residual);
  cmd->add_option("--key", j.models.key, "torch.save checkpoints: take the state dict under this top-level key (e.g. ema)");
  add_align_options(cmd, o->align);
  add_data_options(cmd, j.data, false, /*with_input=*/true);
  cmd->add_option("--split", j.eval.split, "Split the barriers are measured on")->check(CLI::IsMember({"test", "train"}))->capture_default_str();
  cmd->add_option("--points", j.eval.points, "Lambda points of the barrier curves")->check(CLI::Range(2, 1001))->capture_default_str();
  cmd->add_flag("--no-bn-reset", o->no_bn_reset, "Keep interpolated BatchNorm statistics instead of recomputing them");
  cmd->add_flag("--repair", j.eval.repair, "Also measure the aligned barrier with REPAIR at every point (barrier.repaired; needs --data)");
  cmd->add_option("--out", j.out, "Write aligned B here (safetensors, under B's tensor names)");
  cmd->add_option("--perm-out", j.perm_out, "Write the permutations here (JSON)");
  add_common_options(cmd, o->common);
  cmd->callback([o] { run_align(*o); });
}

}  // namespace rebasin::cli
