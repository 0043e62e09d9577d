// ContinualPlot: per-task accuracy lines beside the accuracy-matrix heatmap.
#include "widgets/continual_plot.h"

#include <algorithm>
#include <cmath>

#include "widgets/plot_theme.h"
#include "widgets/qcp.h"

namespace rebasin::widgets {
namespace {

// Labels 1..tasks, thinned so that about a dozen remain (20 tasks: every other one).
QSharedPointer<QCPAxisTickerText> taskTicker(int tasks) {
  auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
  const int step = tasks <= 12 ? 1 : (tasks + 11) / 12;
  for (int t = 1; t <= tasks; t += step) ticker->addTick(t, QString::number(t));
  ticker->setSubTickCount(step - 1);
  return ticker;
}

}  // namespace

ContinualPlot::ContinualPlot(QWidget* parent) : PlotFrame(parent) {
  QCustomPlot* p = plot();
  QCPLayoutGrid* layout = p->plotLayout();
  m_linesRect = p->axisRect();
  layout->take(m_linesRect);
  layout->simplify();
  m_title = new QCPTextElement(p, tr("Continual learning"), QFont(font().family(), -1, QFont::Bold));
  layout->addElement(0, 0, m_title);
  auto* main = new QCPLayoutGrid;
  layout->addElement(1, 0, main);
  main->addElement(0, 0, m_linesRect);
  m_matrixRect = new QCPAxisRect(p);
  main->addElement(0, 1, m_matrixRect);
  m_scale = new QCPColorScale(p);
  m_scale->setLabel(tr("accuracy"));
  main->addElement(0, 2, m_scale);
  // The legend goes under the lines, several entries per row, so 20 tasks still fit.
  m_linesRect->insetLayout()->take(p->legend);
  main->addElement(1, 0, p->legend);
  main->setRowStretchFactor(1, 0.001);
  p->legend->setVisible(true);
  p->legend->setFillOrder(QCPLegend::foColumnsFirst);
  p->legend->setWrap(5);
  p->legend->setIconSize(14, 8);
  QFont small = font();
  small.setPointSizeF(std::max(6.0, small.pointSizeF() - 1));
  p->legend->setFont(small);
  auto* margins = new QCPMarginGroup(p);
  m_linesRect->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
  m_matrixRect->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
  m_scale->setMarginGroup(QCP::msTop | QCP::msBottom, margins);

  m_linesRect->axis(QCPAxis::atBottom)->setLabel(tr("after training on task"));
  m_linesRect->axis(QCPAxis::atLeft)->setLabel(tr("test accuracy"));
  m_matrixRect->axis(QCPAxis::atBottom)->setLabel(tr("evaluated task"));
  m_matrixRect->axis(QCPAxis::atLeft)->setLabel(tr("after task"));
  m_matrixRect->axis(QCPAxis::atLeft)->setRangeReversed(true);  // matrix layout: task 1 on top
  for (QCPAxis* axis : {m_matrixRect->axis(QCPAxis::atBottom), m_matrixRect->axis(QCPAxis::atLeft)})
    axis->grid()->setVisible(false);
  m_map = new QCPColorMap(m_matrixRect->axis(QCPAxis::atBottom), m_matrixRect->axis(QCPAxis::atLeft));
  m_map->setInterpolate(false);
  m_map->removeFromLegend();  // a colour map has the colour scale, not a legend entry
  m_map->setTightBoundary(false);
  m_map->setColorScale(m_scale);
  m_scale->setGradient(viridisGradient());  // after setColorScale, which adopts the scale's
  m_map->setDataRange(QCPRange(0, 1));
  m_scale->setDataRange(QCPRange(0, 1));
  applyTheme();
  setTaskCount(0);
}

void ContinualPlot::clear() { setTaskCount(m_tasks); }

int ContinualPlot::rowCount() const {
  return static_cast<int>(
      std::count_if(m_rows.begin(), m_rows.end(), [](const QVector<double>& r) { return !r.isEmpty(); }));
}

double ContinualPlot::averageAccuracy(int afterTask) const {
  if (afterTask < 0 || afterTask >= m_rows.size() || m_rows[afterTask].isEmpty()) return qQNaN();
  double sum = 0;
  for (int j = 0; j <= afterTask; ++j) sum += m_rows[afterTask][j];
  return sum / (afterTask + 1);
}

void ContinualPlot::setTitle(const QString& title) {
  m_title->setText(title);
  requestReplot();
}

void ContinualPlot::setTaskCount(int tasks) {
  m_tasks = std::max(tasks, 0);
  m_rows = QVector<QVector<double>>(m_tasks);
  for (QCPGraph* graph : std::as_const(m_taskGraphs)) plot()->removeGraph(graph);
  m_taskGraphs.clear();
  if (m_average) plot()->removeGraph(m_average);
  for (int t = 0; t < m_tasks; ++t) {
    QCPGraph* graph = plot()->addGraph(m_linesRect->axis(QCPAxis::atBottom),
                                       m_linesRect->axis(QCPAxis::atLeft));
    graph->setName(tr("task %1").arg(t + 1));
    const QColor colour = seriesColor(t, m_tasks);
    graph->setPen(QPen(colour, m_tasks > 10 ? 1.2 : 1.8));
    graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, colour, m_tasks > 10 ? 3 : 5));
    m_taskGraphs << graph;
  }
  // Added last: the mean is drawn over the task lines and listed last in the legend.
  m_average = plot()->addGraph(m_linesRect->axis(QCPAxis::atBottom),
                               m_linesRect->axis(QCPAxis::atLeft));
  m_average->setName(tr("mean of seen tasks"));
  m_average->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, 5));
  m_average->setPen(QPen(palette().color(QPalette::Text), 2.5));
  // Removing graphs leaves holes in a wrapped legend; re-flow it.
  plot()->legend->setFillOrder(QCPLegend::foColumnsFirst, true);
  QCPColorMapData* data = m_map->data();
  if (m_tasks > 0) {
    data->setSize(m_tasks, m_tasks);
    data->setRange(QCPRange(1, m_tasks), QCPRange(1, m_tasks));
    data->fill(qQNaN());
  } else {
    data->clear();
  }
  const double hi = std::max(m_tasks, 1) + 0.5;
  const auto ticker = taskTicker(m_tasks);
  for (QCPAxis* axis : {m_linesRect->axis(QCPAxis::atBottom), m_matrixRect->axis(QCPAxis::atBottom),
                        m_matrixRect->axis(QCPAxis::atLeft)}) {
    axis->setTicker(ticker);
    axis->setRange(0.5, hi);
  }
  m_linesRect->axis(QCPAxis::atLeft)->setRange(0, 1.02);
  rebuild();
}

