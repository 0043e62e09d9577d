// Core's event sink, forwarding each event to the studio's callbacks as widget value types.
// Internal to the job translation units (includes core headers, no widgets code runs here).
#pragma once

#include <cmath>

#include "app/studio/jobs.h"
#include "align/align.h"
#include "jobs/align_job.h"
#include "common/events.h"

namespace rebasin::studio {

class CallbackSink : public EventSink {
 public:
  explicit CallbackSink(const JobCallbacks& cb) : cb_(cb) {}
  const JobCallbacks& callbacks() const { return cb_; }

  void progress(const ProgressEvent& e) override {
    if (cb_.progress) cb_.progress({QString::fromStdString(e.stage), e.fraction, e.seconds, e.eta_seconds});
  }
  void step(const StepEvent& e) override {
    if (cb_.step) cb_.step({e.step, e.cost, e.hard_cost});
  }
  void plan(const PlanSnapshot& p) override {
    if (!cb_.plan) return;
    widgets::PlanView v;
    v.step = p.step;
    v.result = p.result;
    v.group = p.group;
    v.name = QString::fromStdString(p.name);
    v.size = p.size;
    v.shown = static_cast<int>(p.shown);
    v.values = QVector<float>(p.values.begin(), p.values.end());
    v.assignment = QVector<qint64>(p.assignment.begin(), p.assignment.end());
    v.reordered = QVector<float>(p.reordered.begin(), p.reordered.end());
    v.heads = static_cast<int>(p.heads);
    v.headValues = QVector<float>(p.head_values.begin(), p.head_values.end());
    v.headAssignment = QVector<qint64>(p.head_assignment.begin(), p.head_assignment.end());
    v.innerValues = QVector<float>(p.inner_values.begin(), p.inner_values.end());
    cb_.plan(v);
  }
  void curve(const CurvePoint& c) override {
    if (cb_.curve)
      cb_.curve({QString::fromStdString(c.curve), QString::fromStdString(c.split), c.lambda, c.loss, c.accuracy});
  }
  void landscape(const LandscapeRow& r) override {
    if (!cb_.landscape) return;
    static const char* const kLabels[] = {"A", "B", "aligned B"};
    LandscapeRowView v;
    v.row = r.row;
    v.rows = r.rows;
    v.xs = QVector<double>(r.xs.begin(), r.xs.end());
    v.ys = QVector<double>(r.ys.begin(), r.ys.end());
    v.loss = QVector<double>(r.loss.begin(), r.loss.end());
    for (std::size_t i = 0; i < r.marks.size() && i < 3; ++i)
      v.marks.push_back({QString::fromLatin1(kLabels[i]), r.marks[i].first, r.marks[i].second});
    cb_.landscape(v);
  }
  void task(const TaskEvent& t) override {
    if (cb_.task) cb_.task(t.task, t.tasks, QVector<double>(t.accuracy.begin(), t.accuracy.end()));
  }
  void note(const NoteEvent& n) override {
    if (n.warning && cb_.log) cb_.log(QStringLiteral("note: ") + QString::fromStdString(n.text));
  }

 private:
  const JobCallbacks& cb_;
};

// The Job dock's settings as the jobs layer's options (jobs.cpp; align, interpolate, merge).
align::AlignOptions align_options(const JobSettings& s);
jobs::ModelsInput models_input(const JobSettings& s);
jobs::DataInput data_input(const JobSettings& s);
jobs::AlignJobOptions align_job_options(const JobSettings& s);
// A report's JSON as the studio's summaries hold it.
QJsonObject to_qjson(const nlohmann::json& j);

// job_continual.cpp
JobOutcome run_continual_job(const JobSettings& s, CallbackSink& sink, const CancelToken& cancel);
// job_merge.cpp
JobOutcome run_merge_job(const JobSettings& s, CallbackSink& sink, const CancelToken& cancel);

}  // namespace rebasin::studio
