// Rebasin Studio's main window: the Models and Job docks, one tab per plot, the status bar
// (progress, ETA, device) and the menus. Jobs run in JobRunner's worker thread; this window
// only receives value types and draws them, so the GUI thread never waits on a job.
#pragma once

#include <QJsonObject>
#include <QMainWindow>
#include <QPointer>

#include "app/studio/job_runner.h"
#include "app/studio/results.h"

class QLabel;
class QMenu;
class QProgressBar;
class QTabWidget;

namespace rebasin::widgets {
class PlotFrame;
class PlanHeatmap;
class CurvesPlot;
class LandscapePlot;
class ObjectivePlot;
class RecoveryPlot;
class ContinualPlot;
class MergePlot;
}  // namespace rebasin::widgets

namespace rebasin::studio {

class ModelsDock;
class JobDock;

// Headless demo runs (--demo ... --screenshot): what to write when the demo has finished.
struct DemoOutputs {
  QString screenshot, report, plotsDir;
};

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  JobRunner* runner() const { return runner_; }
  ModelsDock* modelsDock() const { return models_; }
  JobDock* jobDock() const { return job_; }
  QTabWidget* tabs() const { return tabs_; }
  const Results& results() const { return results_; }
  // Interactive windows show errors in dialogs; headless runs only print them.
  void setInteractive(bool interactive) { interactive_ = interactive; }

  // Starts the job the docks describe (returns its id, 0 when nothing started).
  int run();
  void stop();
  // Starts a demo ("recover", "align", "continual"); with outputs, writes them when it finishes
  // and quits the application (exit code 0, or 1 with the reason on stderr).
  bool startDemo(const QString& name, const DemoOutputs& outputs = {});

  // Files (each write atomic; false and a message on failure).
  bool exportCurrentPlot(const QString& path, QString* error);
  bool exportAllPlots(const QString& dir, const QString& suffix, QString* error);
  bool exportData(const QString& path, QString* error);  // .json: everything; .csv: the current tab
  bool exportAligned(const QString& path, QString* error);
  bool exportMerged(const QString& path, QString* error);
  bool exportPermutationFile(const QString& path, QString* error);
  bool exportInterpolatedModel(double lambda, const QString& path, QString* error);
  bool saveSession(const QString& path, QString* error);
  bool openSession(const QString& path, QString* error);

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildTabs();
  void buildMenus();
  void connectRunner();
  void rebuildRecentMenu();
  void redrawFromResults();
  void onStarted(int id, const JobSettings& settings);
  void onProgress(const JobProgress& p);
  void onFinished(const JobResult& r);
  void onFailed(int id, const QString& message);
  void onCancelled(int id);
  void finishDemo(int exitCode, const QString& message);
  void reportError(const QString& title, const QString& message);
  void selectAlignForPair();
  void selectMergeForSet();
  // The Job dock's settings as the user's own: those from before a demo while the dock still
  // shows the demo's (a demo's lr and steps are not the user's next defaults).
  QJsonObject settingsToKeep() const;
  void showPlaceholders(bool plans, bool curves, bool landscape, bool objective, bool recovery, bool continual,
                        bool merge);
  QString currentTable() const;  // CSV table of the current tab
  widgets::PlotFrame* currentPlot() const;

  JobRunner* runner_ = nullptr;
  ModelsDock* models_ = nullptr;
  JobDock* job_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  widgets::PlanHeatmap* plans_ = nullptr;
  widgets::CurvesPlot* curves_ = nullptr;
  widgets::LandscapePlot* landscape_ = nullptr;
  widgets::ObjectivePlot* objective_ = nullptr;
  widgets::RecoveryPlot* recovery_ = nullptr;
  widgets::ContinualPlot* continual_ = nullptr;
  widgets::MergePlot* merge_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* status_ = nullptr;
  QLabel* device_ = nullptr;
  QMenu* recentMenu_ = nullptr;
  Results results_;
  JobSettings running_;
  bool interactive_ = true;
  bool landscapeGridSet_ = false;
  bool demoActive_ = false;
  DemoOutputs demoOutputs_;
  QJsonObject userSettings_;   // the settings before the first demo (valid while demoShown_ is set)
  QJsonObject demoShown_;      // the settings a demo put in the Job dock; empty when none did
  double lastLog_ = -1;
};

}  // namespace rebasin::studio
