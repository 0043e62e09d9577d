// The comparison table under the interpolation curves: one row per curve (method), with its
// loss barrier, the midpoint's loss and accuracy, and - for alignments - the seconds and steps
// it took; the check box of a row shows or hides that curve. A plain table so it can be read
// aloud, copied and compared without hovering over the plot.
#pragma once

#include <QColor>
#include <QString>
#include <QTableWidget>
#include <QVector>

namespace rebasin::widgets {

struct MethodRow {
  QString curve;
  QColor colour;
  bool visible = true;
  double barrier = qQNaN(), midLoss = qQNaN(), midAccuracy = qQNaN();  // NaN: not measured
  double seconds = qQNaN();
  int steps = -1;        // -1: not an alignment (naive) or not known
  int chosenStep = -1;   // the step whose permutation the run returned (-1: not known)
};

class MethodTable : public QTableWidget {
  Q_OBJECT

 public:
  explicit MethodTable(QWidget* parent = nullptr);
  void setRows(const QVector<MethodRow>& rows);
  // The text of a cell as shown (tests, copying).
  QString text(int row, int column) const;

 protected:
  void changeEvent(QEvent* event) override;

 Q_SIGNALS:
  void visibilityToggled(const QString& curve, bool visible);

 private:
  void fitHeight();
  bool m_filling = false;
};

}  // namespace rebasin::widgets
