// Alignment objective against optimisation step: the soft (Sinkhorn) cost and, where known,
// the cost of the hard permutation; the value axis turns logarithmic while all values are > 0.
#pragma once

#include "widgets/plot_frame.h"
#include "widgets/plot_types.h"

class QCPGraph;
class QCPItemStraightLine;
class QCPItemText;
class QCPTextElement;

namespace rebasin::widgets {

class ObjectivePlot : public PlotFrame {
  Q_OBJECT

 public:
  explicit ObjectivePlot(QWidget* parent = nullptr);

  void clear();
  int sampleCount() const { return m_count; }
  bool logScale() const { return m_log; }
  int chosenStep() const { return m_chosen; }  // -1: none marked

 public Q_SLOTS:
  void addSample(const rebasin::widgets::ObjectiveSample& sample);
  void setTitle(const QString& title);
  // Marks the step whose permutation the run returned (a vertical line, labelled); -1 removes it.
  void setChosenStep(int step);

 private:
  void include(double value);
  void updateAxes();

  QCPTextElement* m_title = nullptr;
  QCPGraph* m_soft = nullptr;
  QCPGraph* m_hard = nullptr;
  QCPItemStraightLine* m_chosenLine = nullptr;
  QCPItemText* m_chosenLabel = nullptr;
  int m_chosen = -1;
  int m_count = 0;
  bool m_log = false;
  // Running extents: rescaling from the data on every sample would be quadratic.
  double m_minStep = 0, m_maxStep = 0, m_minValue = 0, m_maxValue = 0;
  bool m_haveValue = false;
  bool m_allPositive = true;
};

}  // namespace rebasin::widgets
