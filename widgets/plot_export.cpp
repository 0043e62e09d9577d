// Plot export: render to bytes (raster or vector), then an atomic QSaveFile write.
#include "widgets/plot_export.h"

#include <QBuffer>
#include <QDir>
#include <QFileInfo>
#include <QPageLayout>
#include <QPageSize>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QWidget>

#include "widgets/qcp.h"

namespace rebasin::widgets {
namespace {

bool fail(QString* error, const QString& message) {
  if (error) *error = message;
  return false;
}

// The folder must exist already: exporting never creates folders behind the user's back.
bool checkFolder(const QString& path, QString* error) {
  const QFileInfo info(path);
  if (path.isEmpty()) return fail(error, QObject::tr("no file name given"));
  if (!info.absoluteDir().exists())
    return fail(error, QObject::tr("cannot write %1: folder %2 does not exist")
                           .arg(path, QDir::toNativeSeparators(info.absolutePath())));
  if (info.isDir()) return fail(error, QObject::tr("cannot write %1: it is a folder").arg(path));
  return true;
}

bool writeAtomically(const QString& path, const QByteArray& bytes, QString* error) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly))
    return fail(error, QObject::tr("cannot write %1: %2").arg(path, file.errorString()));
  if (file.write(bytes) != bytes.size()) {
    file.cancelWriting();
    return fail(error, QObject::tr("cannot write %1: %2").arg(path, file.errorString()));
  }
  if (!file.commit())
    return fail(error, QObject::tr("cannot write %1: %2").arg(path, file.errorString()));
  return true;
}

bool renderPdf(QCustomPlot* plot, int width, int height, QByteArray* out) {
  QBuffer buffer(out);
  buffer.open(QIODevice::WriteOnly);
  QPdfWriter writer(&buffer);
  writer.setCreator(QStringLiteral("Rebasin Studio"));
  writer.setResolution(72);  // one plot pixel = one PDF point
  writer.setPageLayout(QPageLayout(
      QPageSize(QSizeF(width, height), QPageSize::Point, QString(), QPageSize::ExactMatch),
      QPageLayout::Portrait, QMarginsF(0, 0, 0, 0)));
  QCPPainter painter;
  if (!painter.begin(&writer)) return false;
  painter.setMode(QCPPainter::pmVectorized);
  painter.setMode(QCPPainter::pmNoCaching);
  plot->toPainter(&painter, width, height);
  return painter.end();
}

bool renderSvg(QCustomPlot* plot, int width, int height, QByteArray* out) {
  QBuffer buffer(out);
  buffer.open(QIODevice::WriteOnly);
  QSvgGenerator generator;
  generator.setOutputDevice(&buffer);
  generator.setSize(QSize(width, height));
  generator.setViewBox(QRect(0, 0, width, height));
  generator.setTitle(QStringLiteral("Rebasin Studio plot"));
  QCPPainter painter;
  if (!painter.begin(&generator)) return false;
  painter.setMode(QCPPainter::pmVectorized);
  painter.setMode(QCPPainter::pmNoCaching);
  plot->toPainter(&painter, width, height);
  return painter.end();
}

bool pngBytes(const QPixmap& pixmap, QByteArray* out) {
  QBuffer buffer(out);
  buffer.open(QIODevice::WriteOnly);
  return !pixmap.isNull() && pixmap.save(&buffer, "PNG");
}

}  // namespace

QString exportFilter() {
  return QObject::tr("PNG image (*.png);;PDF document (*.pdf);;SVG drawing (*.svg)");
}

bool exportPlot(QCustomPlot* plot, const QString& path, QString* error, int width, int height) {
  ExportOptions o;
  o.width = width, o.height = height;
  return exportPlot(plot, path, error, o);
}

bool exportPlot(QCustomPlot* plot, const QString& path, QString* error, const ExportOptions& o) {
  if (!plot) return fail(error, QObject::tr("no plot to export"));
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix != QLatin1String("png") && suffix != QLatin1String("pdf") &&
      suffix != QLatin1String("svg"))
    return fail(error, QObject::tr("cannot export %1: unknown format \"%2\" (use .png, .pdf or .svg)")
                           .arg(path, suffix));
  if (!checkFolder(path, error)) return false;
  int width = o.width, height = o.height;
  if (width <= 0 || height <= 0) {
    width = plot->width();
    height = plot->height();
  }
  if (width <= 0 || height <= 0 || width > 20000 || height > 20000 || !(o.scale >= 0.5 && o.scale <= 8))
    return fail(error, QObject::tr("cannot export %1: size %2 x %3 (x%4) is out of range")
                           .arg(path).arg(width).arg(height).arg(o.scale));
  // The caption: a line of its own under everything else, there only while the figure is drawn.
  QCPTextElement* caption = nullptr;
  if (!o.caption.isEmpty()) {
    QCPLayoutGrid* layout = plot->plotLayout();
    layout->insertRow(layout->rowCount());
    caption = new QCPTextElement(plot, o.caption, plot->font());
    caption->setTextColor(plot->xAxis ? plot->xAxis->labelColor() : Qt::black);
    caption->setMargins(QMargins(6, 2, 6, 6));
    layout->addElement(layout->rowCount() - 1, 0, caption);
  }
  QByteArray bytes;
  bool rendered = false;
  if (suffix == QLatin1String("png")) {
    QImage image = plot->toPixmap(width, height, o.scale).toImage();
    const int dotsPerMeter = qRound(o.scale * 96 / 0.0254);
    image.setDotsPerMeterX(dotsPerMeter);
    image.setDotsPerMeterY(dotsPerMeter);
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    rendered = !image.isNull() && image.save(&buffer, "PNG");
  } else if (suffix == QLatin1String("pdf")) {
    rendered = renderPdf(plot, width, height, &bytes);
  } else {
    rendered = renderSvg(plot, width, height, &bytes);
  }
  if (caption) {
    plot->plotLayout()->remove(caption);
    plot->plotLayout()->simplify();
    plot->replot(QCustomPlot::rpQueuedReplot);
  }
  if (!rendered || bytes.isEmpty())
    return fail(error, QObject::tr("cannot export %1: rendering the %2 failed").arg(path, suffix));
  return writeAtomically(path, bytes, error);
}

bool exportWidget(QWidget* widget, const QString& path, QString* error) {
  if (!widget) return fail(error, QObject::tr("no window to export"));
  if (QFileInfo(path).suffix().toLower() != QLatin1String("png"))
    return fail(error, QObject::tr("cannot export %1: a window is saved as .png").arg(path));
  if (!checkFolder(path, error)) return false;
  QByteArray bytes;
  if (!pngBytes(widget->grab(), &bytes))
    return fail(error, QObject::tr("cannot export %1: grabbing the window failed").arg(path));
  return writeAtomically(path, bytes, error);
}

}  // namespace rebasin::widgets
