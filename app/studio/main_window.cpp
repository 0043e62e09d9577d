#include "app/studio/main_window.h"

#include <QApplication>
#include <QCloseEvent>
#include <QJsonArray>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QSplitter>
#include <QTimer>
#include <QVBoxLayout>

#include <cmath>
#include <cstdio>

#include "app/studio/demos.h"
#include "app/studio/job_dock.h"
#include "app/studio/models_dock.h"
#include "widgets/continual_plot.h"
#include "widgets/curves_plot.h"
#include "widgets/landscape_plot.h"
#include "widgets/merge_plot.h"
#include "widgets/objective_plot.h"
#include "widgets/plan_heatmap.h"
#include "widgets/recovery_plot.h"

namespace rebasin::studio {

namespace {

QString formatSeconds(double s) {
  if (!std::isfinite(s) || s < 0) return QStringLiteral("?");
  if (s < 60) return QStringLiteral("%1 s").arg(s, 0, 'f', s < 10 ? 1 : 0);
  return QStringLiteral("%1 min %2 s").arg(int(s) / 60).arg(int(s) % 60);
}
}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("Rebasin Studio"));
  baseFont_ = font();
  setWindowIcon(QIcon(QStringLiteral(":/icons/rebasin-studio.svg")));
  runner_ = new JobRunner(this);
  models_ = new ModelsDock(this);
  job_ = new JobDock(this);
  addDockWidget(Qt::LeftDockWidgetArea, models_);
  addDockWidget(Qt::LeftDockWidgetArea, job_);
  buildTabs();
  progress_ = new QProgressBar(this);
  progress_->setMaximumWidth(220);
  progress_->setRange(0, 1000);
  progress_->setTextVisible(false);
  status_ = new QLabel(tr("Ready"), this);
  device_ = new QLabel(this);
  statusBar()->addWidget(status_, 1);
  statusBar()->addPermanentWidget(progress_);
  statusBar()->addPermanentWidget(device_);
  buildMenus();
  connectRunner();
  connect(job_, &JobDock::runRequested, this, [this] { run(); });
  connect(job_, &JobDock::stopRequested, this, &MainWindow::stop);
  connect(models_, &ModelsDock::modelOpened, this, &MainWindow::selectAlignForPair);
  connect(models_, &ModelsDock::moreModelsOpened, this, &MainWindow::selectMergeForSet);

  QSettings settings;
  restoreGeometry(settings.value("window/geometry").toByteArray());
  restoreState(settings.value("window/state").toByteArray());
  if (settings.contains("job/settings"))
    job_->setSettings(JobSettings::fromJson(settings.value("job/settings").toJsonObject()));
  device_->setText(tr("device: %1").arg(resolvedDeviceName(job_->settings().device)));
  if (!settings.contains("window/geometry")) resize(1400, 900);
}

MainWindow::~MainWindow() = default;

