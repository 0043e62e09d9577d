#include "merge_command.h"

#include <cmath>
#include <memory>
#include <sstream>

#include "align_options.h"
#include "cli_common.h"
#include "common/error.h"
#include "data_options.h"
#include "jobs/merge_job.h"

namespace rebasin::cli {
namespace {

struct MergeCommandOptions {
  CommonOptions common;
  AlignCliOptions align;
  jobs::MergeJobOptions job;  // models, data, frame, REPAIR, barriers, --out straight from the flags
  std::string weights;
  bool no_cycle_check = false;
};

std::vector<double> parse_weights(const std::string& text) {
  std::vector<double> out;
  if (text.empty()) return out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    require(used > 0 && used == item.size() && std::isfinite(v),
            "--weights expects finite numbers separated by commas (e.g. 0.5,0.25,0.25), got '" + text + "'");
    out.push_back(v);
  }
  require(!text.empty() && text.back() != ',', "--weights expects finite numbers separated by commas, got '" + text + "'");
  return out;
}

void run_merge(MergeCommandOptions& o) {
  apply_common_options(o.common);
  jobs::MergeJobOptions job = o.job;
  job.align = to_align_options(o.align, o.common.seed);
  job.weights = parse_weights(o.weights);
  job.cycle_check = !o.no_cycle_check;
  job.device = o.common.device;
  CliSink sink(o.common.json);
  emit(jobs::run_merge(job, sink).report.to_json(), o.common);
}

}  // namespace

void add_merge_command(CLI::App& app) {
  auto o = std::make_shared<MergeCommandOptions>();
  o->align.method = "weight";
  jobs::MergeJobOptions& j = o->job;
  CLI::App* cmd = app.add_subcommand("merge", "Align N models into one frame and average them into one checkpoint");
  cmd->add_option("MODELS", j.models, "Two or more models of one architecture; the first is the reference and names the output's tensors")->required();
  cmd->add_option("--arch", j.arch, arch_help("a TorchScript model's path, or auto"))->capture_default_str();
  add_residual_option(cmd, j.residual);
  cmd->add_option("--key", j.key, "torch.save checkpoints: take the state dict under this top-level key (e.g. ema)");
  add_align_options(cmd, o->align);
  cmd->add_option("--to", j.to, "Frame: first (each model aligned to the first), universe (C2M3: all models jointly, cycle-consistent, by Frank-Wolfe) or universe-sinkhorn (the same by Sinkhorn re-basin over all models' soft plans together)")
      ->check(CLI::IsMember({"first", "universe", "universe-sinkhorn"}))
      ->capture_default_str();
  cmd->add_option("--weights", o->weights, "Averaging weights w1,w2,... (one per model, >= 0; normalised to sum 1; default equal)");
  cmd->add_option("--universe-steps", j.universe_steps, "Frank-Wolfe iterations (--to universe) or Sinkhorn steps (--to universe-sinkhorn) at most")->check(CLI::Range(0, 100000))->capture_default_str();
  cmd->add_flag("--repair", j.repair, "REPAIR the average: rescale every unit's statistics to the weighted average of the models' (training data)");
  cmd->add_option("--repair-samples", j.repair_samples, "Training samples REPAIR measures statistics on")->check(CLI::Range(2, 1 << 24))->capture_default_str();
  cmd->add_flag("--barriers", j.barriers, "Also measure the loss barrier of every pair of models before alignment and in the merge's frame (test split; N(N-1) interpolation curves)");
  cmd->add_option("--points", j.points, "Lambda points per pair for --barriers")->check(CLI::Range(3, 1001))->capture_default_str();
  cmd->add_flag("--no-cycle-check", o->no_cycle_check, "Skip the independent pairwise alignments behind cycle_error.pairwise (N >= 3)");
  add_data_options(cmd, j.data, true);
  cmd->add_option("--out", j.out, "Write the merged model here (safetensors, under the first model's tensor names)")->required();
  add_common_options(cmd, o->common);
  cmd->callback([o] { run_merge(*o); });
}

}  // namespace rebasin::cli
