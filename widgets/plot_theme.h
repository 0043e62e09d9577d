// Colours shared by the plots: the light/dark palette applied to a QCustomPlot's axes, legend
// and colour scales, a categorical series palette and a perceptually uniform colour gradient.
#pragma once

#include <QColor>
#include <QFont>
#include <QPalette>

#include "widgets/qcp.h"

namespace rebasin::widgets {

// Background from QPalette::Base, axes/text from QPalette::Text, faint grid lines.
void applyPalette(QCustomPlot* plot, const QPalette& palette);

// Every text of the plot (axis labels and ticks, colour scales, titles, legends, text items) in
// `font`'s family and size - titles stay bold: QCustomPlot copies the widget's font once, at
// construction, so a larger application font (presentation mode) must be handed on.
void applyFont(QCustomPlot* plot, const QFont& font);

// Colour of series `index` out of `count`: tab10 up to 10 series, evenly spaced hues beyond.
QColor seriesColor(int index, int count = 10);

// Viridis: dark purple (low) to yellow (high); readable on light and dark backgrounds and
// in grey-scale print.
QCPColorGradient viridisGradient();

// A heatmap in the plot's main axis rect: a colour map without interpolation or legend entry,
// its colour scale (viridis, labelled) in the layout cell beside the rect, top and bottom margins
// shared so the scale lines up with the map.
QCPColorMap* addHeatmap(QCustomPlot* plot, const QString& scaleLabel, QCPColorScale** scale);

// Black or white, whichever reads better on `background`.
QColor contrastingText(const QColor& background);

}  // namespace rebasin::widgets
