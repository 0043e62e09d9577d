// Interpolation curves: loss (top) and accuracy (bottom) against lambda in [0, 1], one colour
// per curve (e.g. "naive", "sinkhorn-l2"), the train or test split, and each curve's loss
// barrier marked at its argmax once both end points exist.
#pragma once

#include <QColor>
#include <QMap>
#include <QRectF>
#include <QVector>
#include <QStringList>
#include <map>
#include <utility>

#include "widgets/curve_barrier.h"
#include "widgets/plot_frame.h"
#include "widgets/plot_types.h"

class QComboBox;
class QCPAxisRect;
class QCPGraph;
class QCPItemLine;
class QCPItemText;

namespace rebasin::widgets {

class MethodTable;

class CurvesPlot : public PlotFrame {
  Q_OBJECT

 public:
  explicit CurvesPlot(QWidget* parent = nullptr);

  void clear();
  QString split() const { return m_split; }
  // NaN until the curve has both end points in that split.
  double barrier(const QString& curve, const QString& split) const;
  double barrierLambda(const QString& curve, const QString& split) const;
  QStringList curveNames() const { return m_curves; }
  int pointCount(const QString& curve, const QString& split) const;
  // The colour of a curve, the same for a method in every run and session: fixed for the
  // built-in methods and roles (naive grey, weight blue, sinkhorn-l2 green, ...), from the name
  // otherwise.
  static QColor colorFor(const QString& curve);
  // A curve hidden (a click on its legend entry toggles it) keeps its data; hidden curves do not
  // set the value axes' range.
  void setCurveVisible(const QString& curve, bool visible);
  bool curveVisible(const QString& curve) const;
  // What the alignment behind a curve took (the comparison table's seconds and steps).
  void setCurveInfo(const QString& curve, double seconds, int steps, int chosenStep = -1);
  // The comparison table under the plots: one row per curve.
  MethodTable* methodTable() const { return m_table; }
  // Pixel rectangles of the barrier labels as last laid out (for tests: they do not overlap).
  QVector<QRectF> barrierLabelRects() const;

 public Q_SLOTS:
  // Points may arrive in any order of lambda; a repeated lambda replaces the earlier point.
  void addPoint(const rebasin::widgets::CurveSample& sample);
  void setSplit(const QString& split);

 protected:
  void applyTheme() override;

 private:
  struct Point {
    double loss = 0, accuracy = 0;
  };
  using Series = std::map<double, Point>;  // sorted by lambda
  struct Graphics {
    QCPGraph* loss = nullptr;
    QCPGraph* accuracy = nullptr;
    QCPGraph* chord = nullptr;  // straight line between the end points
    QCPItemLine* marker = nullptr;
    QCPItemText* label = nullptr;
    double anchorLambda = 0, anchorLoss = 0;  // where the label points (the barrier's top)
  };

  const Series* series(const QString& curve, const QString& split) const;
  std::optional<Barrier> barrierFor(const QString& curve, const QString& split) const;
  Graphics& graphicsFor(const QString& curve);
  void refreshCurve(const QString& curve);
  void rescaleValueAxes();
  // Moves barrier labels up until none overlaps another (before every replot: pixel sizes
  // depend on the axes' ranges and the font).
  void layoutBarrierLabels();
  void refreshTable();

  QComboBox* m_splitBox = nullptr;
  QCPAxisRect* m_lossRect = nullptr;
  QCPAxisRect* m_accuracyRect = nullptr;
  QString m_split = QStringLiteral("test");
  bool m_splitChosen = false;  // until setSplit, the first sample's split is shown
  QStringList m_curves;  // in order of arrival
  std::map<std::pair<QString, QString>, Series> m_data;  // (curve, split) -> points
  QMap<QString, Graphics> m_graphics;
  QVector<QRectF> m_labelRects;
  MethodTable* m_table = nullptr;
  struct Info {
    double seconds = 0;
    int steps = -1, chosenStep = -1;
  };
  QMap<QString, Info> m_info;
};

}  // namespace rebasin::widgets