void MainWindow::buildTabs() {
  tabs_ = new QTabWidget(this);
  plans_ = new widgets::PlanHeatmap(tabs_);
  curves_ = new widgets::CurvesPlot(tabs_);
  landscape_ = new widgets::LandscapePlot(tabs_);
  objective_ = new widgets::ObjectivePlot(tabs_);
  recovery_ = new widgets::RecoveryPlot(tabs_);
  continual_ = new widgets::ContinualPlot(tabs_);
  merge_ = new widgets::MergePlot(tabs_);
  // The plans tab: the run's plans, and beside them (when asked, Runs > Compare plans with) the
  // same group's plans of another run - two methods side by side.
  auto* plansSplit = new QSplitter(Qt::Horizontal, tabs_);
  plansSplit->setObjectName(QStringLiteral("plansSplit"));
  plans_->setParent(plansSplit);
  plansSplit->addWidget(plans_);
  auto* compareBox = new QWidget(plansSplit);
  auto* compareColumn = new QVBoxLayout(compareBox);
  compareColumn->setContentsMargins(0, 0, 0, 0);
  compareTitle_ = new QLabel(compareBox);
  compareTitle_->setObjectName(QStringLiteral("compareTitle"));
  compareTitle_->setWordWrap(true);
  compareColumn->addWidget(compareTitle_);
  comparePlans_ = new widgets::PlanHeatmap(compareBox);
  comparePlans_->setObjectName(QStringLiteral("comparePlans"));
  compareColumn->addWidget(comparePlans_, 1);
  plansSplit->addWidget(compareBox);
  compareBox->setVisible(false);
  tabs_->addTab(plansSplit, tr("Transport plans"));
  connect(plans_, &widgets::PlanHeatmap::groupSelected, comparePlans_, &widgets::PlanHeatmap::selectGroup);
  tabs_->addTab(curves_, tr("Interpolation"));
  tabs_->addTab(landscape_, tr("Landscape"));
  tabs_->addTab(objective_, tr("Objective"));
  tabs_->addTab(recovery_, tr("Recovery"));
  tabs_->addTab(continual_, tr("Continual learning"));
  tabs_->addTab(merge_, tr("Merge"));
  // The caption bar sits above the tabs, shown in presentation mode.
  auto* central = new QWidget(this);
  auto* column = new QVBoxLayout(central);
  column->setContentsMargins(0, 0, 0, 0);
  column->setSpacing(0);
  caption_ = new QLabel(central);
  caption_->setObjectName(QStringLiteral("caption"));
  caption_->setWordWrap(true);
  caption_->setMargin(6);
  caption_->setVisible(false);
  column->addWidget(caption_);
  column->addWidget(tabs_);
  setCentralWidget(central);
  connect(tabs_, &QTabWidget::currentChanged, this, [this](int tab) { caption_->setText(caption(tab)); });
  plans_->setPlaceholderText(tr("Run align or recover to see the transport plans"));
  curves_->setPlaceholderText(tr("Run align or interpolate to see loss and accuracy along the line from A to B"));
  landscape_->setPlaceholderText(tr("Run align or interpolate with a landscape grid to see the loss landscape"));
  objective_->setPlaceholderText(tr("Run align or recover to see the objective at every step"));
  recovery_->setPlaceholderText(tr("Run recover to see the fraction of every group recovered"));
  continual_->setPlaceholderText(tr("Run continual to see the accuracy of every task after each task"));
  merge_->setPlaceholderText(tr("Run merge to see the barriers between the models and the merged model's accuracy"));
  showPlaceholders(true, true, true, true, true, true, true);
}

void MainWindow::showPlaceholders(bool plans, bool curves, bool landscape, bool objective, bool recovery,
                                  bool continual, bool merge) {
  plans_->setPlaceholderVisible(plans);
  curves_->setPlaceholderVisible(curves);
  landscape_->setPlaceholderVisible(landscape);
  objective_->setPlaceholderVisible(objective);
  recovery_->setPlaceholderVisible(recovery);
  continual_->setPlaceholderVisible(continual);
  merge_->setPlaceholderVisible(merge);
}

void MainWindow::selectAlignForPair() {
  if (models_->modelA().isEmpty() || models_->modelB().isEmpty()) return;
  JobSettings s = job_->settings();
  // These use the pair already.
  if (s.task == Task::Align || s.task == Task::Interpolate || s.task == Task::Merge) return;
  s.task = Task::Align;
  job_->setSettings(s);
}

void MainWindow::selectMergeForSet() {
  if (models_->modelA().isEmpty() || models_->modelB().isEmpty() || models_->moreModels().isEmpty()) return;
  JobSettings s = job_->settings();
  if (s.task == Task::Merge) return;
  s.task = Task::Merge;
  job_->setSettings(s);
}

QJsonObject MainWindow::settingsToKeep() const {
  const QJsonObject shown = job_->settings().toJson();
  return !demoShown_.isEmpty() && shown == demoShown_ ? userSettings_ : shown;
}

widgets::PlotFrame* MainWindow::plotOfTab(int tab) const {
  if (tab == kPlansTab) return plans_;  // inside the side-by-side splitter
  return qobject_cast<widgets::PlotFrame*>(tabs_->widget(tab));
}

widgets::PlotFrame* MainWindow::currentPlot() const { return plotOfTab(tabs_->currentIndex()); }

QString MainWindow::currentTable() const {
  switch (tabs_->currentIndex()) {
    case kCurvesTab: return QStringLiteral("curves");
    case kLandscapeTab: return QStringLiteral("landscape");
    case kRecoveryTab: return QStringLiteral("recovery");
    case kContinualTab: return QStringLiteral("continual");
    case kMergeTab: return QStringLiteral("merge");
    default: return QStringLiteral("objective");
  }
}

