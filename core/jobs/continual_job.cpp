#include "jobs/continual_job.h"

#include <cstdio>

#include "common/device.h"
#include "io/atomic_file.h"
#include "jobs/inputs.h"

namespace rebasin::jobs {
namespace {

std::string csv_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

ContinualReport run_continual(const ContinualJobOptions& o, EventSink& sink, const CancelToken* cancel) {
  continual::ContinualOptions run = o.run;
  run.device = resolve_device(o.device);
  run.seed = o.seed;
  check_output_path(o.csv, "--csv");
  const continual::ContinualResult r = continual::run_continual(run, &sink, cancel);
  if (!o.csv.empty())
    io::write_file_atomically(o.csv, [&](std::ostream& out) {
      out << "after_task";
      for (std::size_t j = 0; j < r.accuracy_matrix.size(); ++j) out << ",task_" << j;
      out << '\n';
      for (std::size_t i = 0; i < r.accuracy_matrix.size(); ++i) {
        out << i;
        for (double a : r.accuracy_matrix[i]) out << ',' << csv_number(a);
        out << '\n';
      }
    });
  ContinualReport rep;
  rep.stream = run.stream;
  rep.method = run.method;
  if (run.stream == "split-mnist" || run.stream == "split-fashion")
    rep.scenario = run.class_incremental ? "class-incremental" : "task-incremental";
  rep.csv = o.csv;
  rep.task_names = r.task_names;
  rep.seed = run.seed;
  rep.epochs = run.epochs;
  rep.batch_size = r.batch_size;
  rep.train_per_task = r.train_per_task;
  rep.normalize = run.normalize;
  rep.accuracy_matrix = r.accuracy_matrix;
  rep.average_accuracy = r.average_accuracy;
  rep.forgetting = r.forgetting;
  rep.backward_transfer = r.backward_transfer;
  rep.seconds = r.seconds;
  rep.rebasin_il = run.method == "rebasin-il";
  if (rep.rebasin_il) {
    rep.alpha = run.alpha;
    rep.train_alpha = run.train_alpha;
    rep.train_mix_accuracy_matrix = r.train_mix_accuracy_matrix;
    rep.train_mix_average_accuracy = r.train_mix_average_accuracy;
  }
  return rep;
}

}  // namespace rebasin::jobs
