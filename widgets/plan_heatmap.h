// Transport-plan heatmap: the latest soft plan of the selected permutation group as a colour
// map (0..max), the hard assignment overlaid as points, optional column reordering that puts
// the assignment on the diagonal, hover tooltips, zoom/pan and double-click to fit.
#pragma once

#include <QMap>
#include <QPointF>
#include <QSharedPointer>
#include <QStringList>

#include "widgets/plot_frame.h"
#include "widgets/plot_types.h"

class QCheckBox;
class QComboBox;
class QCPColorMap;
class QCPColorScale;
class QCPGraph;
class QMouseEvent;

namespace rebasin::widgets {

class UnitTicker;  // tick labels in units of the full plan (plan_heatmap.cpp)

class PlanHeatmap : public PlotFrame {
  Q_OBJECT

 public:
  explicit PlanHeatmap(QWidget* parent = nullptr);

  // At most this many assignment points are drawn (rows are thinned beyond).
  static constexpr int kMaxOverlayPoints = 2048;

  void clear();
  int selectedGroup() const { return m_selected; }
  QStringList groupNames() const;
  bool reorder() const { return m_reorder; }

  // For tests and the status bar: side of the shown grid, the drawn assignment points
  // (display column, shown row) and the text of the tooltip over a shown cell.
  int shownSide() const;
  int overlayPointCount() const { return m_overlay.size(); }
  QVector<QPointF> overlayPoints() const { return m_overlay; }
  QString toolTipAt(int row, int displayColumn) const;

 public Q_SLOTS:
  // Keeps the latest plan per group; the first group to arrive is selected.
  void setPlan(const rebasin::widgets::PlanView& plan);
  void selectGroup(int group);
  void setReorder(bool on);
  // Shows the whole plan again after zooming or panning.
  void fit();

 Q_SIGNALS:
  void groupSelected(int group);

 protected:
  void applyTheme() override;

 private:
  const PlanView* current() const;
  void rebuild();
  void showToolTip(QMouseEvent* event);

  QComboBox* m_groupBox = nullptr;
  QCheckBox* m_reorderBox = nullptr;
  QCPColorMap* m_map = nullptr;
  QCPColorScale* m_scale = nullptr;
  QCPGraph* m_points = nullptr;
  QSharedPointer<UnitTicker> m_ticker;

  QMap<int, PlanView> m_plans;  // latest plan per group
  int m_selected = -1;
  bool m_reorder = false;
  QVector<int> m_order;  // display column -> shown column of the current plan
  QVector<QPointF> m_overlay;
};

}  // namespace rebasin::widgets
