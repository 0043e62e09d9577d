#include "recover_command.h"

#include <memory>
#include <sstream>

#include "align/recover.h"
#include "align_options.h"
#include "cli_common.h"
#include "common/error.h"
#include "common/parse.h"
#include "nn/architecture.h"

namespace rebasin::cli {
namespace {

struct RecoverCliOptions {
  CommonOptions common;
  AlignCliOptions align;
  std::string arch, residual;
  std::string input = "3,32,32";
  std::int64_t outputs = 10;
};

void run_recover(RecoverCliOptions& o) {
  const c10::Device device = apply_common_options(o.common);
  nn::ModelIO io;
  io.outputs = o.outputs;
  io.input_shape.clear();
  std::stringstream ss(o.input);
  for (std::string item; std::getline(ss, item, ',');) {
    const auto v = parse_int(item, 1, 4096);
    require(v.has_value(), "--input expects C,H,W with positive integers, got '" + o.input + "'");
    io.input_shape.push_back(*v);
  }
  const auto arch = nn::make_architecture(o.residual.empty() ? o.arch : nn::with_residual(o.arch, o.residual), io);
  const align::AlignOptions opts = to_align_options(o.align, o.common.seed);
  StepPrinter printer;
  const align::RecoverResult r = align::recover(*arch, opts, o.common.seed, o.common.json ? nullptr : &printer, nullptr, device);
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : r.groups)
    groups.push_back({{"name", g.name}, {"size", g.size}, {"recovered_fraction", g.recovered_fraction}});
  emit({{"arch", arch->name()},
        {"method", o.align.method},
        {"cost", o.align.cost},
        {"recovered_fraction", r.recovered_fraction},
        {"groups", groups},
        {"steps", r.steps},
        {"seconds", r.seconds}},
       o.common);
}

}  // namespace

void add_recover_command(CLI::App& app) {
  auto o = std::make_shared<RecoverCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "recover", "Hide a random permutation in a random model (seeded) and recover it");
  cmd->add_option("--arch", o->arch, "Architecture, e.g. mlp:784,512,512,10, vgg11, resnet20x4, tv:resnet18, tv:vgg11_bn, vit:7,64,4,4,128, gpt:96,64,64,2,4")->required();
  add_residual_option(cmd, o->residual);
  cmd->add_option("--input", o->input, "Input shape C,H,W for convolutional architectures")
      ->check(CLI::TypeValidator<std::string>())
      ->capture_default_str();
  cmd->add_option("--outputs", o->outputs, "Outputs of convolutional architectures")->check(CLI::Range(1, 100000))->capture_default_str();
  add_align_options(cmd, o->align);
  add_common_options(cmd, o->common);
  cmd->callback([o] { run_recover(*o); });
}

}  // namespace rebasin::cli