void ContinualPlot::addTaskRow(int afterTask, const QVector<double>& accuracy) {
  if (m_tasks == 0 && !accuracy.isEmpty()) setTaskCount(accuracy.size());
  if (afterTask < 0 || afterTask >= m_tasks || accuracy.size() != m_tasks) {
    qWarning("ContinualPlot: row after task %d with %lld values does not fit %d tasks", afterTask,
             static_cast<long long>(accuracy.size()), m_tasks);
    return;
  }
  m_rows[afterTask] = accuracy;
  for (int j = 0; j < m_tasks; ++j) m_map->data()->setCell(j, afterTask, accuracy[j]);
  rebuild();
}

void ContinualPlot::rebuild() {
  rebuildGraphs();
  rebuildAnnotations();
  requestReplot();
}

void ContinualPlot::rebuildGraphs() {
  QVector<double> avgX, avgY;
  for (int j = 0; j < m_taskGraphs.size(); ++j) {
    QVector<double> xs, ys;
    for (int i = j; i < m_tasks; ++i) {  // a task's line starts once it has been trained on
      if (m_rows[i].isEmpty()) continue;
      xs << i + 1;
      ys << m_rows[i][j];
    }
    m_taskGraphs[j]->setData(xs, ys, true);
  }
  for (int i = 0; i < m_tasks; ++i) {
    if (m_rows[i].isEmpty()) continue;
    avgX << i + 1;
    avgY << averageAccuracy(i);
  }
  m_average->setData(avgX, avgY, true);
}

void ContinualPlot::rebuildAnnotations() {
  for (QCPItemText* label : std::as_const(m_cellLabels)) plot()->removeItem(label);
  m_cellLabels.clear();
  if (m_tasks > kMaxAnnotatedTasks) return;  // cells too small for text: the scale tells
  QCPAxis* x = m_matrixRect->axis(QCPAxis::atBottom);
  QCPAxis* y = m_matrixRect->axis(QCPAxis::atLeft);
  for (int i = 0; i < m_tasks; ++i) {
    for (int j = 0; j < m_rows[i].size(); ++j) {
      const double v = m_rows[i][j];
      auto* label = new QCPItemText(plot());
      label->setClipAxisRect(m_matrixRect);
      label->position->setAxes(x, y);
      label->position->setCoords(j + 1, i + 1);
      label->setText(QString::number(v, 'f', 2));
      label->setColor(contrastingText(m_map->gradient().color(v, QCPRange(0, 1))));
      m_cellLabels << label;
    }
  }
}

void ContinualPlot::applyTheme() {
  if (m_average) m_average->setPen(QPen(palette().color(QPalette::Text), 2.5));
  PlotFrame::applyTheme();
}

}  // namespace rebasin::widgets
