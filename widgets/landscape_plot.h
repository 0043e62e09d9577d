// Loss landscape: loss over a grid on the plane through models A, B and aligned B, filled in
// row by row as it is computed (cells not yet computed stay transparent), with the three
// models drawn as labelled points. Colours show log10 of the loss.
#pragma once

#include <QVector>

#include "widgets/plot_frame.h"
#include "widgets/plot_types.h"

class QCPColorMap;
class QCPColorScale;
class QCPGraph;
class QCPItemText;

namespace rebasin::widgets {

class LandscapePlot : public PlotFrame {
  Q_OBJECT

 public:
  explicit LandscapePlot(QWidget* parent = nullptr);

  void clear();
  int filledRows() const;
  int rows() const { return m_rows; }
  int columns() const { return m_cols; }

 public Q_SLOTS:
  // rows x cols cells; column c sits at x0 + c (x1 - x0) / (cols - 1), row r likewise in y.
  void setGrid(int rows, int cols, double x0, double x1, double y0, double y1);
  // Losses of one grid row (cols entries); rows may arrive in any order.
  void setRow(int row, const QVector<double>& loss);
  void setMarks(const QVector<rebasin::widgets::LandscapeMark>& marks);

 protected:
  void applyTheme() override;

 private:
  void updateDataRange();

  QCPColorMap* m_map = nullptr;
  QCPColorScale* m_scale = nullptr;
  QCPGraph* m_markPoints = nullptr;
  QVector<QCPItemText*> m_markLabels;
  int m_rows = 0, m_cols = 0;
  QVector<bool> m_filled;
  double m_min = 0, m_max = 0;  // of the log10 losses shown so far
  bool m_haveRange = false;
};

}  // namespace rebasin::widgets
