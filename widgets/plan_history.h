// The plans a run sent, kept per group so a finished alignment can be replayed frame by frame
// (play, pause, step) - for narrating how a plan sharpens into a permutation. Bounded: over the
// memory budget every group keeps every other frame (always its first and last), so a long run
// is replayed at a coarser pace rather than dropped.
#pragma once

#include <QMap>
#include <QVector>

#include "widgets/plot_types.h"

namespace rebasin::widgets {

class PlanHistory {
 public:
  void setBudget(qint64 bytes);
  void add(const PlanView& plan);
  void clear();
  int frameCount(int group) const;
  const PlanView* frame(int group, int index) const;  // null when out of range
  qint64 bytes() const { return m_bytes; }

 private:
  static qint64 sizeOf(const PlanView& plan);
  void thin();

  QMap<int, QVector<PlanView>> m_frames;
  qint64 m_bytes = 0;
  qint64 m_budget = qint64(256) << 20;
};

}  // namespace rebasin::widgets
