#include "train_command.h"

#include <iostream>
#include <memory>
#include <sstream>

#include "cli_common.h"
#include "data_options.h"
#include "jobs/train_job.h"

namespace rebasin::cli {
namespace {

struct TrainCliOptions {
  CommonOptions common;
  jobs::TrainJobOptions job;  // arch, data, epochs, batch size, lr, weight decay, --out
};

// Every line of the train job on stderr (the epochs too with --json: stdout holds the JSON).
class TrainSink : public EventSink {
 public:
  void note(const NoteEvent& e) override { std::cerr << (e.warning ? "rebasin: note: " : "") << e.text << std::endl; }
};

void run_train(TrainCliOptions& o, const std::string& command_line) {
  apply_common_options(o.common);
  jobs::TrainJobOptions job = o.job;
  job.seed = o.common.seed;
  job.device = o.common.device;
  job.command_line = command_line;
  TrainSink sink;
  emit(jobs::run_train(job, sink).to_json(), o.common);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainCliOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train a built-in architecture and save it as safetensors");
  cmd->add_option("--arch", o->job.arch, arch_help("vit: patch, width, layers, heads, MLP width; gpt: vocabulary, context, width, layers, heads", /*builtin_only=*/true))->required();
  add_data_options(cmd, o->job.data, true);
  cmd->add_option("--epochs", o->job.train.epochs, "Epochs")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--batch-size", o->job.train.batch_size, "Mini-batch size")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  cmd->add_option("--lr", o->job.train.lr, "AdamW learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--weight-decay", o->job.train.weight_decay, "AdamW weight decay")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--out", o->job.out, "Output file (.safetensors, written atomically)")->required();
  add_common_options(cmd, o->common);
  cmd->callback([o] {
    // Recorded in the file's metadata so a checkpoint says how it was made.
    std::ostringstream line;
    line << "rebasin train --arch " << o->job.arch << " --data " << o->job.data.data << " --epochs "
         << o->job.train.epochs << " --batch-size " << o->job.train.batch_size << " --lr " << o->job.train.lr
         << " --seed " << o->common.seed;
    if (!o->job.data.normalize.empty()) line << " --normalize " << o->job.data.normalize;
    run_train(*o, line.str());
  });
}

}  // namespace rebasin::cli
