// Plain value types the plotting widgets draw. The app converts core's events into these and
// sends them across threads by queued signals, hence the metatype declarations.
#pragma once

#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>
#include <QtNumeric>

namespace rebasin::widgets {

// One permutation group's (downsampled) soft transport plan and the hard assignment of the
// same iterate; `result`: the permutation the run returned (step: the step it was chosen at).
struct PlanView {
  int step = 0;
  bool result = false;
  int group = 0;
  QString name;
  qint64 size = 0;             // n of the n x n plan
  int shown = 0;               // side of `values` (block-averaged, <= size)
  QVector<float> values;       // shown*shown, row-major
  QVector<qint64> assignment;  // size entries: row i -> column assignment[i]; may be empty
  // size > shown: the plan with its columns in assignment order at full resolution, then
  // block-averaged (the assignment is exactly the diagonal); empty otherwise.
  QVector<float> reordered;
  // Head-structured groups (heads > 1, h heads of d = size / h units; exact at any `shown`):
  // the h x h head plan, the head assignment (h entries) and every A head's d x d inner plan
  // with its assigned B head (h * d * d, row-major). Empty for plain groups.
  int heads = 1;
  QVector<float> headValues;
  QVector<qint64> headAssignment;
  QVector<float> innerValues;
};

// One point of a loss/accuracy curve along the line between two models.
struct CurveSample {
  QString curve;
  QString split;
  double lambda = 0, loss = 0, accuracy = 0;
};

// One optimisation step of an alignment: soft cost and (when known) cost of the hard plan.
struct ObjectiveSample {
  int step = 0;
  double cost = 0;
  double hardCost = qQNaN();
};

// Fraction of a permutation group recovered (planted-permutation experiments).
struct GroupRecovery {
  QString name;
  qint64 size = 0;
  double fraction = 0;
};

// A labelled point of the loss landscape, in plane coordinates.
struct LandscapeMark {
  QString label;
  double x = 0, y = 0;
};

// Merging N models: the loss barrier between every pair of models before alignment and after
// merging's alignment put them in one frame, and each model's accuracy beside the merged one's.
// Matrices are N x N, row-major, symmetric, NaN where not measured yet.
struct MergeView {
  QStringList models;             // short names, N
  QVector<double> before, after;  // loss barriers
  QVector<double> accuracy;       // each model's test accuracy, 0..1 (NaN until measured)
  double merged = qQNaN(), naiveAverage = qQNaN(), ensemble = qQNaN();
  QString split;                  // the data split measured on
  int count() const { return int(models.size()); }
};

// Registers the types by name too (for string-based connections and QVariant round trips).
void registerPlotTypes();

}  // namespace rebasin::widgets

Q_DECLARE_METATYPE(rebasin::widgets::PlanView)
Q_DECLARE_METATYPE(rebasin::widgets::CurveSample)
Q_DECLARE_METATYPE(rebasin::widgets::ObjectiveSample)
Q_DECLARE_METATYPE(rebasin::widgets::GroupRecovery)
Q_DECLARE_METATYPE(rebasin::widgets::LandscapeMark)
Q_DECLARE_METATYPE(rebasin::widgets::MergeView)
Q_DECLARE_METATYPE(QVector<rebasin::widgets::GroupRecovery>)
Q_DECLARE_METATYPE(QVector<rebasin::widgets::LandscapeMark>)
