// PlotFrame: the plot, the controls row, queued replots and palette following.
#include "widgets/plot_frame.h"

#include <QEvent>
#include <QHBoxLayout>
#include <QVBoxLayout>

#include "widgets/plot_theme.h"
#include "widgets/qcp.h"

namespace rebasin::widgets {

PlotFrame::PlotFrame(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);
  m_plot = new QCustomPlot(this);
  m_plot->setMinimumSize(200, 150);
  layout->addWidget(m_plot, 1);
}

QSize PlotFrame::minimumSizeHint() const { return {320, 240}; }

QSize PlotFrame::sizeHint() const { return {640, 440}; }

QHBoxLayout* PlotFrame::controlsRow() {
  if (!m_controls) {
    m_controls = new QHBoxLayout;
    m_controls->setContentsMargins(4, 2, 4, 0);
    static_cast<QVBoxLayout*>(layout())->insertLayout(0, m_controls);
  }
  return m_controls;
}

void PlotFrame::requestReplot() { m_plot->replot(QCustomPlot::rpQueuedReplot); }

void PlotFrame::applyTheme() {
  applyPalette(m_plot, palette());
  requestReplot();
}

void PlotFrame::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) applyTheme();
}

}  // namespace rebasin::widgets
