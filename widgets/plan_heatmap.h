// Transport-plan heatmap: the latest soft plan of the selected permutation group as a colour
// map (0..max), the hard assignment overlaid as points, optional column reordering that puts
// the assignment on the diagonal, hover tooltips, zoom/pan and double-click to fit. A
// head-structured group (attention heads) can also be shown a level up - the h x h head plan -
// and, on a click on a head's row there, a level down: that head's d x d inner plan with the B
// head it is matched to.
#pragma once

#include <QMap>
#include <QPointF>
#include <QSharedPointer>
#include <QStringList>

#include "widgets/plan_history.h"
#include "widgets/plot_frame.h"
#include "widgets/plot_types.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QSlider;
class QTimer;
class QToolButton;
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
  QString selectedGroupName() const;
  QStringList groupNames() const;
  bool reorder() const { return m_reorder; }
  // Colour scale fixed at 0..1 (a plan's entries are at most 1) instead of 0..max of the frame
  // shown, so the sharpening of successive frames can be compared; upper end of the scale now.
  bool fixedScale() const { return m_fixedScale; }
  double scaleMax() const;
  // Head level of a head-structured group: -2 all units, -1 the head plan, i >= 0 head i's inner
  // plan. Plain groups are always shown at unit level.
  int headLevel() const { return m_headLevel; }

  // For tests and the status bar: side of the shown grid, the drawn assignment points
  // (display column, shown row) and the text of the tooltip over a shown cell.
  int shownSide() const;
  int overlayPointCount() const { return m_overlay.size(); }
  QVector<QPointF> overlayPoints() const { return m_overlay; }
  QString toolTipAt(int row, int displayColumn) const;
  // The assignment drawn for a group (its latest plan's), and whether that plan is the run's
  // result; the line above the plot that says which step is shown.
  QVector<qint64> drawnAssignment(int group) const;
  bool showsResult(int group) const;
  QString stepText() const;
  // Reordered at full resolution (the diagonal is exact) rather than by shown cells.
  bool exactReorder() const { return m_exactReorder; }

  // Replay: every plan the run sent is kept (PlanHistory), so a finished alignment can be played
  // back. frameCount: the selected group's frames; shownFrame: the frame shown, -1 the latest.
  int frameCount() const;
  int shownFrame() const { return m_frame; }
  bool isReplaying() const;
  // Seconds a replay of the whole run takes (5, 20 or 60 in the controls; 20 paces a demo for
  // narration).
  double replaySeconds() const { return m_replaySeconds; }
  PlanHistory& history() { return m_history; }

 public Q_SLOTS:
  // Keeps the latest plan per group; the first group to arrive is selected.
  void setPlan(const rebasin::widgets::PlanView& plan);
  void selectGroup(int group);
  void setReorder(bool on);
  void setFixedScale(bool on);
  // Shows frame `index` of the selected group (-1 or the last: the latest) and pauses a replay.
  void showFrame(int index);
  // Plays the selected group's frames from the first to the latest over `seconds` (<= 0: the
  // replay speed set in the controls).
  void replay(double seconds = 0);
  void pauseReplay();
  void setReplaySeconds(double seconds);
  void setHeadLevel(int level);
  // A click on row `row` of the head plan (as the mouse does): that head's inner plan.
  void openHeadRow(int row);
  // Shows the whole plan again after zooming or panning.
  void fit();

 Q_SIGNALS:
  void groupSelected(int group);

 protected:
  void applyTheme() override;

 private:
  const PlanView* current() const;
  // What is drawn: the current plan, or its head plan or one head's inner plan (m_derived).
  const PlanView* displayed() const;
  void updateHeadBox();
  void rebuild();
  void showToolTip(QMouseEvent* event);

  QComboBox* m_groupBox = nullptr;
  QCheckBox* m_reorderBox = nullptr;
  QCheckBox* m_fixedBox = nullptr;
  QComboBox* m_headBox = nullptr;
  QLabel* m_stepLabel = nullptr;
  QToolButton* m_playButton = nullptr;
  QSlider* m_frameSlider = nullptr;
  QComboBox* m_speedBox = nullptr;
  QTimer* m_replayTimer = nullptr;
  PlanHistory m_history;
  int m_frame = -1;
  double m_replaySeconds = 20.0;
  void advanceReplay();
  void updateReplayControls();
  QLabel* m_legend = nullptr;
  QCPColorMap* m_map = nullptr;
  QCPColorScale* m_scale = nullptr;
  QCPGraph* m_points = nullptr;
  QSharedPointer<UnitTicker> m_ticker;

  QMap<int, PlanView> m_plans;  // latest plan per group
  int m_selected = -1;
  bool m_reorder = false;
  bool m_fixedScale = false;
  int m_headLevel = -2;
  PlanView m_derived;  // the head plan or an inner plan, rebuilt from the current plan
  QVector<int> m_order;  // display column -> shown column of the current plan
  bool m_exactReorder = false;  // drawing PlanView::reordered (m_order is then the identity)
  QVector<QPointF> m_overlay;
};

}  // namespace rebasin::widgets
