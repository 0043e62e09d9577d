// The merge job (core/jobs/merge_job.h) as the studio runs it: the Job dock's settings mapped onto
// its options (barriers always measured: the Merge tab shows them), and its barrier cells turned
// into the Merge tab's view, sent after each cell, then with every model's accuracy beside the
// merged model's, the naive average's and the ensemble's.
#include <QFileInfo>
#include <QJsonArray>

#include <cmath>

#include "app/studio/job_sink.h"
#include "common/error.h"
#include "jobs/merge_job.h"

namespace rebasin::studio {

void exportMergedCheckpoint(const MergedModel& m, const QString& path) { jobs::write_merged(m, path.toStdString()); }

namespace {

std::string s8(const QString& s) { return s.toStdString(); }

// The models as the Merge tab's CSV and JSON name them: file base names.
QStringList shortNames(const QStringList& paths) {
  QStringList names;
  for (const QString& p : paths) names << QFileInfo(p).completeBaseName();
  return names;
}

// Barrier cells into the Merge tab's view; everything else to the studio's callbacks.
class MergeViewSink : public CallbackSink {
 public:
  MergeViewSink(const JobCallbacks& cb, const QStringList& paths, const QString& split) : CallbackSink(cb) {
    const int n = int(paths.size());
    view_.models = shortNames(paths);
    view_.split = split;
    view_.before = QVector<double>(qsizetype(n) * n, qQNaN());
    view_.after = view_.before;
    view_.accuracy = QVector<double>(n, qQNaN());
    for (int i = 0; i < n; ++i) view_.before[i * n + i] = view_.after[i * n + i] = 0.0;
  }
  void barrier(const BarrierCell& c) override {
    QVector<double>& m = c.matrix == "before" ? view_.before : view_.after;
    m[c.i * c.models + c.j] = m[c.j * c.models + c.i] = c.barrier;
    send();
  }
  void finish(const jobs::MergeReport& r) {
    for (std::size_t i = 0; i < r.endpoints.size() && int(i) < view_.accuracy.size(); ++i)
      view_.accuracy[int(i)] = r.endpoints[i].accuracy;
    view_.merged = r.merged.accuracy;
    view_.naiveAverage = r.naive_average.accuracy;
    view_.ensemble = r.ensemble.accuracy;
    send();
  }

 private:
  void send() {
    if (callbacks().merge) callbacks().merge(view_);
  }
  widgets::MergeView view_;
};

}  // namespace

JobOutcome run_merge_job(const JobSettings& s, CallbackSink& sink, const CancelToken& cancel) {
  QStringList paths{s.modelA, s.modelB};
  paths += s.moreModels;
  paths.removeAll(QString());
  require(paths.size() >= 2, "merge needs at least 2 models: open model A, model B and any further models");
  require(!s.data.isEmpty(), "merge needs a data set (accuracy, barriers, BatchNorm statistics)");
  jobs::MergeJobOptions o;
  for (const QString& p : paths) o.models.push_back(s8(p));
  const jobs::ModelsInput models = models_input(s);
  o.arch = models.arch;
  o.key = models.key;
  o.residual = models.residual;
  o.data = data_input(s);
  o.align = align_options(s);
  o.to = s8(s.mergeTarget);
  o.repair = s.repair;
  o.barriers = true;
  o.points = std::max(3, s.points);
  o.split = s8(s.split);
  o.device = s8(s.device);
  MergeViewSink view(sink.callbacks(), paths, s.split);
  jobs::MergeJobResult r = jobs::run_merge(o, view, &cancel);
  view.finish(r.report);
  JobOutcome out;
  out.summary = to_qjson(r.report.to_json());
  out.merged = std::move(r.model);
  return out;
}

}  // namespace rebasin::studio
