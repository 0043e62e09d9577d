#include "app/studio/job_runner.h"

#include <QMetaObject>

#include "common/error.h"

namespace rebasin::studio {

JobRunner::JobRunner(QObject* parent) : QObject(parent) {}

JobRunner::~JobRunner() {
  for (auto& job : jobs_) job->cancel.cancel();
  for (auto& job : jobs_)
    if (job->thread.joinable()) job->thread.join();
}

template <class F>
void JobRunner::post(int id, F f) {
  // Queued onto this object's (the GUI) thread; Qt drops it if the runner is gone by then.
  QMetaObject::invokeMethod(
      this, [this, id, f = std::move(f)]() mutable {
        if (id == current_) f();
      },
      Qt::QueuedConnection);
}

void JobRunner::reap() {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if ((*it)->done.load()) {
      (*it)->thread.join();
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

void JobRunner::stop() {
  for (auto& job : jobs_)
    if (job->id == current_) job->cancel.cancel();
}

int JobRunner::start(const JobSettings& settings) {
  for (auto& job : jobs_) job->cancel.cancel();  // superseded: ends within one step
  reap();
  auto job = std::make_unique<Job>();
  Job* j = job.get();
  j->id = current_ = nextId_++;
  running_ = true;
  const int id = j->id;
  std::shared_ptr<const AlignedModel> previous = lastAlignment_;
  Q_EMIT started(id, settings);

  j->thread = std::thread([this, j, id, settings, previous] {
    {
      JobCallbacks cb;
      cb.progress = [this, id](const JobProgress& p) { post(id, [this, p] { Q_EMIT progress(p); }); };
      cb.step = [this, id](const widgets::ObjectiveSample& s) { post(id, [this, s] { Q_EMIT stepAvailable(s); }); };
      cb.plan = [this, id](const widgets::PlanView& p) { post(id, [this, p] { Q_EMIT planAvailable(p); }); };
      cb.curve = [this, id](const widgets::CurveSample& c) { post(id, [this, c] { Q_EMIT curvePointAvailable(c); }); };
      cb.landscape = [this, id](const LandscapeRowView& r) { post(id, [this, r] { Q_EMIT landscapeRowAvailable(r); }); };
      cb.task = [this, id](int t, int n, const QVector<double>& a) {
        post(id, [this, t, n, a] { Q_EMIT taskRowAvailable(t, n, a); });
      };
      cb.merge = [this, id](const widgets::MergeView& v) { post(id, [this, v] { Q_EMIT mergeViewAvailable(v); }); };
      cb.log = [this, id](const QString& line) { post(id, [this, line] { Q_EMIT logLine(line); }); };
      try {
        JobOutcome out = runJob(settings, cb, j->cancel, previous);
        JobResult r{id, settings, std::move(out.summary), std::move(out.recovery), std::move(out.aligned),
                    std::move(out.merged), std::move(out.permutations)};
        post(id, [this, r] {
          running_ = false;
          if (r.aligned) lastAlignment_ = r.aligned;
          if (r.merged) lastMerge_ = r.merged;
          Q_EMIT finished(r);
        });
      } catch (const Cancelled&) {
        post(id, [this, id] {
          running_ = false;
          Q_EMIT cancelled(id);
        });
      } catch (const std::exception& e) {
        const QString message = QString::fromUtf8(e.what());
        post(id, [this, id, message] {
          running_ = false;
          Q_EMIT failed(id, message);
        });
      }
    }  // the job's tensors are freed here, before `done`
    j->done.store(true);
  });
  jobs_.push_back(std::move(job));
  return id;
}

}  // namespace rebasin::studio
