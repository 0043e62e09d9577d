// Rebasin Studio's main window: the Models and Job docks, one tab per plot, the status bar
// (progress, ETA, device) and the menus. Jobs run in JobRunner's worker thread; this window
// only receives value types and draws them, so the GUI thread never waits on a job.
#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QFont>
#include <QMainWindow>
#include <QPointer>
#include <QSet>
#include <QStringList>

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

// The tabs, in order.
enum TabIndex { kPlansTab, kCurvesTab, kLandscapeTab, kObjectiveTab, kRecoveryTab, kContinualTab, kMergeTab };

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
  // Presentation mode (View menu, F11): full screen, text at least x1.5 and a caption bar that
  // says what the current view shows; off restores the window and text size from before.
  void setPresentation(bool on);
  bool presentation() const { return presentation_; }
  // Text of the whole window (docks, tabs, plots) at `scale` times the application's size.
  void setTextScale(double scale);
  double textScale() const { return textScale_; }
  // One sentence on what a tab shows and what to look for (the caption bar's text).
  QString caption(int tab) const;
  // Help > "What is re-basin?" and "Keyboard shortcuts" as HTML (offline, shown in a dialog).
  static QString aboutRebasinHtml();
  QString shortcutsHtml() const;

  // Interactive windows show errors in dialogs; headless runs only print them.
  void setInteractive(bool interactive) { interactive_ = interactive; }

  // Starts the job the docks describe (returns its id, 0 when nothing started).
  int run();
  void stop();
  // Starts a demo ("recover", "align", "continual"); with outputs, writes them when it finishes
  // and quits the application (exit code 0, or 1 with the reason on stderr).
  bool startDemo(const QString& name, const DemoOutputs& outputs = {});
  // The demo, then its plans replayed over 20 s on the Transport plans tab: paced for narration
  // (the recover demo itself is over in a few seconds).
  bool startPacedDemo(const QString& name);

  // Files (each write atomic; false and a message on failure).
  // The current tab's figure, with a caption line (models, data, method; the plan's group and
  // step) - the plan square; size: width/height/scale of widgets::ExportOptions (0: as shown).
  // Refused for a tab with nothing in it.
  bool exportCurrentPlot(const QString& path, QString* error, int width = 0, int height = 0, double scale = 1.0);
  // Run history (Runs menu): every finished run with its settings and results, newest last (at
  // most kRunHistory); showRun puts one back on screen - results, settings, models and the
  // alignment its exports use - and Ctrl+Z goes back to the run before the one shown.
  static constexpr int kRunHistory = 12;
  int runCount() const { return int(runs_.size()); }
  QString runTitle(int index) const;
  bool showRun(int index);
  int shownRun() const { return shownRun_; }
  // Beside the plans: the same group's plans of run `index` (another method on the same models);
  // -1 closes the comparison.
  bool comparePlansWith(int index);

  // The caption an exported figure of `tab` carries.
  QString figureCaption(int tab) const;
  // Every tab the last run filled (after opening a session: every tab with something in it).
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
  void buildViewMenu(QMenu* view);   // main_window_view.cpp
  void buildHelpPages(QMenu* help);  // main_window_view.cpp
  void buildRunsMenu(QMenu* runs);   // main_window_runs.cpp
  void recordRun(const JobResult& r);
  void rebuildRunsMenu();
  void showHtml(const QString& title, const QString& html);
  void connectRunner();
  void rebuildRecentMenu();
  void redrawFromResults();
  void onStarted(int id, const JobSettings& settings);
  void onProgress(const JobProgress& p);
  void onFinished(const JobResult& r);
  void onFailed(int id, const QString& message);
  void onWarning(const QString& line);  // a job's warning note: status bar, kept for its result
  void onCancelled(int id);
  void finishDemo(int exitCode, const QString& message);
  // The report's groups with each one's drawn assignment and returned permutation (demo reports).
  QJsonArray drawnEvidence(const QJsonArray& groups) const;
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
  widgets::PlotFrame* plotOfTab(int tab) const;

  JobRunner* runner_ = nullptr;
  ModelsDock* models_ = nullptr;
  JobDock* job_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  QLabel* caption_ = nullptr;  // presentation mode's caption bar above the tabs
  bool presentation_ = false;
  double textScale_ = 1.0, scaleBeforePresentation_ = 1.0;
  bool maximizedBeforePresentation_ = false;
  QFont baseFont_;
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
  Results resultsBefore_;  // what was shown before the running job (restored if it fails)
  QStringList warnings_;   // the running job's warnings
  struct RunRecord {
    QString title;
    JobSettings settings;
    Results results;
    std::shared_ptr<const AlignedModel> aligned;
  };
  QVector<RunRecord> runs_;
  int shownRun_ = -1;
  QMenu* runsMenu_ = nullptr;
  widgets::PlanHeatmap* comparePlans_ = nullptr;
  QLabel* compareTitle_ = nullptr;
  QSet<int> runTabs_, runTabsBefore_;  // the tabs the last run filled (Export all plots writes these)
  void filled(int tab) { runTabs_.insert(tab); }
  // The alignment whose results are shown: the last align run's, or one rebuilt from a reopened
  // session (currentAlignment); exports use it, never an older run's.
  std::shared_ptr<const AlignedModel> shownAlignment_;
  std::shared_ptr<const AlignedModel> currentAlignment(QString* error);
  JobSettings running_;
  bool interactive_ = true;
  bool landscapeGridSet_ = false;
  bool demoActive_ = false;
  DemoOutputs demoOutputs_;
  // The user's models while a demo's are in the Models dock: put back when the demo's job ends
  // (interactive windows; a headless demo run shows the demo's models in its screenshot).
  struct UserModels {
    QString arch, a, b;
    QStringList more;
  } userModels_;
  bool demoModelsShown_ = false;
  bool startingDemo_ = false;
  bool pacedDemo_ = false;  // replay the running demo's plans when it finishes  // inside startDemo's runner_->start (onStarted runs synchronously)
  int demoJob_ = 0;
  void restoreUserModels(int endedJob);
  QJsonObject userSettings_;   // the settings before the first demo (valid while demoShown_ is set)
  QJsonObject demoShown_;      // the settings a demo put in the Job dock; empty when none did
  double lastLog_ = -1;
};

}  // namespace rebasin::studio
