// ObjectivePlot: soft and hard cost per step with running axis extents.
#include "widgets/objective_plot.h"

#include <algorithm>
#include <cmath>

#include "widgets/plot_theme.h"
#include "widgets/qcp.h"

namespace rebasin::widgets {

ObjectivePlot::ObjectivePlot(QWidget* parent) : PlotFrame(parent) {
  QCustomPlot* p = plot();
  p->plotLayout()->insertRow(0);
  m_title = new QCPTextElement(p, tr("Alignment objective"), QFont(font().family(), -1, QFont::Bold));
  p->plotLayout()->addElement(0, 0, m_title);
  p->xAxis->setLabel(tr("step"));
  p->yAxis->setLabel(tr("cost"));
  m_soft = p->addGraph();
  m_soft->setName(tr("soft plan cost"));
  m_soft->setPen(QPen(seriesColor(0), 2));
  m_hard = p->addGraph();
  m_hard->setName(tr("hard permutation cost"));
  m_hard->setPen(QPen(seriesColor(1), 1.5, Qt::DashLine));
  p->legend->setVisible(true);
  p->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  m_chosenLine = new QCPItemStraightLine(p);
  m_chosenLine->setPen(QPen(seriesColor(2), 1.5, Qt::DotLine));
  // x in steps, y as a fraction of the axis rect: the line spans the plot on a log axis too.
  for (QCPItemPosition* end : {m_chosenLine->point1, m_chosenLine->point2}) {
    end->setTypeX(QCPItemPosition::ptPlotCoords);
    end->setTypeY(QCPItemPosition::ptAxisRectRatio);
  }
  m_chosenLabel = new QCPItemText(p);
  m_chosenLabel->setPositionAlignment(Qt::AlignBottom | Qt::AlignLeft);
  m_chosenLabel->position->setTypeX(QCPItemPosition::ptPlotCoords);
  m_chosenLabel->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
  m_chosenLabel->setColor(seriesColor(2));
  setChosenStep(-1);
  p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  connect(p, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) { updateAxes(); });
  applyTheme();
  updateAxes();
}

void ObjectivePlot::setChosenStep(int step) {
  m_chosen = step;
  m_chosenLine->setVisible(step >= 0);
  m_chosenLabel->setVisible(step >= 0);
  if (step >= 0) {
    m_chosenLine->point1->setCoords(step, 0);
    m_chosenLine->point2->setCoords(step, 1);
    m_chosenLabel->position->setCoords(step, 0.97);
    m_chosenLabel->setText(tr(" result: step %1").arg(step));
  }
  requestReplot();
}

void ObjectivePlot::clear() {
  setChosenStep(-1);
  m_soft->data()->clear();
  m_hard->data()->clear();
  m_count = 0;
  m_haveValue = false;
  m_allPositive = true;
  updateAxes();
}

void ObjectivePlot::setTitle(const QString& title) {
  m_title->setText(title);
  requestReplot();
}

void ObjectivePlot::include(double value) {
  m_allPositive = m_allPositive && value > 0;
  m_minValue = m_haveValue ? std::min(m_minValue, value) : value;
  m_maxValue = m_haveValue ? std::max(m_maxValue, value) : value;
  m_haveValue = true;
}

void ObjectivePlot::addSample(const ObjectiveSample& sample) {
  m_minStep = m_count ? std::min(m_minStep, double(sample.step)) : sample.step;
  m_maxStep = m_count ? std::max(m_maxStep, double(sample.step)) : sample.step;
  ++m_count;
  if (std::isfinite(sample.cost)) {
    m_soft->addData(sample.step, sample.cost);
    include(sample.cost);
  }
  if (std::isfinite(sample.hardCost)) {
    m_hard->addData(sample.step, sample.hardCost);
    include(sample.hardCost);
  }
  updateAxes();
}

void ObjectivePlot::updateAxes() {
  QCPAxis* y = plot()->yAxis;
  const bool log = m_haveValue && m_allPositive;
  if (log != m_log) {
    m_log = log;
    y->setScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (log) {
      y->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
      // "gb" with 3 digits: precision 0 rounded neighbouring ticks of a sub-decade range alike.
      y->setNumberFormat(QStringLiteral("gb"));
      y->setNumberPrecision(3);
    } else {
      y->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
      y->setNumberFormat(QStringLiteral("gb"));
      y->setNumberPrecision(6);
    }
  }
  plot()->xAxis->setRange(m_minStep, std::max(m_maxStep, m_minStep + 1));
  if (!m_haveValue) {
    y->setRange(log ? 0.1 : 0.0, 1.0);
  } else if (m_log) {
    y->setRange(m_minValue / 1.3, std::max(m_maxValue * 1.3, m_minValue * 2));
  } else {
    const double span = std::max(m_maxValue - m_minValue, 1e-9 * std::max(1.0, std::abs(m_maxValue)));
    y->setRange(m_minValue - 0.05 * span, m_maxValue + 0.05 * span);
  }
  requestReplot();
}

}  // namespace rebasin::widgets
