// The continual-learning job: a task stream trained task after task, one accuracy-matrix row
// reported after each task.
#include <QJsonArray>

#include "app/studio/job_sink.h"
#include "common/device.h"
#include "continual/continual.h"

namespace rebasin::studio {

JobOutcome run_continual_job(const JobSettings& s, CallbackSink& sink, const CancelToken& cancel) {
  continual::ContinualOptions o;
  o.stream = s.stream.toStdString();
  o.tasks = s.tasks;
  o.method = s.continualMethod.toStdString();
  o.seed = s.seed;
  o.device = resolve_device(s.device.toStdString());
  o.epochs = s.epochs;
  o.train_per_task = s.trainPerTask;
  const continual::ContinualResult r = continual::run_continual(o, &sink, &cancel);
  QJsonArray matrix;
  for (const auto& row : r.accuracy_matrix) {
    QJsonArray values;
    for (double v : row) values.append(v);
    matrix.append(values);
  }
  JobOutcome out;
  out.summary = {{"task", "continual"},
                 {"stream", s.stream},
                 {"method", s.continualMethod},
                 {"tasks", int(r.accuracy_matrix.size())},
                 {"accuracy_matrix", matrix},
                 {"average_accuracy", r.average_accuracy},
                 {"forgetting", r.forgetting},
                 {"backward_transfer", r.backward_transfer},
                 {"seconds", r.seconds}};
  return out;
}

}  // namespace rebasin::studio
