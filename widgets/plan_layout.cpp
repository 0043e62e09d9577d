// Plan geometry: cell ranges, column reordering, overlay points.
#include "widgets/plan_layout.h"

#include <algorithm>
#include <numeric>

namespace rebasin::widgets::plan {

IndexRange cellRange(int cell, int shown, qint64 size) {
  if (shown <= 0 || size <= 0) return {};
  const qint64 first = (static_cast<qint64>(cell) * size) / shown;
  const qint64 last = ((static_cast<qint64>(cell) + 1) * size + shown - 1) / shown - 1;
  return {first, std::min(last, size - 1)};
}

int cellOf(qint64 index, int shown, qint64 size) {
  if (shown <= 0 || size <= 0) return 0;
  // The cell under the unit's centre: (index + 1/2) shown / size, in integers.
  return static_cast<int>(std::clamp<qint64>((2 * index + 1) * shown / (2 * size), 0, shown - 1));
}

bool isPermutation(const QVector<qint64>& assignment, qint64 size) {
  if (size <= 0 || assignment.size() != size) return false;
  QVector<bool> seen(size, false);
  for (qint64 column : assignment) {
    if (column < 0 || column >= size || seen[column]) return false;
    seen[column] = true;
  }
  return true;
}

QVector<int> columnOrder(const PlanView& plan, bool reorder) {
  QVector<int> order(std::max(plan.shown, 0));
  std::iota(order.begin(), order.end(), 0);
  if (!reorder || !isPermutation(plan.assignment, plan.size)) return order;
  // Sort key of a shown column: mean of the rows assigned into it (inverse assignment).
  QVector<double> rowSum(plan.shown, 0.0);
  QVector<int> count(plan.shown, 0);
  for (qint64 row = 0; row < plan.size; ++row) {
    const int cell = cellOf(plan.assignment[row], plan.shown, plan.size);
    rowSum[cell] += static_cast<double>(row);
    ++count[cell];
  }
  QVector<double> key(plan.shown);
  for (int c = 0; c < plan.shown; ++c) key[c] = count[c] ? rowSum[c] / count[c] : c;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return key[a] < key[b]; });
  return order;
}

QVector<QPointF> overlayPoints(const PlanView& plan, const QVector<int>& order, int maxPoints) {
  QVector<QPointF> points;
  if (plan.shown <= 0 || order.size() != plan.shown || maxPoints <= 0 ||
      !isPermutation(plan.assignment, plan.size))
    return points;
  QVector<int> position(plan.shown);
  for (int k = 0; k < plan.shown; ++k) position[order[k]] = k;
  const qint64 stride = (plan.size + maxPoints - 1) / maxPoints;
  const double scale = static_cast<double>(plan.shown) / static_cast<double>(plan.size);
  points.reserve(static_cast<int>((plan.size + stride - 1) / stride));
  for (qint64 row = 0; row < plan.size; row += stride) {
    const qint64 column = plan.assignment[row];
    const int cell = cellOf(column, plan.shown, plan.size);
    // Keep the point's place inside its block; move the block to its display position.
    const double x = (static_cast<double>(column) + 0.5) * scale - 0.5 - cell + position[cell];
    const double y = (static_cast<double>(row) + 0.5) * scale - 0.5;
    points.append(QPointF(x, y));
  }
  return points;
}

bool hasExactReorder(const PlanView& plan) {
  return plan.shown > 0 && plan.reordered.size() == static_cast<qsizetype>(plan.shown) * plan.shown &&
         isPermutation(plan.assignment, plan.size);
}

QVector<QPointF> diagonalPoints(const PlanView& plan, int maxPoints) {
  QVector<QPointF> points;
  if (plan.shown <= 0 || maxPoints <= 0 || !isPermutation(plan.assignment, plan.size)) return points;
  const qint64 stride = (plan.size + maxPoints - 1) / maxPoints;
  const double scale = static_cast<double>(plan.shown) / static_cast<double>(plan.size);
  for (qint64 row = 0; row < plan.size; row += stride) {
    const double at = (static_cast<double>(row) + 0.5) * scale - 0.5;
    points.append(QPointF(at, at));
  }
  return points;
}

}  // namespace rebasin::widgets::plan
