// The run history: every finished run kept with its settings and results, so an earlier one can
// be shown again (and exported, and re-run) after newer runs replaced it.
#include <QAction>
#include <QDateTime>
#include <QLabel>
#include <QMenu>
#include <QTabWidget>

#include "app/studio/job_dock.h"
#include "app/studio/main_window.h"
#include "app/studio/models_dock.h"
#include "widgets/plan_heatmap.h"

namespace rebasin::studio {

void MainWindow::buildRunsMenu(QMenu* runs) {
  runsMenu_ = runs;
  rebuildRunsMenu();
}

QString MainWindow::runTitle(int index) const {
  return index >= 0 && index < runs_.size() ? runs_[index].title : QString();
}

void MainWindow::recordRun(const JobResult& r) {
  RunRecord run;
  QString what = taskName(r.settings.task);
  if (r.summary.contains("label")) what += QStringLiteral(" ") + r.summary.value("label").toString();
  else if (r.settings.task == Task::Continual) what += QStringLiteral(" ") + r.settings.continualMethod;
  QString outcome;
  if (r.summary.contains("barrier"))
    outcome = tr(": barrier %1").arg(r.summary.value("barrier").toObject().value("aligned").toDouble(), 0, 'g', 4);
  else if (r.summary.contains("recovered_fraction"))
    outcome = tr(": %1% recovered").arg(100 * r.summary.value("recovered_fraction").toDouble(), 0, 'f', 1);
  run.title = QStringLiteral("%1  %2%3").arg(QTime::currentTime().toString(QStringLiteral("HH:mm:ss")), what, outcome);
  run.settings = r.settings;
  run.results = results_;
  run.aligned = shownAlignment_;
  runs_.append(run);
  if (runs_.size() > kRunHistory) runs_.removeFirst();
  shownRun_ = int(runs_.size()) - 1;
  rebuildRunsMenu();
}

bool MainWindow::showRun(int index) {
  if (index < 0 || index >= runs_.size() || runner_->isRunning()) return false;
  const RunRecord& run = runs_[index];
  shownRun_ = index;
  results_ = run.results;
  shownAlignment_ = run.aligned;
  running_ = run.settings;
  job_->setSettings(run.settings);
  if (!run.settings.modelA.isEmpty() || !run.settings.modelB.isEmpty()) {
    models_->setModel(0, run.settings.modelA);
    models_->setModel(1, run.settings.modelB);
  }
  runTabs_.clear();
  redrawFromResults();
  status_->setText(tr("Showing run %1 of %2: %3").arg(index + 1).arg(runs_.size()).arg(run.title));
  rebuildRunsMenu();
  return true;
}

bool MainWindow::comparePlansWith(int index) {
  QWidget* box = comparePlans_->parentWidget();
  if (index < 0 || index >= runs_.size() || runs_[index].results.plans.isEmpty()) {
    box->setVisible(false);
    comparePlans_->clear();
    return index < 0;
  }
  comparePlans_->clear();
  for (const auto& plan : runs_[index].results.plans) comparePlans_->setPlan(plan);
  comparePlans_->selectGroup(plans_->selectedGroup());
  comparePlans_->setPlaceholderVisible(false);
  compareTitle_->setText(tr("Compared with run %1: %2").arg(index + 1).arg(runs_[index].title));
  box->setVisible(true);
  tabs_->setCurrentIndex(kPlansTab);
  return true;
}

void MainWindow::rebuildRunsMenu() {
  if (!runsMenu_) return;
  runsMenu_->clear();
  QAction* back = runsMenu_->addAction(tr("Show the &previous run"), QKeySequence::Undo, this,
                                       [this] { showRun(shownRun_ - 1); });
  back->setEnabled(shownRun_ > 0);
  QAction* forward = runsMenu_->addAction(tr("Show the &next run"), QKeySequence::Redo, this,
                                          [this] { showRun(shownRun_ + 1); });
  forward->setEnabled(shownRun_ >= 0 && shownRun_ + 1 < runs_.size());
  QMenu* compare = runsMenu_->addMenu(tr("&Compare plans with"));
  compare->setToolTip(tr("Show another run's plans of the same group beside these"));
  compare->addAction(tr("(close the comparison)"), this, [this] { comparePlansWith(-1); });
  for (int i = int(runs_.size()) - 1; i >= 0; --i)
    if (!runs_[i].results.plans.isEmpty())
      compare->addAction(runs_[i].title, this, [this, i] { comparePlansWith(i); });
  runsMenu_->addSeparator();
  if (runs_.isEmpty()) runsMenu_->addAction(tr("(no finished run yet)"))->setEnabled(false);
  for (int i = int(runs_.size()) - 1; i >= 0; --i) {
    QAction* a = runsMenu_->addAction(runs_[i].title, this, [this, i] { showRun(i); });
    a->setCheckable(true);
    a->setChecked(i == shownRun_);
  }
}

}  // namespace rebasin::studio
