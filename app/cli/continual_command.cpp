#include "continual_command.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include "cli_common.h"
#include "continual/continual.h"
#include "jobs/continual_job.h"

namespace rebasin::cli {
namespace {

struct ContinualCliOptions {
  CommonOptions common;
  continual::ContinualOptions run;
  std::string csv;
};

// One line per finished task on stderr: where the run is and how the model does so far.
class TaskPrinter : public EventSink {
 public:
  void task(const TaskEvent& e) override {
    double seen = 0;
    for (int j = 0; j <= e.task; ++j) seen += e.accuracy[static_cast<std::size_t>(j)];
    char line[160];
    std::snprintf(line, sizeof line, "task %d/%d: accuracy %.2f%% on this task, %.2f%% on tasks seen, %.1f s elapsed",
                  e.task + 1, e.tasks, 100.0 * e.accuracy[static_cast<std::size_t>(e.task)],
                  100.0 * seen / (e.task + 1), e.seconds);
    std::cerr << line << std::endl;
  }
};

void run_continual_command(ContinualCliOptions& o) {
  apply_common_options(o.common);
  jobs::ContinualJobOptions job;
  job.run = o.run;
  job.seed = o.common.seed;
  job.device = o.common.device;
  job.csv = o.csv;
  TaskPrinter printer;
  nlohmann::json out = jobs::run_continual(job, printer).to_json();
  if (!o.common.json) out.erase("task_names");
  emit(out, o.common);
}

}  // namespace

void add_continual_command(CLI::App& app) {
  auto o = std::make_shared<ContinualCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "continual", "Learn a stream of tasks in turn (re-basin or a baseline) and report the accuracy matrix");
  auto& r = o->run;
  cmd->add_option("--stream", r.stream, "rotated-mnist, permuted-mnist, split-mnist or split-fashion")
      ->check(CLI::IsMember(continual::stream_names()))
      ->capture_default_str();
  cmd->add_option("--tasks", r.tasks, "Tasks of rotated/permuted streams (split streams have 5)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--method", r.method, "rebasin-il, finetune, ewc, replay or joint")
      ->check(CLI::IsMember(continual::method_names()))
      ->capture_default_str();
  cmd->add_flag("--class-incremental", r.class_incremental,
                "Split streams: score among all 10 classes (default: the task's two)");
  cmd->add_option("--alpha", r.alpha, "rebasin-il: mix kept after each task (trained at 0.5)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--epochs", r.epochs, "Epochs per task")->check(CLI::Range(1, 10000))->capture_default_str();
  cmd->add_option("--train-per-task", r.train_per_task, "Training samples per task (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--test-per-task", r.test_per_task, "Test samples per task (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--batch-size", r.batch_size, "Mini-batch size (0: the method's reference, 10 or 500)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--lr", r.lr, "Learning rate (0: the method's reference)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--replay-size", r.replay_size, "Replay memory, samples over all tasks")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--ewc-lambda", r.ewc_lambda, "EWC penalty weight")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--normalize,!--no-normalize", r.normalize,
                "Normalise inputs with the data set's mean and std, as the reference benchmarks (default on)");
  cmd->add_option("--arch", r.arch, "Model (784 inputs, 10 outputs)")->capture_default_str();
  cmd->add_option("--data-dir", r.data_dir, "Folder holding mnist/ or fashion-mnist/ (default: the search path)");
  cmd->add_option("--csv", o->csv, "Also write the accuracy matrix as CSV (atomically)");
  // One thread by default: the reference model is small (784-256-10) and fine-tuning's batches
  // hold 10 samples, so a second thread mostly waits (measured: 2.4 s an epoch of batch-10 SGD
  // on one thread, 41 s on two while the other core was busy).
  o->common.threads = 1;
  add_common_options(cmd, o->common);
  cmd->callback([o] { run_continual_command(*o); });
}

}  // namespace rebasin::cli
