// Merging N models: two N x N heatmaps of the pairwise loss barriers, before alignment and after
// the merge's alignment put every model in one frame (one colour scale for both, so the drop is
// seen as a change of colour), and a bar chart of each model's accuracy beside the merged
// model's, the naive average's and the ensemble's. Filled cell by cell while the job runs.
#pragma once

#include <QVector>

#include "widgets/plot_frame.h"
#include "widgets/plot_types.h"

class QCPAxisRect;
class QCPBars;
class QCPColorMap;
class QCPColorScale;
class QCPItemText;
class QCPTextElement;

namespace rebasin::widgets {

class MergePlot : public PlotFrame {
  Q_OBJECT

 public:
  explicit MergePlot(QWidget* parent = nullptr);

  // Up to this many models the heatmap cells carry their value as text.
  static constexpr int kMaxAnnotatedModels = 10;

  void clear();
  const MergeView& view() const { return m_view; }
  // Cells with a value, over both matrices (the diagonal counts); for tests.
  int measuredCells() const;
  int cellLabelCount() const { return int(m_cellLabels.size()); }
  // The largest barrier shown: the top of the shared colour scale.
  double barrierScaleMax() const;

 public Q_SLOTS:
  void setView(const rebasin::widgets::MergeView& view);

 protected:
  void applyTheme() override;

 private:
  void rebuildMaps();
  void rebuildBars();
  void rebuildLabels();

  QCPAxisRect* m_beforeRect = nullptr;
  QCPAxisRect* m_afterRect = nullptr;
  QCPAxisRect* m_barsRect = nullptr;
  QCPColorMap* m_before = nullptr;
  QCPColorMap* m_after = nullptr;
  QCPColorScale* m_scale = nullptr;
  QCPBars* m_bars = nullptr;
  QCPBars* m_references = nullptr;  // merged, naive average, ensemble: drawn apart from the models
  QVector<QCPItemText*> m_cellLabels;
  QVector<QCPItemText*> m_barLabels;
  MergeView m_view;
};

}  // namespace rebasin::widgets