void MainWindow::connectRunner() {
  connect(runner_, &JobRunner::started, this, &MainWindow::onStarted);
  connect(runner_, &JobRunner::progress, this, &MainWindow::onProgress);
  connect(runner_, &JobRunner::finished, this, &MainWindow::onFinished);
  connect(runner_, &JobRunner::failed, this, &MainWindow::onFailed);
  connect(runner_, &JobRunner::logLine, this, &MainWindow::onWarning);
  connect(runner_, &JobRunner::cancelled, this, &MainWindow::onCancelled);
  connect(runner_, &JobRunner::stepAvailable, this, [this](const widgets::ObjectiveSample& s) {
    results_.steps.push_back(s);
    filled(kObjectiveTab);
    objective_->setPlaceholderVisible(false);
    objective_->addSample(s);
  });
  connect(runner_, &JobRunner::planAvailable, this, [this](const widgets::PlanView& p) {
    results_.plans.insert(p.group, p);
    filled(kPlansTab);
    plans_->setPlaceholderVisible(false);
    plans_->setPlan(p);
    if (p.result) objective_->setChosenStep(p.step);
  });
  connect(runner_, &JobRunner::curvePointAvailable, this, [this](const widgets::CurveSample& c) {
    results_.addCurvePoint(c);
    filled(kCurvesTab);
    curves_->setPlaceholderVisible(false);
    curves_->addPoint(c);
    if (tabs_->currentIndex() == kPlansTab || tabs_->currentIndex() == kObjectiveTab) tabs_->setCurrentIndex(kCurvesTab);
  });
  connect(runner_, &JobRunner::landscapeRowAvailable, this, [this](const LandscapeRowView& r) {
    results_.landscape.push_back(r);
    filled(kLandscapeTab);
    if (!landscapeGridSet_ && !r.xs.isEmpty() && !r.ys.isEmpty()) {
      landscape_->setGrid(r.rows, int(r.xs.size()), r.xs.first(), r.xs.last(), r.ys.first(), r.ys.last());
      landscape_->setMarks(r.marks);
      landscapeGridSet_ = true;
    }
    landscape_->setPlaceholderVisible(false);
    landscape_->setRow(r.row, r.loss);
  });
  connect(runner_, &JobRunner::mergeViewAvailable, this, [this](const widgets::MergeView& v) {
    results_.merge = v;
    filled(kMergeTab);
    merge_->setPlaceholderVisible(false);
    merge_->setView(v);
  });
  connect(runner_, &JobRunner::taskRowAvailable, this, [this](int task, int tasks, const QVector<double>& acc) {
    if (results_.taskRows.isEmpty()) continual_->setTaskCount(tasks);
    results_.taskRows.push_back({task, tasks, acc});
    filled(kContinualTab);
    continual_->setPlaceholderVisible(false);
    continual_->addTaskRow(task, acc);
  });
}

int MainWindow::run() {
  JobSettings s = job_->settings();
  s.modelA = models_->modelA();
  s.modelB = models_->modelB();
  s.arch = models_->arch();
  s.moreModels = models_->moreModels();
  return runner_->start(s);
}

void MainWindow::stop() {
  if (!runner_->isRunning()) return;
  runner_->stop();
  status_->setText(tr("Stopping..."));
}

void MainWindow::onStarted(int, const JobSettings& s) {
  running_ = s;
  // The user's own run on the models in the dock makes them the user's (nothing to put back).
  if (!startingDemo_) demoModelsShown_ = false, demoJob_ = 0;
  // A run that fails gives back what was shown before it (onFailed).
  resultsBefore_ = results_;
  runTabsBefore_ = runTabs_;
  runTabs_.clear();
  warnings_.clear();
  status_->setToolTip({});
  const int curvesBefore = int(results_.curves.size());
  results_.clearForJob(s);
  const bool curvesCleared = results_.curves.size() != curvesBefore || curvesBefore == 0;
  switch (s.task) {
    case Task::Recover:
      plans_->clear(), objective_->clear(), recovery_->clear();
      plans_->setPlaceholderVisible(true), objective_->setPlaceholderVisible(true);
      recovery_->setPlaceholderVisible(true);
      tabs_->setCurrentIndex(kPlansTab);
      break;
    case Task::Align:
    case Task::Interpolate:
      if (s.task == Task::Align) {
        plans_->clear(), objective_->clear();
        plans_->setPlaceholderVisible(true), objective_->setPlaceholderVisible(true);
      }
      // Curves of the same pair stay: one curve per method run, compared in one plot.
      if (curvesCleared) curves_->clear(), curves_->setPlaceholderVisible(true);
      landscape_->clear();
      landscape_->setPlaceholderVisible(true);
      landscapeGridSet_ = false;
      tabs_->setCurrentIndex(s.task == Task::Align ? kPlansTab : kCurvesTab);
      break;
    case Task::Continual:
      continual_->clear();
      continual_->setPlaceholderVisible(true);
      continual_->setTitle(tr("%1 on %2").arg(s.continualMethod, s.stream));
      tabs_->setCurrentIndex(kContinualTab);
      break;
    case Task::Merge:
      merge_->clear(), plans_->clear(), objective_->clear();
      merge_->setPlaceholderVisible(true), plans_->setPlaceholderVisible(true);
      objective_->setPlaceholderVisible(true);
      tabs_->setCurrentIndex(kMergeTab);
      break;
  }
  objective_->setTitle(s.method == "sinkhorn" ? tr("Sinkhorn re-basin, %1 cost").arg(s.cost) : s.method);
  job_->setRunning(true);
  // Indeterminate until the job reports its first real progress.
  progress_->setRange(0, 0);
  status_->setText(tr("Running %1...").arg(taskName(s.task)));
  device_->setText(tr("device: %1").arg(resolvedDeviceName(s.device)));
  QSettings().setValue("job/settings", settingsToKeep());
}

