// Geometry of a transport-plan view, kept apart from the widget so it can be tested alone:
// which original indices a shown (block-averaged) cell covers, the column order that puts the
// hard assignment on the diagonal, and where the assignment's points fall in the shown grid.
#pragma once

#include <QPointF>
#include <QVector>

#include "widgets/plot_types.h"

namespace rebasin::widgets::plan {

// Original indices [first, last] averaged into shown cell `cell`; matches adaptive average
// pooling (cell i covers floor(i n / m) .. ceil((i + 1) n / m) - 1), which core downsamples with.
struct IndexRange {
  qint64 first = 0, last = 0;
};
IndexRange cellRange(int cell, int shown, qint64 size);

// Shown cell under the centre of original index `index` (a unit may be averaged into two
// overlapping cells when size is not a multiple of shown; this is the one it is drawn in).
int cellOf(qint64 index, int shown, qint64 size);

// True when `assignment` is a permutation of 0..size-1.
bool isPermutation(const QVector<qint64>& assignment, qint64 size);

// Display column k shows shown column order[k]. Identity unless `reorder` and the plan has a
// valid assignment; then shown columns are sorted by the mean row assigned to them, which is
// exact at full resolution (column k shows original column assignment[k]) and keeps whole
// blocks together when downsampled.
QVector<int> columnOrder(const PlanView& plan, bool reorder);

// The hard assignment as points (x = display column, y = shown row, cell centres at integers),
// scaled into the shown grid and, when the plan is larger than `maxPoints`, thinned to every
// k-th row so that at most `maxPoints` remain. Empty without a valid assignment.
QVector<QPointF> overlayPoints(const PlanView& plan, const QVector<int>& order, int maxPoints);

// True when the plan carries its columns reordered at full resolution (PlanView::reordered).
bool hasExactReorder(const PlanView& plan);
// The assignment's points over `reordered`: row i's column sits at display position i, so every
// point is on the diagonal (thinned like overlayPoints). Empty without a valid assignment.
QVector<QPointF> diagonalPoints(const PlanView& plan, int maxPoints);

}  // namespace rebasin::widgets::plan
