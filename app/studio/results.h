// Everything the current view shows, recorded as it arrives, so it can be exported (CSV/JSON),
// saved in a session file and drawn again when a session is opened.
#pragma once

#include <QJsonObject>
#include <QMap>
#include <QVector>

#include "app/studio/jobs.h"

namespace rebasin::studio {

struct TaskRow {
  int task = 0, tasks = 0;
  QVector<double> accuracy;
};

struct Results {
  QVector<widgets::ObjectiveSample> steps;
  QVector<widgets::CurveSample> curves;
  QVector<widgets::GroupRecovery> recovery;
  QVector<TaskRow> taskRows;
  QVector<LandscapeRowView> landscape;
  QMap<int, widgets::PlanView> plans;  // latest per group
  QVector<QVector<qint64>> permutations;  // the last align/recover's result, per group
  QJsonObject alignment;  // align: the settings of the run they are from (+ "label"), for exports
  widgets::MergeView merge;            // the last merge job's barriers and accuracies
  QJsonObject summary;                 // the last finished job's report

  QString curvesPair;  // "A|B" of the models the curves belong to
  QJsonObject curveInfo;  // curve label -> {"seconds", "steps"} of the alignment behind it

  // What a new job replaces: its own kind of results; interpolation curves only when the job is
  // about another pair of models (curves of the same pair accumulate, one per method).
  void clearForJob(const JobSettings& job);
  // Adds a point, replacing the one of the same curve, split and lambda (a re-run method).
  void addCurvePoint(const widgets::CurveSample& sample);
  QJsonObject toJson() const;
  static Results fromJson(const QJsonObject& json);
  // CSV tables, one per kind of data: "objective", "curves", "recovery", "continual", "landscape",
  // "merge".
  QString csv(const QString& table) const;
};

}  // namespace rebasin::studio
