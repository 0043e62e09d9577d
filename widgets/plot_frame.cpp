// PlotFrame: the plot, the controls row, queued replots and palette following.
#include "widgets/plot_frame.h"

#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
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

void PlotFrame::setPlaceholderText(const QString& text) {
  if (!m_placeholder) {
    // A label over the plot (its child, kept at its size): the plot keeps its geometry, so an
    // export of an empty plot still works, while the window shows the line instead of axes.
    m_placeholder = new QLabel(m_plot);
    m_placeholder->setAlignment(Qt::AlignCenter);
    m_placeholder->setWordWrap(true);
    m_placeholder->setAutoFillBackground(true);
    m_placeholder->setGeometry(m_plot->rect());
    m_placeholder->hide();
    m_plot->installEventFilter(this);
  }
  m_placeholder->setText(text);
}

QString PlotFrame::placeholderText() const { return m_placeholder ? m_placeholder->text() : QString(); }

void PlotFrame::setPlaceholderVisible(bool visible) {
  if (!m_placeholder) return;
  m_placeholder->setGeometry(m_plot->rect());
  m_placeholder->setVisible(visible);
}

bool PlotFrame::isPlaceholderVisible() const { return m_placeholder && !m_placeholder->isHidden(); }

bool PlotFrame::eventFilter(QObject* watched, QEvent* event) {
  if (watched == m_plot && m_placeholder && event->type() == QEvent::Resize)
    m_placeholder->setGeometry(m_plot->rect());
  return QWidget::eventFilter(watched, event);
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
  if (event->type() == QEvent::FontChange) {
    applyFont(m_plot, font());
    requestReplot();
  }
}

}  // namespace rebasin::widgets
