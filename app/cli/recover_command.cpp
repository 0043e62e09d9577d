#include "recover_command.h"

#include <memory>

#include "align_options.h"
#include "cli_common.h"
#include "jobs/recover_job.h"

namespace rebasin::cli {
namespace {

struct RecoverCliOptions {
  CommonOptions common;
  AlignCliOptions align;
  jobs::RecoverJobOptions job;  // arch, residual, input, outputs
};

void run_recover(RecoverCliOptions& o) {
  apply_common_options(o.common);
  jobs::RecoverJobOptions job = o.job;
  job.align = to_align_options(o.align, o.common.seed);
  job.device = o.common.device;
  CliSink sink(o.common.json);
  nlohmann::json out = jobs::run_recover(job, sink).to_json();
  emit(out, o.common);
}

}  // namespace

void add_recover_command(CLI::App& app) {
  auto o = std::make_shared<RecoverCliOptions>();
  o->job.input = "3,32,32";
  CLI::App* cmd = app.add_subcommand(
      "recover", "Hide a random permutation in a random model (seeded) and recover it");
  cmd->add_option("--arch", o->job.arch, arch_help("a TorchScript model's path"))->required();
  add_residual_option(cmd, o->job.residual);
  cmd->add_option("--input", o->job.input, "Input shape C,H,W for convolutional architectures")
      ->check(CLI::TypeValidator<std::string>())
      ->capture_default_str();
  cmd->add_option("--outputs", o->job.outputs, "Outputs of convolutional architectures")->check(CLI::Range(1, 100000))->capture_default_str();
  add_align_options(cmd, o->align);
  add_common_options(cmd, o->common);
  cmd->callback([o] { run_recover(*o); });
}

}  // namespace rebasin::cli
