// The jobs the studio runs, as plain functions over core: they turn core's events into the
// widgets' value types and hand them to callbacks. Called on the worker thread; this header
// stays free of torch so the GUI side compiles fast.
#pragma once

#include <QJsonObject>
#include <QString>
#include <QVector>

#include <functional>
#include <memory>

#include "app/studio/job_settings.h"
#include "common/cancel.h"
#include "widgets/plot_types.h"

namespace rebasin::jobs {
struct AlignedModel;
struct MergedModel;
}

namespace rebasin::studio {

// Aligned B with everything needed to export it (opaque here: core/jobs/align_job.h).
using AlignedModel = jobs::AlignedModel;
// A merge job's merged model, with the first model's names to export it under (core/jobs/merge_job.h).
using MergedModel = jobs::MergedModel;

struct LandscapeRowView {
  int row = 0, rows = 0;
  QVector<double> xs, ys, loss;
  QVector<widgets::LandscapeMark> marks;
};

struct JobCallbacks {
  std::function<void(const JobProgress&)> progress;
  std::function<void(const widgets::ObjectiveSample&)> step;
  std::function<void(const widgets::PlanView&)> plan;
  std::function<void(const widgets::CurveSample&)> curve;
  std::function<void(const LandscapeRowView&)> landscape;
  std::function<void(int task, int tasks, const QVector<double>& accuracy)> task;
  std::function<void(const QString& line)> log;  // one line for the status bar / stderr
  std::function<void(const widgets::MergeView&)> merge;  // merge: the view so far, after each cell
};

struct JobOutcome {
  QJsonObject summary;                       // what the CLI's --json would report
  QVector<widgets::GroupRecovery> recovery;  // recover: per group
  std::shared_ptr<const AlignedModel> aligned;  // align: for exports and later interpolation
  std::shared_ptr<const MergedModel> merged;    // merge: for the export
  // align, recover: the permutations the run returned, one index list per group (row i ->
  // column permutations[g][i], the plans' convention)
  QVector<QVector<qint64>> permutations;
};

// Runs one job to the end. Throws rebasin::UserError (bad input), rebasin::Cancelled, or
// std::exception (internal). `previous`: the last alignment of the same A and B, which
// `interpolate` uses for its aligned curve (may be null).
JobOutcome runJob(const JobSettings& settings, const JobCallbacks& callbacks, const CancelToken& cancel,
                  std::shared_ptr<const AlignedModel> previous = nullptr);

// Exports of an alignment (atomic writes; throw rebasin::UserError on failure).
void exportAlignedCheckpoint(const AlignedModel& model, const QString& path);
void exportPermutations(const AlignedModel& model, const QString& path);
// (1 - lambda) A + lambda aligned B, under B's tensor names.
void exportInterpolated(const AlignedModel& model, double lambda, const QString& path);
// The merged model, under the first model's tensor names (safetensors, atomic).
void exportMergedCheckpoint(const MergedModel& model, const QString& path);
// An alignment rebuilt from the settings of the run that found it (models, data, key, ...) and
// its permutations - a reopened session's, so its exports work as the run's did. Throws
// rebasin::UserError when the models are gone or no longer fit.
std::shared_ptr<const AlignedModel> alignmentFromPermutations(const JobSettings& settings,
                                                              const QVector<QVector<qint64>>& permutations,
                                                              const QString& label);
// Which models the alignment belongs to (an interpolate job reuses it only for the same pair).
QString alignedPair(const AlignedModel& model);

// "cpu", or "cuda" when --device would pick the GPU (for the status bar).
QString resolvedDeviceName(const QString& spec);

// Model inspection for the Models dock.
struct ModelInfo {
  QString path, format, arch, error;
  // No built-in architecture fits and none was chosen: the Models dock then asks for one.
  bool needsArch = false;
  qint64 parameters = 0;
  QString trained;  // "trained on fashion-mnist, test accuracy 86.39%" from its metadata; empty if none
  QVector<widgets::GroupRecovery> groups;  // name and size (fraction unused)
  QStringList dropped;  // a TorchScript model's groups not used: "name (n units): reason"
};
// `arch`: "auto" (recorded in the file, or detected from names and shapes), a built-in name or a
// TorchScript file of the same model whose tensors are matched to the checkpoint's by name.
ModelInfo inspectModel(const QString& path, const QString& arch = QStringLiteral("auto"));

}  // namespace rebasin::studio

Q_DECLARE_METATYPE(rebasin::studio::LandscapeRowView)
Q_DECLARE_METATYPE(rebasin::studio::ModelInfo)