void MainWindow::onProgress(const JobProgress& p) {
  progress_->setRange(0, 1000);
  progress_->setValue(int(std::lround(1000 * std::clamp(p.fraction, 0.0, 1.0))));
  status_->setText(tr("%1: %2%, %3 elapsed, about %4 left")
                       .arg(p.stage)
                       .arg(int(100 * p.fraction))
                       .arg(formatSeconds(p.seconds), formatSeconds(p.eta)));
  if (!interactive_ && p.seconds - lastLog_ >= 1.0) {  // headless: a line a second on stderr
    lastLog_ = p.seconds;
    std::fprintf(stderr, "%s\n", qPrintable(status_->text()));
  }
}

void MainWindow::onFinished(const JobResult& r) {
  const bool replayDemo = pacedDemo_ && r.id == demoJob_;
  restoreUserModels(r.id);
  results_.summary = r.summary;
  if (!r.permutations.isEmpty()) results_.permutations = r.permutations;
  if (r.aligned && r.settings.task == Task::Align) {
    // The comparison table's seconds and steps for this method's curve.
    const QString label = r.summary.value("label").toString();
    const QJsonObject info{{"seconds", r.summary.value("seconds")},
                           {"steps", r.summary.value("steps")},
                           {"chosen_step", r.summary.value("chosen_step")}};
    results_.curveInfo[label] = info;
    curves_->setCurveInfo(label, info.value("seconds").toDouble(), info.value("steps").toInt(),
                          info.value("chosen_step").toInt(-1));
    shownAlignment_ = r.aligned;
    results_.alignment = r.settings.toJson();
    results_.alignment["label"] = r.summary.value("label");
  }
  if (!r.recovery.isEmpty()) {
    filled(kRecoveryTab);
    results_.recovery = r.recovery;
    recovery_->setPlaceholderVisible(false);
    recovery_->setGroups(r.recovery);
  }
  job_->setRunning(false);
  progress_->setRange(0, 1000);
  progress_->setValue(1000);
  QString text = tr("%1 finished").arg(taskName(r.settings.task));
  if (r.summary.contains("recovered_fraction"))
    text += tr(": %1% recovered").arg(100 * r.summary.value("recovered_fraction").toDouble(), 0, 'f', 1);
  if (r.summary.contains("barrier")) {
    const QJsonObject b = r.summary.value("barrier").toObject();
    text += tr(": loss barrier naive %1, aligned %2").arg(b.value("naive").toDouble(), 0, 'g', 4)
                .arg(b.value("aligned").toDouble(), 0, 'g', 4);
  }
  if (r.settings.task == Task::Merge) {
    const double merged = r.summary.value("merged").toObject().value("accuracy").toDouble();
    text += tr(": merged accuracy %1%").arg(100 * merged, 0, 'f', 2);
  }
  if (r.summary.contains("average_accuracy"))
    text += tr(": average accuracy %1%").arg(100 * r.summary.value("average_accuracy").toDouble(), 0, 'f', 2);
  // The whole job's time where a report has it (merge: "seconds" is the merge's own).
  const QString secondsKey = r.summary.contains("total_seconds") ? QStringLiteral("total_seconds") : QStringLiteral("seconds");
  if (r.summary.contains(secondsKey)) text += tr(" (%1)").arg(formatSeconds(r.summary.value(secondsKey).toDouble()));
  // Warnings stay in view with the result they qualify (and in the report).
  if (!warnings_.isEmpty()) {
    text += tr(" - warning: %1").arg(warnings_.first());
    results_.summary["warnings"] = QJsonArray::fromStringList(warnings_);
  }
  status_->setText(text);
  if (r.settings.task == Task::Recover) tabs_->setCurrentIndex(kPlansTab);
  if (replayDemo) {
    pacedDemo_ = false;
    tabs_->setCurrentIndex(kPlansTab);
    plans_->replay(20.0);
  }
  recordRun(r);
  if (demoActive_) finishDemo(0, {});
}

