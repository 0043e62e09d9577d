// Recovered fraction per permutation group (planted-permutation experiments): one bar per
// group in 0..1, group names as tick labels.
#pragma once

#include <QVector>

#include "widgets/plot_frame.h"
#include "widgets/plot_types.h"

class QCPBars;
class QCPItemText;

namespace rebasin::widgets {

class RecoveryPlot : public PlotFrame {
  Q_OBJECT

 public:
  explicit RecoveryPlot(QWidget* parent = nullptr);

  // Above this many groups the bars carry no value labels and the tick labels turn.
  static constexpr int kMaxLabelledBars = 16;

  void clear();
  int barCount() const { return m_groups.size(); }

 public Q_SLOTS:
  void setGroups(const QVector<rebasin::widgets::GroupRecovery>& groups);

 protected:
  void applyTheme() override;

 private:
  QCPBars* m_bars = nullptr;
  QVector<GroupRecovery> m_groups;
  QVector<QCPItemText*> m_labels;
};

}  // namespace rebasin::widgets
