// Continual learning: left, the accuracy on each task after training on each task (one line
// per task, from the task's own training on); right, the whole accuracy matrix as a heatmap
// (rows = after task, columns = evaluated task) with a colour scale. Tasks are 0-based in the
// API and shown 1-based.
#pragma once

#include <QVector>

#include "widgets/plot_frame.h"

class QCPAxisRect;
class QCPColorMap;
class QCPColorScale;
class QCPGraph;
class QCPItemText;
class QCPLayoutGrid;
class QCPTextElement;

namespace rebasin::widgets {

class ContinualPlot : public PlotFrame {
  Q_OBJECT

 public:
  explicit ContinualPlot(QWidget* parent = nullptr);

  // Up to this many tasks the heatmap cells carry their value as text.
  static constexpr int kMaxAnnotatedTasks = 10;

  // Drops the rows received so far; the task count stays.
  void clear();
  int taskCount() const { return m_tasks; }
  int rowCount() const;
  // Mean accuracy over the tasks seen so far after task `afterTask` (NaN if that row is absent).
  double averageAccuracy(int afterTask) const;

 public Q_SLOTS:
  // Starts over with `tasks` tasks.
  void setTaskCount(int tasks);
  // Accuracy (0..1) on every task's test set after training on task `afterTask`.
  void addTaskRow(int afterTask, const QVector<double>& accuracy);
  void setTitle(const QString& title);

 protected:
  void applyTheme() override;

 private:
  void rebuild();
  void rebuildGraphs();
  void rebuildAnnotations();

  QCPTextElement* m_title = nullptr;
  QCPAxisRect* m_linesRect = nullptr;
  QCPAxisRect* m_matrixRect = nullptr;
  QCPColorMap* m_map = nullptr;
  QCPColorScale* m_scale = nullptr;
  QVector<QCPGraph*> m_taskGraphs;
  QCPGraph* m_average = nullptr;
  QVector<QCPItemText*> m_cellLabels;
  int m_tasks = 0;
  QVector<QVector<double>> m_rows;  // m_rows[afterTask], empty until received
};

}  // namespace rebasin::widgets
