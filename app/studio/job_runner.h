// Runs studio jobs off the GUI thread (the restartable, abortable worker of Qt's mandelbrot
// example and hotspot's "newest job wins"): start() cancels the running job and starts a new
// one; events of a superseded job are dropped; every signal is emitted on the GUI thread.
#pragma once

#include <QObject>

#include <atomic>
#include <list>
#include <memory>
#include <thread>

#include "app/studio/jobs.h"

namespace rebasin::studio {

struct JobResult {
  int id = 0;
  JobSettings settings;
  QJsonObject summary;
  QVector<widgets::GroupRecovery> recovery;
  std::shared_ptr<const AlignedModel> aligned;
  std::shared_ptr<const MergedModel> merged;
  QVector<QVector<qint64>> permutations;  // JobOutcome::permutations
};

class JobRunner : public QObject {
  Q_OBJECT
 public:
  explicit JobRunner(QObject* parent = nullptr);
  ~JobRunner() override;  // cancels every job and joins its thread

  // Returns the new job's id. The running job (if any) is cancelled: it ends within one step.
  int start(const JobSettings& settings);
  void stop();
  bool isRunning() const { return running_; }
  int currentId() const { return current_; }
  // The latest finished alignment (for exports and interpolate); may be null.
  std::shared_ptr<const AlignedModel> lastAlignment() const { return lastAlignment_; }
  // The latest finished merge (for the export); may be null.
  std::shared_ptr<const MergedModel> lastMerge() const { return lastMerge_; }

 Q_SIGNALS:
  void started(int id, const rebasin::studio::JobSettings& settings);
  void progress(const rebasin::studio::JobProgress& progress);
  void stepAvailable(const rebasin::widgets::ObjectiveSample& sample);
  void planAvailable(const rebasin::widgets::PlanView& plan);
  void curvePointAvailable(const rebasin::widgets::CurveSample& sample);
  void landscapeRowAvailable(const rebasin::studio::LandscapeRowView& row);
  void taskRowAvailable(int task, int tasks, const QVector<double>& accuracy);
  void mergeViewAvailable(const rebasin::widgets::MergeView& view);
  void logLine(const QString& line);
  void finished(const rebasin::studio::JobResult& result);
  void failed(int id, const QString& message);
  void cancelled(int id);

 private:
  struct Job {
    int id = 0;
    CancelToken cancel;
    std::atomic<bool> done{false};  // set as the thread's last action: join() is then instant
    std::thread thread;
  };
  // Runs f on the GUI thread if job `id` is still the current one.
  template <class F>
  void post(int id, F f);
  void reap();

  std::list<std::unique_ptr<Job>> jobs_;
  int current_ = 0, nextId_ = 1;
  bool running_ = false;
  std::shared_ptr<const AlignedModel> lastAlignment_;
  std::shared_ptr<const MergedModel> lastMerge_;
};

}  // namespace rebasin::studio

Q_DECLARE_METATYPE(rebasin::studio::JobResult)
