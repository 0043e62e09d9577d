#include "train_command.h"

#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli_common.h"
#include "common/error.h"
#include "data_options.h"
#include "io/safetensors.h"
#include "nn/architecture.h"
#include "nn/model_pair.h"
#include "train/train.h"

namespace rebasin::cli {
namespace {

struct TrainCliOptions {
  CommonOptions common;
  DataCliOptions data;
  std::string arch, out;
  train::TrainOptions train;
};

std::string format_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

void run_train(TrainCliOptions& o, const std::string& command_line) {
  o.train.device = apply_common_options(o.common);
  o.train.seed = o.common.seed;
  check_output_path(o.out, "--out", /*safetensors=*/true);
  // Data first: its shape decides VGG/ResNet inputs and outputs. The data seed is fixed so
  // models trained with different --seed see the same generated sets.
  const data::Splits splits = data::load_dataset(o.data.data, to_data_options(o.data, 0));
  const auto arch = nn::make_architecture(o.arch, nn::model_io(splits.train));
  train::check_data_fits(*arch, splits.train);
  if (!o.common.json)
    std::cerr << "training " << arch->name() << " (" << arch->spec().parameter_count()
              << " parameters) on " << o.data.data << ": " << splits.train.size() << " train, "
              << splits.test.size() << " test samples, " << o.train.epochs << " epochs" << std::endl;
  const bool regression = splits.train.is_regression();
  const train::TrainResult r = train::train(*arch, splits, o.train, [&](const train::EpochReport& e) {
    std::ostringstream line;
    line << "epoch " << e.epoch << "/" << e.epochs << ": train loss " << e.train_loss << ", test loss "
         << e.test.loss;
    if (!regression) line << ", test accuracy " << 100.0 * e.test.accuracy << "%";
    line << ", " << format_seconds(e.seconds) << " elapsed, ETA " << format_seconds(e.eta_seconds);
    std::cerr << line.str() << std::endl;
  });
  std::map<std::string, std::string> meta = {{"arch", arch->name()},
                                             {"data", o.data.data},
                                             {"seed", std::to_string(o.common.seed)},
                                             {"epochs", std::to_string(o.train.epochs)},
                                             {"test_loss", std::to_string(r.test.loss)},
                                             {"command", command_line}};
  if (!regression) meta["test_accuracy"] = std::to_string(r.test.accuracy);
  if (!o.data.normalize.empty()) meta["normalize"] = o.data.normalize;
  io::write_safetensors(o.out, r.params, meta);

  nlohmann::json history = nlohmann::json::array();
  for (const auto& e : r.epochs) {
    nlohmann::json h = {{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"test_loss", e.test.loss}, {"seconds", e.seconds}};
    if (!regression) h["test_accuracy"] = e.test.accuracy;
    history.push_back(h);
  }
  nlohmann::json out = {{"arch", arch->name()},
                        {"data", o.data.data},
                        {"epochs", o.train.epochs},
                        {"seed", o.common.seed},
                        {"parameters", arch->spec().parameter_count()},
                        {"test_loss", r.test.loss},
                        {"test_accuracy", regression ? nlohmann::json(nullptr) : nlohmann::json(r.test.accuracy)},
                        {"seconds", r.seconds},
                        {"seconds_per_epoch", r.seconds / o.train.epochs},
                        {"out", o.out},
                        {"history", history}};
  emit(out, o.common);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainCliOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train a built-in architecture and save it as safetensors");
  cmd->add_option("--arch", o->arch, "Architecture, e.g. mlp:784,512,512,10, vgg11, resnet20x4, tv:resnet18, tv:vgg11_bn, vit:7,64,4,4,128 (patch, width, layers, heads, MLP width), gpt:96,64,64,2,4 (vocabulary, context, width, layers, heads)")->required();
  add_data_options(cmd, o->data, true);
  cmd->add_option("--epochs", o->train.epochs, "Epochs")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--batch-size", o->train.batch_size, "Mini-batch size")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  cmd->add_option("--lr", o->train.lr, "AdamW learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--weight-decay", o->train.weight_decay, "AdamW weight decay")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--out", o->out, "Output file (.safetensors, written atomically)")->required();
  add_common_options(cmd, o->common);
  cmd->callback([o] {
    // Recorded in the file's metadata so a checkpoint says how it was made.
    std::ostringstream line;
    line << "rebasin train --arch " << o->arch << " --data " << o->data.data << " --epochs "
         << o->train.epochs << " --batch-size " << o->train.batch_size << " --lr " << o->train.lr
         << " --seed " << o->common.seed;
    if (!o->data.normalize.empty()) line << " --normalize " << o->data.normalize;
    run_train(*o, line.str());
  });
}

}  // namespace rebasin::cli
