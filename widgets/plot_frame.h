// Base of every plotting widget: owns one QCustomPlot under an optional row of controls,
// coalesces repaints (queued replots) and re-colours the plot when the palette changes.
#pragma once

#include <QWidget>

class QCustomPlot;
class QHBoxLayout;
class QLabel;

namespace rebasin::widgets {

class PlotFrame : public QWidget {
  Q_OBJECT

 public:
  explicit PlotFrame(QWidget* parent = nullptr);

  // The plot, for export (plot_export.h) and for the app's own tweaks.
  QCustomPlot* plot() const { return m_plot; }

  // One line saying what fills an empty plot ("Run align to see the transport plans"), shown
  // instead of blank axes while the placeholder is visible (the owner hides it on first data).
  void setPlaceholderText(const QString& text);
  QString placeholderText() const;
  void setPlaceholderVisible(bool visible);
  bool isPlaceholderVisible() const;

  QSize minimumSizeHint() const override;
  QSize sizeHint() const override;

 protected:
  // A row above the plot for switches; created on first use.
  QHBoxLayout* controlsRow();
  // Many data updates between two frames cost one repaint.
  void requestReplot();
  // Colours from the current palette. Subclasses colour their own items, then call the base.
  virtual void applyTheme();
  void changeEvent(QEvent* event) override;
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  QCustomPlot* m_plot = nullptr;
  QHBoxLayout* m_controls = nullptr;
  QLabel* m_placeholder = nullptr;
};

}  // namespace rebasin::widgets
