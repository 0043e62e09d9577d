// Exporting plots to files: PNG, PDF or SVG chosen by the file's suffix, written atomically
// (rendered in memory, then QSaveFile writes a temporary file beside the target and renames
// it over the target), so a failed export leaves nothing at `path`.
#pragma once

#include <QString>

class QCustomPlot;
class QWidget;

namespace rebasin::widgets {

// How a figure is written: size in pixels (0: the plot's current size), a pixel ratio for PNG
// (2: twice the pixels for print, marked 192 dpi), and a caption line drawn under the plot
// (models, data, method, group, step) so a figure says what it shows away from the studio.
struct ExportOptions {
  int width = 0, height = 0;
  double scale = 1.0;
  QString caption;
};
bool exportPlot(QCustomPlot* plot, const QString& path, QString* error, const ExportOptions& options);

// width/height 0: the plot's current size. On failure returns false and, when `error` is
// given, one line saying why (unknown suffix, folder missing, not writable ...).
bool exportPlot(QCustomPlot* plot, const QString& path, QString* error, int width = 0,
                int height = 0);

// A PNG of a whole window or widget (QWidget::grab); `path` must end in .png.
bool exportWidget(QWidget* widget, const QString& path, QString* error);

// The suffixes exportPlot understands, for file dialogs: "PNG image (*.png);;PDF ...".
QString exportFilter();

}  // namespace rebasin::widgets
