// LandscapePlot: a colour map of log10(loss) filled row by row, with labelled model points.
#include "widgets/landscape_plot.h"

#include <algorithm>
#include <cmath>

#include "widgets/plot_theme.h"
#include "widgets/qcp.h"

namespace rebasin::widgets {

LandscapePlot::LandscapePlot(QWidget* parent) : PlotFrame(parent) {
  QCustomPlot* p = plot();
  p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  p->xAxis->setLabel(tr("x (A → B)"));
  p->yAxis->setLabel(tr("y (towards aligned B)"));
  p->axisRect()->setupFullAxesBox(true);
  p->xAxis->grid()->setVisible(false);  // grid lines over a colour map only add noise
  p->yAxis->grid()->setVisible(false);
  m_map = addHeatmap(p, tr("log10(loss)"), &m_scale);

  m_markPoints = p->addGraph();
  m_markPoints->setLineStyle(QCPGraph::lsNone);
  m_markPoints->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 9));
  m_markPoints->removeFromLegend();
  connect(p, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) {
    plot()->rescaleAxes();
    requestReplot();
  });
  applyTheme();
}

void LandscapePlot::clear() {
  m_map->data()->clear();
  m_rows = m_cols = 0;
  m_filled.clear();
  m_haveRange = false;
  setMarks({});
  requestReplot();
}

int LandscapePlot::filledRows() const {
  return static_cast<int>(std::count(m_filled.begin(), m_filled.end(), true));
}

void LandscapePlot::setGrid(int rows, int cols, double x0, double x1, double y0, double y1) {
  if (rows <= 0 || cols <= 0) {
    qWarning("LandscapePlot: grid %d x %d ignored", rows, cols);
    return;
  }
  m_rows = rows;
  m_cols = cols;
  m_filled = QVector<bool>(rows, false);
  m_haveRange = false;
  QCPColorMapData* data = m_map->data();
  data->setSize(cols, rows);
  data->setRange(QCPRange(x0, x1), QCPRange(y0, y1));
  data->fill(qQNaN());
  m_map->setDataRange(QCPRange(0, 1));
  // Half a cell of margin around the grid so edge cells are whole.
  const double hx = cols > 1 ? 0.5 * (x1 - x0) / (cols - 1) : 0.5;
  const double hy = rows > 1 ? 0.5 * (y1 - y0) / (rows - 1) : 0.5;
  plot()->xAxis->setRange(std::min(x0, x1) - std::abs(hx), std::max(x0, x1) + std::abs(hx));
  plot()->yAxis->setRange(std::min(y0, y1) - std::abs(hy), std::max(y0, y1) + std::abs(hy));
  requestReplot();
}

void LandscapePlot::setRow(int row, const QVector<double>& loss) {
  if (row < 0 || row >= m_rows || loss.size() != m_cols) {
    qWarning("LandscapePlot: row %d with %lld values does not fit the %d x %d grid", row,
             static_cast<long long>(loss.size()), m_rows, m_cols);
    return;
  }
  QCPColorMapData* data = m_map->data();
  for (int c = 0; c < m_cols; ++c) {
    const double v = loss[c];
    // Loss is >= 0; clamp zero so the logarithm stays finite. Non-finite stays a hole.
    const double z = std::isfinite(v) ? std::log10(std::max(v, 1e-12)) : qQNaN();
    data->setCell(c, row, z);
    if (std::isfinite(z)) {
      m_min = m_haveRange ? std::min(m_min, z) : z;
      m_max = m_haveRange ? std::max(m_max, z) : z;
      m_haveRange = true;
    }
  }
  m_filled[row] = true;
  updateDataRange();
  requestReplot();
}

void LandscapePlot::updateDataRange() {
  if (!m_haveRange) return;
  const double pad = m_max > m_min ? 0.0 : 0.5;  // a flat landscape still gets a range
  m_map->setDataRange(QCPRange(m_min - pad, m_max + pad));
}

void LandscapePlot::setMarks(const QVector<LandscapeMark>& marks) {
  for (QCPItemText* label : std::as_const(m_markLabels)) plot()->removeItem(label);
  m_markLabels.clear();
  QVector<double> xs, ys;
  for (const LandscapeMark& mark : marks) {
    xs << mark.x;
    ys << mark.y;
    auto* label = new QCPItemText(plot());
    label->position->setCoords(mark.x, mark.y);
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    label->setPadding(QMargins(3, 1, 3, 1));
    label->setText(mark.label);
    QFont font = label->font();
    font.setBold(true);
    label->setFont(font);
    m_markLabels << label;
  }
  m_markPoints->setData(xs, ys);
  applyTheme();
}

void LandscapePlot::applyTheme() {
  // Marks sit on the colour map as well as on the background: white with a dark outline.
  if (m_markPoints) {
    QCPScatterStyle style(QCPScatterStyle::ssCircle, QPen(Qt::black, 1.5), QBrush(Qt::white), 9);
    m_markPoints->setScatterStyle(style);
    m_markPoints->setPen(QPen(Qt::black));
  }
  for (QCPItemText* label : std::as_const(m_markLabels)) {
    label->setColor(Qt::black);
    QColor fill(Qt::white);
    fill.setAlpha(200);
    label->setBrush(fill);
  }
  PlotFrame::applyTheme();
}

}  // namespace rebasin::widgets
