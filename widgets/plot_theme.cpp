// Palette and colour helpers for the plots.
#include "widgets/plot_theme.h"

#include <array>

namespace rebasin::widgets {
namespace {

void styleAxis(QCPAxis* axis, const QColor& text, const QColor& grid, const QColor& subGrid) {
  axis->setBasePen(QPen(text, 0));
  axis->setTickPen(QPen(text, 0));
  axis->setSubTickPen(QPen(text, 0));
  axis->setTickLabelColor(text);
  axis->setLabelColor(text);
  axis->grid()->setPen(QPen(grid, 0, Qt::DotLine));
  axis->grid()->setSubGridPen(QPen(subGrid, 0, Qt::DotLine));
  axis->grid()->setZeroLinePen(Qt::NoPen);
}

void styleLegend(QCPLegend* legend, const QPalette& palette) {
  QColor fill = palette.color(QPalette::Base);
  fill.setAlpha(220);  // lets the curves under an inset legend show through a little
  legend->setBrush(fill);
  legend->setBorderPen(QPen(palette.color(QPalette::Mid), 0));
  legend->setTextColor(palette.color(QPalette::Text));
}

}  // namespace

void applyPalette(QCustomPlot* plot, const QPalette& palette) {
  const QColor text = palette.color(QPalette::Text);
  QColor grid = text, subGrid = text;
  grid.setAlphaF(0.18);
  subGrid.setAlphaF(0.07);
  plot->setBackground(palette.color(QPalette::Base));
  const QList<QCPAxisRect*> rects = plot->axisRects();
  for (QCPAxisRect* rect : rects) {
    for (QCPAxis* axis : rect->axes()) styleAxis(axis, text, grid, subGrid);
  }
  const QList<QCPLayoutElement*> elements = plot->plotLayout()->elements(true);
  for (QCPLayoutElement* element : elements) {
    if (auto* scale = qobject_cast<QCPColorScale*>(element)) {
      styleAxis(scale->axis(), text, grid, subGrid);
    } else if (auto* title = qobject_cast<QCPTextElement*>(element)) {
      title->setTextColor(text);
    } else if (auto* legend = qobject_cast<QCPLegend*>(element)) {
      styleLegend(legend, palette);
    }
  }
  if (plot->legend) styleLegend(plot->legend, palette);  // may sit in an inset layout
}

void applyFont(QCustomPlot* plot, const QFont& font) {
  plot->setFont(font);
  const auto styleAxis = [&](QCPAxis* axis) {
    axis->setLabelFont(font), axis->setTickLabelFont(font);
    axis->setSelectedLabelFont(font), axis->setSelectedTickLabelFont(font);
  };
  for (QCPAxisRect* rect : plot->axisRects())
    for (QCPAxis* axis : rect->axes()) styleAxis(axis);
  const QList<QCPLayoutElement*> elements = plot->plotLayout()->elements(true);
  for (QCPLayoutElement* element : elements) {
    if (auto* scale = qobject_cast<QCPColorScale*>(element)) {
      styleAxis(scale->axis());
    } else if (auto* title = qobject_cast<QCPTextElement*>(element)) {
      QFont bold = font;
      bold.setBold(title->font().bold());
      title->setFont(bold);
    } else if (auto* legend = qobject_cast<QCPLegend*>(element)) {
      legend->setFont(font);
    }
  }
  if (plot->legend) plot->legend->setFont(font);
  for (int i = 0; i < plot->itemCount(); ++i)
    if (auto* text = qobject_cast<QCPItemText*>(plot->item(i))) text->setFont(font);
}

QColor seriesColor(int index, int count) {
  static const std::array<QRgb, 10> tab10 = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                             0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  if (index < 0) index = 0;
  if (count <= static_cast<int>(tab10.size())) return QColor(tab10[index % tab10.size()]);
  // Hues spread over 0.85 of the wheel so the last series does not wrap back to the first.
  return QColor::fromHsvF(0.85 * index / count, 0.8, 0.85);
}

QCPColorMap* addHeatmap(QCustomPlot* p, const QString& scaleLabel, QCPColorScale** scale) {
  auto* map = new QCPColorMap(p->xAxis, p->yAxis);
  map->setInterpolate(false);
  map->removeFromLegend();  // a colour map has the colour scale, not a legend entry
  map->setTightBoundary(false);
  *scale = new QCPColorScale(p);
  (*scale)->setLabel(scaleLabel);
  p->plotLayout()->addElement(0, 1, *scale);
  map->setColorScale(*scale);
  (*scale)->setGradient(viridisGradient());  // after setColorScale, which adopts the scale's
  auto* margins = new QCPMarginGroup(p);
  p->axisRect()->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
  (*scale)->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
  return map;
}

QCPColorGradient viridisGradient() {
  QCPColorGradient g;
  g.clearColorStops();
  g.setColorStopAt(0.00, QColor(68, 1, 84));
  g.setColorStopAt(0.13, QColor(71, 44, 122));
  g.setColorStopAt(0.25, QColor(59, 81, 139));
  g.setColorStopAt(0.38, QColor(44, 113, 142));
  g.setColorStopAt(0.50, QColor(33, 144, 141));
  g.setColorStopAt(0.63, QColor(39, 173, 129));
  g.setColorStopAt(0.75, QColor(92, 200, 99));
  g.setColorStopAt(0.88, QColor(170, 220, 50));
  g.setColorStopAt(1.00, QColor(253, 231, 37));
  g.setColorInterpolation(QCPColorGradient::ciRGB);
  g.setNanHandling(QCPColorGradient::nhTransparent);
  return g;
}

QColor contrastingText(const QColor& background) {
  return background.lightnessF() > 0.55 ? QColor(Qt::black) : QColor(Qt::white);
}

}  // namespace rebasin::widgets
