// RecoveryPlot: bars with text tick labels and optional value labels.
#include "widgets/recovery_plot.h"

#include <algorithm>

#include "widgets/plot_theme.h"
#include "widgets/qcp.h"

namespace rebasin::widgets {

RecoveryPlot::RecoveryPlot(QWidget* parent) : PlotFrame(parent) {
  QCustomPlot* p = plot();
  m_bars = new QCPBars(p->xAxis, p->yAxis);
  m_bars->setWidth(0.7);
  m_bars->setName(tr("recovered fraction"));
  p->xAxis->setLabel(tr("permutation group"));
  p->xAxis->grid()->setVisible(false);
  p->xAxis->setTickLength(0, 3);
  p->yAxis->setLabel(tr("recovered fraction"));
  p->yAxis->setRange(0, 1.08);
  applyTheme();
  setGroups({});
}

void RecoveryPlot::clear() { setGroups({}); }

void RecoveryPlot::setGroups(const QVector<GroupRecovery>& groups) {
  m_groups = groups;
  for (QCPItemText* label : std::as_const(m_labels)) plot()->removeItem(label);
  m_labels.clear();
  QVector<double> keys, values;
  auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
  const bool labelled = groups.size() <= kMaxLabelledBars;
  for (int i = 0; i < groups.size(); ++i) {
    const GroupRecovery& g = groups[i];
    const double key = i + 1;
    keys << key;
    values << std::clamp(g.fraction, 0.0, 1.0);
    ticker->addTick(key, g.name.isEmpty() ? QString::number(i + 1) : g.name);
    if (labelled) {
      auto* label = new QCPItemText(plot());
      label->position->setCoords(key, values.back());
      label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
      label->setText(QString::number(g.fraction, 'f', 2));
      m_labels << label;
    }
  }
  m_bars->setData(keys, values, true);
  plot()->xAxis->setTicker(ticker);
  plot()->xAxis->setTickLabelRotation(groups.size() > 6 ? 40 : 0);
  plot()->xAxis->setRange(0.4, std::max<double>(groups.size(), 1) + 0.6);
  applyTheme();
}

void RecoveryPlot::applyTheme() {
  if (m_bars) {
    QColor fill = palette().color(QPalette::Highlight);
    m_bars->setPen(QPen(fill.darker(130), 1));
    m_bars->setBrush(fill);
  }
  for (QCPItemText* label : std::as_const(m_labels)) label->setColor(palette().color(QPalette::Text));
  PlotFrame::applyTheme();
}

}  // namespace rebasin::widgets
