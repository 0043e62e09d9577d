#include "merge_command.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <sstream>

#include "align/merge.h"
#include "align_options.h"
#include "cli_common.h"
#include "common/error.h"
#include "data_options.h"
#include "eval/barrier_matrix.h"
#include "eval/evaluate.h"
#include "io/safetensors.h"
#include "nn/model_pair.h"
#include "train/train.h"

namespace rebasin::cli {
namespace {

struct MergeCommandOptions {
  CommonOptions common;
  DataCliOptions data;
  AlignCliOptions align;
  std::vector<std::string> models;
  std::string arch = "auto", key, out, to = "first", weights, residual;
  bool repair = false, no_cycle_check = false, barriers = false;
  int universe_steps = 100, points = 9;
  std::int64_t repair_samples = 2000;
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

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
nlohmann::json metrics_json(const eval::Metrics& m) {
  return {{"accuracy", number(m.accuracy)}, {"loss", number(m.loss)}};
}

void run_merge(MergeCommandOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const c10::Device device = apply_common_options(o.common);
  require(o.models.size() >= 2, "merge needs at least 2 models, got " + std::to_string(o.models.size()));
  align::MergeOptions mo;
  mo.align = to_align_options(o.align, o.common.seed);
  mo.target = align::parse_merge_target(o.to);
  // Checked before anything is loaded: a wrong count should not cost a run.
  mo.weights = align::merge_weights(parse_weights(o.weights), o.models.size());
  mo.universe_steps = o.universe_steps;
  mo.repair = o.repair;
  mo.repair_options.samples = o.repair_samples;
  mo.repair_options.seed = o.common.seed;
  check_output_path(o.out, "--out", /*safetensors=*/true);

  data::Splits splits = data::load_dataset(o.data.data, to_data_options(o.data, 0));
  nn::ModelSet set = nn::load_model_set(o.models, o.arch, nn::model_io(splits.train), o.key, o.residual);
  for (const std::string& note : set.notes) std::cerr << "rebasin: note: " << note << std::endl;
  const nn::Architecture& arch = *set.arch;
  train::check_data_fits(arch, splits.train);
  if (o.repair) eval::require_repair_supported(arch);
  nn::move_to(set, device);
  data::to_device(splits, device);
  if (!o.common.json)
    std::cerr << "merging " << o.models.size() << " models (" << arch.name() << ") with " << o.align.method
              << ", to " << o.to << (o.repair ? ", REPAIR" : "") << std::endl;

  const align::MergeResult r = align::merge(arch, set.models, &splits.train, mo);

  // References: every endpoint, their ensemble, and the plain average without alignment.
  const data::Dataset& test = splits.test;
  const align::MergeEvaluation ev = align::evaluate_merge(arch, set.models, r, o.repair, splits.train, test, o.common.seed);
  nlohmann::json endpoints = nlohmann::json::array();
  double acc_sum = 0, loss_sum = 0;
  for (std::size_t i = 0; i < ev.endpoints.size(); ++i) {
    const eval::Metrics& m = ev.endpoints[i];
    endpoints.push_back({{"path", o.models[i]}, {"accuracy", number(m.accuracy)}, {"loss", number(m.loss)}});
    acc_sum += m.accuracy;
    loss_sum += m.loss;
  }
  const double count = static_cast<double>(set.models.size());
  const std::size_t best = ev.best;
  const std::vector<eval::Metrics>& single = ev.endpoints;

  // Independent pairwise alignments (the star's pairs with the first reused) and how far they
  // are from cycle-consistent; the merge's own maps share one frame.
  nlohmann::json cycle = {{"pairwise", nullptr}, {"merge", nullptr}};
  double cycle_seconds = 0;
  if (set.models.size() >= 3) {
    cycle["merge"] = number(align::cycle_error(align::pairwise_from_frame(r.perms)));
    if (!o.no_cycle_check) {
      const auto c0 = std::chrono::steady_clock::now();
      const auto pairwise = align::pairwise_alignments(arch, set.models, &splits.train, mo.align, &r.star);
      cycle["pairwise"] = number(align::cycle_error(pairwise));
      cycle_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
    }
  }

  // Every pair's loss barrier before alignment and in the merge's frame (rebasin-plot merge).
  nlohmann::json barriers = nullptr;
  if (o.barriers) {
    eval::BarrierMatrixOptions bo;
    bo.points = o.points;
    bo.seed = o.common.seed;
    const data::Dataset* bn = arch.has_batchnorm() ? &splits.train : nullptr;
    const auto frame = align::pairwise_from_frame(r.perms);
    auto rows = [&](const std::vector<double>& m) {
      nlohmann::json out = nlohmann::json::array();
      const std::size_t n = set.models.size();
      for (std::size_t i = 0; i < n; ++i) {
        nlohmann::json row = nlohmann::json::array();
        for (std::size_t j = 0; j < n; ++j) row.push_back(number(m[i * n + j]));
        out.push_back(row);
      }
      return out;
    };
    barriers = {{"points", o.points},
                {"split", "test"},
                {"before", rows(eval::pairwise_barriers(arch, set.models, nullptr, test, bn, bo))},
                {"after", rows(eval::pairwise_barriers(arch, set.models, &frame, test, bn, bo))}};
  }

  std::string sources;
  for (const auto& m : o.models) sources += (sources.empty() ? "" : ",") + m;
  io::write_safetensors(o.out, nn::as_stored(set.first_file, set.first_names, r.merged),
                        {{"arch", arch.name()}, {"merged_from", sources}, {"method", o.align.method},
                         {"to", o.to}, {"repair", o.repair ? "true" : "false"}});
  nlohmann::json result = {
      {"arch", arch.name()},
      {"models", o.models},
      {"method", o.align.method},
      {"cost", o.align.cost},
      {"to", o.to},
      {"weights", r.weights},
      {"repair", o.repair},
      {"split", "test"},
      {"merged", metrics_json(ev.merged)},
      {"merged_without_repair", o.repair ? metrics_json(ev.merged_plain) : nlohmann::json(nullptr)},
      {"naive_average", metrics_json(ev.naive_average)},
      {"endpoints", endpoints},
      {"average_of_endpoints", {{"accuracy", number(acc_sum / count)}, {"loss", number(loss_sum / count)}}},
      {"best_single", {{"index", best}, {"path", o.models[best]}, {"accuracy", number(single[best].accuracy)}, {"loss", number(single[best].loss)}}},
      {"ensemble", metrics_json(ev.ensemble)},
      {"cycle_error", cycle},
      {"barriers", barriers},
      {"objective", {{"start", number(r.objective_start)}, {"final", number(r.objective)}}},
      {"universe_steps", r.universe_steps},
      {"seconds", r.seconds},
      {"cycle_seconds", cycle_seconds},
      {"total_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()},
      {"out", o.out}};
  emit(result, o.common);
}

}  // namespace

void add_merge_command(CLI::App& app) {
  auto o = std::make_shared<MergeCommandOptions>();
  o->align.method = "weight";
  CLI::App* cmd = app.add_subcommand("merge", "Align N models into one frame and average them into one checkpoint");
  cmd->add_option("MODELS", o->models, "Two or more models of one architecture; the first is the reference and names the output's tensors")->required();
  cmd->add_option("--arch", o->arch, "Architecture (e.g. mlp:784,512,512,10), a TorchScript model's path, or auto")->capture_default_str();
  add_residual_option(cmd, o->residual);
  cmd->add_option("--key", o->key, "torch.save checkpoints: take the state dict under this top-level key (e.g. ema)");
  add_align_options(cmd, o->align);
  cmd->add_option("--to", o->to, "Frame: first (each model aligned to the first), universe (C2M3: all models jointly, cycle-consistent, by Frank-Wolfe) or universe-sinkhorn (the same by Sinkhorn re-basin over all models' soft plans together)")
      ->check(CLI::IsMember({"first", "universe", "universe-sinkhorn"}))
      ->capture_default_str();
  cmd->add_option("--weights", o->weights, "Averaging weights w1,w2,... (one per model, >= 0; normalised to sum 1; default equal)");
  cmd->add_option("--universe-steps", o->universe_steps, "Frank-Wolfe iterations (--to universe) or Sinkhorn steps (--to universe-sinkhorn) at most")->check(CLI::Range(0, 100000))->capture_default_str();
  cmd->add_flag("--repair", o->repair, "REPAIR the average: rescale every unit's statistics to the weighted average of the models' (training data)");
  cmd->add_option("--repair-samples", o->repair_samples, "Training samples REPAIR measures statistics on")->check(CLI::Range(2, 1 << 24))->capture_default_str();
  cmd->add_flag("--barriers", o->barriers, "Also measure the loss barrier of every pair of models before alignment and in the merge's frame (test split; N(N-1) interpolation curves)");
  cmd->add_option("--points", o->points, "Lambda points per pair for --barriers")->check(CLI::Range(3, 1001))->capture_default_str();
  cmd->add_flag("--no-cycle-check", o->no_cycle_check, "Skip the independent pairwise alignments behind cycle_error.pairwise (N >= 3)");
  add_data_options(cmd, o->data, true);
  cmd->add_option("--out", o->out, "Write the merged model here (safetensors, under the first model's tensor names)")->required();
  add_common_options(cmd, o->common);
  cmd->callback([o] { run_merge(*o); });
}

}  // namespace rebasin::cli
