// PlanHistory: frames per group under a memory budget.
#include "widgets/plan_history.h"

namespace rebasin::widgets {

void PlanHistory::setBudget(qint64 bytes) {
  m_budget = std::max<qint64>(bytes, 1);
  thin();
}

qint64 PlanHistory::sizeOf(const PlanView& p) {
  return qint64(sizeof(float)) * (p.values.size() + p.reordered.size() + p.headValues.size() + p.innerValues.size()) +
         qint64(sizeof(qint64)) * (p.assignment.size() + p.headAssignment.size());
}

void PlanHistory::add(const PlanView& plan) {
  m_frames[plan.group].append(plan);
  m_bytes += sizeOf(plan);
  thin();
}

void PlanHistory::clear() {
  m_frames.clear();
  m_bytes = 0;
}

int PlanHistory::frameCount(int group) const {
  auto it = m_frames.constFind(group);
  return it == m_frames.constEnd() ? 0 : int(it->size());
}

const PlanView* PlanHistory::frame(int group, int index) const {
  auto it = m_frames.constFind(group);
  if (it == m_frames.constEnd() || index < 0 || index >= it->size()) return nullptr;
  return &(*it)[index];
}

void PlanHistory::thin() {
  while (m_bytes > m_budget) {
    bool dropped = false;
    for (QVector<PlanView>& frames : m_frames) {
      if (frames.size() < 3) continue;
      // Keep frames 0, 2, 4, ... and the last.
      QVector<PlanView> kept;
      for (qsizetype i = 0; i < frames.size(); ++i) {
        if (i % 2 == 0 || i == frames.size() - 1) {
          kept.append(frames[i]);
        } else {
          m_bytes -= sizeOf(frames[i]);
          dropped = true;
        }
      }
      frames = kept;
    }
    if (!dropped) break;  // nothing left to thin: a single frame per group over the budget is kept
  }
}

}  // namespace rebasin::widgets