void MainWindow::onWarning(const QString& line) {
  QString text = line;
  if (text.startsWith(QStringLiteral("note: "))) text = text.mid(6);
  warnings_ << text;
  status_->setText(tr("Warning: %1").arg(text));
  status_->setToolTip(warnings_.join('\n'));
  if (!interactive_) std::fprintf(stderr, "rebasin-studio: warning: %s\n", qPrintable(text));
}

void MainWindow::onFailed(int id, const QString& message) {
  restoreUserModels(id);
  // Nothing of the failed run replaces what was shown: the results from before it come back.
  results_ = resultsBefore_;
  runTabs_ = runTabsBefore_;
  redrawFromResults();
  job_->setRunning(false);
  progress_->setRange(0, 1000);
  progress_->setValue(0);
  status_->setText(tr("Failed: %1").arg(message));
  if (demoActive_) return finishDemo(1, message);
  reportError(tr("The job failed"), message);
}

void MainWindow::onCancelled(int id) {
  restoreUserModels(id);
  job_->setRunning(false);
  progress_->setRange(0, 1000);
  progress_->setValue(0);
  status_->setText(tr("Stopped"));
  if (demoActive_) finishDemo(1, tr("the demo was stopped"));
}

void MainWindow::reportError(const QString& title, const QString& message) {
  std::fprintf(stderr, "rebasin-studio: %s\n", qPrintable(message));
  if (interactive_) QMessageBox::warning(this, title, message);
}

bool MainWindow::startDemo(const QString& name, const DemoOutputs& outputs) {
  JobSettings s;
  QString error;
  if (!demoSettings(name, &s, &error)) {
    if (!outputs.screenshot.isEmpty() || !outputs.report.isEmpty()) {
      demoActive_ = true;
      demoOutputs_ = outputs;
      finishDemo(1, error);
    } else {
      reportError(tr("Demo"), error);
    }
    return false;
  }
  if (demoShown_.isEmpty() || job_->settings().toJson() != demoShown_) userSettings_ = job_->settings().toJson();
  job_->setSettings(s);
  demoShown_ = job_->settings().toJson();
  pacedDemo_ = false;  // startPacedDemo sets it again after this
  if (!demoModelsShown_) userModels_ = {models_->arch(), models_->modelA(), models_->modelB(), models_->moreModels()};
  demoModelsShown_ = true;
  models_->setArch(s.arch);
  models_->setModel(0, s.modelA);
  models_->setModel(1, s.modelB);
  models_->setMoreModels({});
  demoActive_ = !outputs.screenshot.isEmpty() || !outputs.report.isEmpty() || !outputs.plotsDir.isEmpty();
  demoOutputs_ = outputs;
  startingDemo_ = true;
  demoJob_ = runner_->start(s);
  startingDemo_ = false;
  return true;
}

bool MainWindow::startPacedDemo(const QString& name) {
  if (!startDemo(name)) return false;
  pacedDemo_ = true;
  return true;
}

void MainWindow::restoreUserModels(int endedJob) {
  // Only the latest demo's end counts: a demo replaced by another must not put the user's
  // models over the new demo's.
  if (!demoModelsShown_ || endedJob != demoJob_ || demoActive_) return;
  demoModelsShown_ = false;
  demoJob_ = 0;
  models_->setArch(userModels_.arch);
  models_->setModel(0, userModels_.a);
  models_->setModel(1, userModels_.b);
  models_->setMoreModels(userModels_.more);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  QSettings settings;
  settings.setValue("window/geometry", saveGeometry());
  settings.setValue("window/state", saveState());
  settings.setValue("job/settings", settingsToKeep());
  runner_->stop();
  QMainWindow::closeEvent(event);
}

}  // namespace rebasin::studio
