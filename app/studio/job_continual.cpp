// The continual-learning job (core/jobs/continual_job.h) as the studio runs it: a task stream
// trained task after task, one accuracy-matrix row reported after each task.
#include "app/studio/job_sink.h"
#include "jobs/continual_job.h"

namespace rebasin::studio {

JobOutcome run_continual_job(const JobSettings& s, CallbackSink& sink, const CancelToken& cancel) {
  jobs::ContinualJobOptions o;
  o.run.stream = s.stream.toStdString();
  o.run.tasks = s.tasks;
  o.run.method = s.continualMethod.toStdString();
  o.run.epochs = s.epochs;
  o.run.train_per_task = s.trainPerTask;
  o.seed = s.seed;
  o.device = s.device.toStdString();
  JobOutcome out;
  out.summary = to_qjson(jobs::run_continual(o, sink, &cancel).to_json());
  return out;
}

}  // namespace rebasin::studio
