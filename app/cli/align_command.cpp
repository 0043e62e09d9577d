#include "align_command.h"

#include <ATen/ATen.h>

#include <iostream>
#include <memory>

#include "align_options.h"
#include "cli_common.h"
#include "common/error.h"
#include "data_options.h"
#include "eval/interpolation.h"
#include "eval/repair.h"
#include "io/safetensors.h"
#include "nn/model_pair.h"
#include "nn/permutation_file.h"
#include "nn/permute.h"
#include "train/train.h"

namespace rebasin::cli {
namespace {

struct AlignCommandOptions {
  CommonOptions common;
  DataCliOptions data;
  AlignCliOptions align;
  std::string a, b, arch = "auto", key, out, perm_out, split = "test", residual;
  int points = 25;
  bool no_bn_reset = false, repair = false;
};

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

void run_align(AlignCommandOptions& o) {
  const c10::Device device = apply_common_options(o.common);
  const align::AlignOptions opts = to_align_options(o.align, o.common.seed);
  check_output_path(o.out, "--out", /*safetensors=*/true);
  check_output_path(o.perm_out, "--perm-out");
  require(!align::needs_data(opts.method, opts.cost) || !o.data.data.empty(),
          "--method " + o.align.method + (opts.method == align::Method::Sinkhorn ? " --cost " + o.align.cost : "") +
              " needs --data");
  require(!o.repair || !o.data.data.empty(), "--repair needs --data");
  data::Splits splits;
  nn::ModelIO io;
  const bool have_data = !o.data.data.empty();
  if (have_data) {
    splits = load_cli_data(o.data, 0);
    io = nn::model_io(splits.train);
  }
  nn::ModelPair pair = nn::load_model_pair(o.a, o.b, o.arch, io, o.key, o.residual);
  for (const std::string& note : pair.notes) std::cerr << "rebasin: note: " << note << std::endl;
  const nn::Architecture& arch = *pair.arch;
  if (have_data) check_cli_data_fits(arch, splits.train, o.data);
  if (o.repair) eval::require_repair_supported(arch);
  if (!o.common.json)
    std::cerr << "aligning " << o.b << " to " << o.a << " (" << arch.name() << ", "
              << arch.spec().groups().size() << " groups) with " << o.align.method
              << (opts.method == align::Method::Sinkhorn ? " (" + o.align.cost + ")" : "") << std::endl;
  nn::move_to(pair, device);
  if (have_data) data::to_device(splits, device);
  StepPrinter printer;
  const align::AlignResult r =
      align::align(arch, pair.a, pair.b, have_data ? &splits.train : nullptr, opts, o.common.json ? nullptr : &printer);
  const NamedTensors aligned = nn::permute(arch.spec(), pair.b, r.perms);

  nlohmann::json barrier = {{"naive", nullptr}, {"aligned", nullptr}};
  nlohmann::json curves = nullptr;
  // A curve as `rebasin interpolate --json` writes its numbers (rebasin-plot curves reads it).
  auto curve_json = [](const eval::Curve& c) {
    nlohmann::json loss = nlohmann::json::array(), acc = nlohmann::json::array();
    for (std::size_t i = 0; i < c.lambdas.size(); ++i) {
      loss.push_back(number_or_null(c.loss[i]));
      acc.push_back(number_or_null(c.accuracy[i]));
    }
    return nlohmann::json{{"lambdas", c.lambdas}, {"loss", loss}, {"accuracy", acc}, {"barrier", number_or_null(c.barrier)}};
  };
  if (have_data) {
    const data::Dataset& eval_set = o.split == "train" ? splits.train : splits.test;
    const data::Dataset* bn = arch.has_batchnorm() && !o.no_bn_reset ? &splits.train : nullptr;
    const eval::Curve naive = eval::interpolation_curve(arch, pair.a, pair.b, eval_set, bn, o.points, nullptr, "naive", nullptr, o.split, o.common.seed);
    const eval::Curve al = eval::interpolation_curve(arch, pair.a, aligned, eval_set, bn, o.points, nullptr, "aligned", nullptr, o.split, o.common.seed);
    barrier = {{"naive", number_or_null(naive.barrier)}, {"aligned", number_or_null(al.barrier)}};
    curves = {{"naive", curve_json(naive)}, {"aligned", curve_json(al)}};
    if (o.repair) {
      const eval::Curve rep = eval::repaired_curve(arch, pair.a, aligned, splits.train, eval_set, o.points, nullptr,
                                                   "aligned+repair", nullptr, o.split, o.common.seed);
      barrier["repaired"] = number_or_null(rep.barrier);
      curves["repaired"] = curve_json(rep);
    }
    if (!o.common.json)
      std::cerr << "loss barrier (" << o.split << ", " << o.points << " points): naive " << naive.barrier
                << ", aligned " << al.barrier
                << (o.repair ? ", aligned with REPAIR " + barrier["repaired"].dump() : std::string()) << std::endl;
  }
  if (!o.out.empty()) io::write_safetensors(o.out, nn::as_stored(pair, aligned), {{"aligned_to", o.a}, {"method", o.align.method}});
  if (!o.perm_out.empty()) nn::write_permutations(o.perm_out, arch.name(), arch.spec(), r.perms);

  nlohmann::json groups = nlohmann::json::array();
  for (std::size_t g = 0; g < r.perms.size(); ++g) {
    const std::int64_t n = arch.spec().groups()[g].size;
    const double moved = (r.perms[g].cpu() != at::arange(n, at::kLong)).sum().item<double>() / double(n);
    groups.push_back({{"name", arch.spec().groups()[g].name}, {"size", n}, {"moved_fraction", moved}});
  }
  nlohmann::json result = {{"arch", arch.name()},
        {"method", o.align.method},
        {"cost", o.align.cost},
        {"seconds", r.seconds},
        {"steps", r.steps},
        {"final_cost", r.cost},
        {"barrier", barrier},
        {"split", have_data ? nlohmann::json(o.split) : nlohmann::json(nullptr)},
        {"groups", groups}};
  // The curves' numbers only in JSON (the text output stays one line per field).
  if (o.common.json) result["curves"] = curves;
  emit(result, o.common);
}

}  // namespace

void add_align_command(CLI::App& app) {
  auto o = std::make_shared<AlignCommandOptions>();
  CLI::App* cmd = app.add_subcommand("align", "Align model B to model A by permuting B's hidden units");
  cmd->add_option("A", o->a, "Reference model (safetensors, .pt/.pth/.ckpt, TorchScript)")->required();
  cmd->add_option("B", o->b, "Model to align to A")->required();
  cmd->add_option("--arch", o->arch, "Architecture (e.g. mlp:784,512,512,10, resnet20x4, tv:resnet18, tv:vgg11_bn), the path of a TorchScript model of the same network, or auto (detected from the tensors' names and shapes; a TorchScript A is its own architecture)")->capture_default_str();
  add_residual_option(cmd, o->residual);
  cmd->add_option("--key", o->key, "torch.save checkpoints: take the state dict under this top-level key (e.g. ema)");
  add_align_options(cmd, o->align);
  add_data_options(cmd, o->data, false, /*with_input=*/true);
  cmd->add_option("--split", o->split, "Split the barriers are measured on")->check(CLI::IsMember({"test", "train"}))->capture_default_str();
  cmd->add_option("--points", o->points, "Lambda points of the barrier curves")->check(CLI::Range(2, 1001))->capture_default_str();
  cmd->add_flag("--no-bn-reset", o->no_bn_reset, "Keep interpolated BatchNorm statistics instead of recomputing them");
  cmd->add_flag("--repair", o->repair, "Also measure the aligned barrier with REPAIR at every point (barrier.repaired; needs --data)");
  cmd->add_option("--out", o->out, "Write aligned B here (safetensors, under B's tensor names)");
  cmd->add_option("--perm-out", o->perm_out, "Write the permutations here (JSON)");
  add_common_options(cmd, o->common);
  cmd->callback([o] { run_align(*o); });
}

}  // namespace rebasin::cli
