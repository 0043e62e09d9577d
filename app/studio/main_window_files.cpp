// MainWindow's menus and everything it writes or reads: plots, data, checkpoints, permutations,
// session files, and the outputs of a headless demo run.
#include <QAction>
#include <QApplication>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>
#include <QJsonDocument>
#include <QMenuBar>
#include <QMessageBox>
#include <QSaveFile>
#include <QTabWidget>
#include <QTimer>
#include <QToolBar>

#include <cstdio>

#include "app/studio/job_dock.h"
#include "app/studio/main_window.h"
#include "app/studio/models_dock.h"
#include "widgets/continual_plot.h"
#include "widgets/curves_plot.h"
#include "widgets/qcp.h"
#include "widgets/landscape_plot.h"
#include "widgets/merge_plot.h"
#include "widgets/objective_plot.h"
#include "widgets/plan_heatmap.h"
#include "widgets/plot_export.h"
#include "widgets/recovery_plot.h"

namespace rebasin::studio {

namespace {

constexpr int kSessionVersion = 1;

bool writeAtomically(const QString& path, const QByteArray& bytes, QString* error) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
    *error = QObject::tr("cannot write %1: %2").arg(path, file.errorString());
    return false;
  }
  return true;
}

// Core reports failures as exceptions; the window reports them as messages.
template <class F>
bool attempt(QString* error, F f) {
  try {
    f();
    return true;
  } catch (const std::exception& e) {
    *error = QString::fromUtf8(e.what());
    return false;
  }
}

QString tabFileName(const QString& title) { return title.toLower().replace(' ', '-'); }

}  // namespace

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("Open model &A..."), QKeySequence::Open, this, [this] {
    const QString p = QFileDialog::getOpenFileName(this, tr("Open model A"));
    if (!p.isEmpty()) models_->openModel(0, p);
  });
  file->addAction(tr("Open model &B..."), QKeySequence(tr("Ctrl+Shift+O")), this, [this] {
    const QString p = QFileDialog::getOpenFileName(this, tr("Open model B"));
    if (!p.isEmpty()) models_->openModel(1, p);
  });
  recentMenu_ = file->addMenu(tr("Open &recent"));
  connect(models_, &ModelsDock::recentFilesChanged, this, &MainWindow::rebuildRecentMenu);
  rebuildRecentMenu();
  file->addSeparator();
  file->addAction(tr("&Open session..."), this, [this] {
    const QString p = QFileDialog::getOpenFileName(this, tr("Open session"), {}, tr("Sessions (*.rebasin.json *.json)"));
    QString error;
    if (!p.isEmpty() && !openSession(p, &error)) reportError(tr("Open session"), error);
  });
  file->addAction(tr("&Save session..."), QKeySequence::Save, this, [this] {
    const QString p = QFileDialog::getSaveFileName(this, tr("Save session"), QStringLiteral("session.rebasin.json"));
    QString error;
    if (!p.isEmpty() && !saveSession(p, &error)) reportError(tr("Save session"), error);
  });
  file->addSeparator();
  file->addAction(tr("&Export plot..."), QKeySequence(tr("Ctrl+E")), this, [this] {
    const QString p = QFileDialog::getSaveFileName(this, tr("Export plot"), tabFileName(tabs_->tabText(tabs_->currentIndex())) + ".png",
                                                   tr("PNG (*.png);;PDF (*.pdf);;SVG (*.svg)"));
    if (p.isEmpty()) return;
    // Size: as shown, or presets for slides and print (PNG at twice the pixels, 192 dpi).
    const QStringList sizes = {tr("as shown"), tr("1200 x 800"), tr("1600 x 1000 (slides)"),
                               tr("1200 x 800 at 2x (print, 192 dpi)")};
    bool ok = false;
    const QString size = QInputDialog::getItem(this, tr("Export plot"), tr("Size"), sizes, 0, false, &ok);
    if (!ok) return;
    const int choice = int(sizes.indexOf(size));
    const int width = choice == 1 || choice == 3 ? 1200 : choice == 2 ? 1600 : 0;
    const int height = choice == 1 || choice == 3 ? 800 : choice == 2 ? 1000 : 0;
    QString error;
    if (!exportCurrentPlot(p, &error, width, height, choice == 3 ? 2.0 : 1.0)) reportError(tr("Export plot"), error);
  });
  file->addAction(tr("Export &all plots..."), this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export all plots (PNG, PDF and SVG) into"));
    QString error;
    for (const char* suffix : {"png", "pdf", "svg"})
      if (!dir.isEmpty() && !exportAllPlots(dir, suffix, &error)) return reportError(tr("Export plots"), error);
  });
  file->addAction(tr("Export &data..."), this, [this] {
    const QString p = QFileDialog::getSaveFileName(this, tr("Export data"), currentTable() + ".csv",
                                                   tr("CSV of this tab (*.csv);;JSON, everything (*.json)"));
    QString error;
    if (!p.isEmpty() && !exportData(p, &error)) reportError(tr("Export data"), error);
  });
  file->addAction(tr("Export aligned &checkpoint..."), this, [this] {
    const QString p = QFileDialog::getSaveFileName(this, tr("Export aligned model B"), QStringLiteral("b-aligned.safetensors"),
                                                   tr("safetensors (*.safetensors)"));
    QString error;
    if (!p.isEmpty() && !exportAligned(p, &error)) reportError(tr("Export checkpoint"), error);
  });
  file->addAction(tr("Export &merged checkpoint..."), this, [this] {
    const QString p = QFileDialog::getSaveFileName(this, tr("Export the merged model"), QStringLiteral("merged.safetensors"),
                                                   tr("safetensors (*.safetensors)"));
    QString error;
    if (!p.isEmpty() && !exportMerged(p, &error)) reportError(tr("Export merged checkpoint"), error);
  });
  file->addAction(tr("Export &permutations..."), this, [this] {
    const QString p = QFileDialog::getSaveFileName(this, tr("Export permutations"), QStringLiteral("permutations.json"), tr("JSON (*.json)"));
    QString error;
    if (!p.isEmpty() && !exportPermutationFile(p, &error)) reportError(tr("Export permutations"), error);
  });
  file->addAction(tr("Export &interpolated model..."), this, [this] {
    bool ok = false;
    const double lambda = QInputDialog::getDouble(this, tr("Interpolated model"), tr("lambda (0 = A, 1 = aligned B)"), 0.5, 0, 1, 3, &ok);
    if (!ok) return;
    const QString p = QFileDialog::getSaveFileName(this, tr("Export interpolated model"), QStringLiteral("interpolated.safetensors"),
                                                   tr("safetensors (*.safetensors)"));
    QString error;
    if (!p.isEmpty() && !exportInterpolatedModel(lambda, p, &error)) reportError(tr("Export model"), error);
  });
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  QMenu* job = menuBar()->addMenu(tr("&Job"));
  job->addAction(tr("&Run"), QKeySequence(tr("Ctrl+R")), this, [this] { run(); });
  job->addAction(tr("&Stop"), QKeySequence(Qt::Key_Escape), this, &MainWindow::stop);
  buildRunsMenu(menuBar()->addMenu(tr("R&uns")));

  buildViewMenu(menuBar()->addMenu(tr("&View")));

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  QMenu* demos = help->addMenu(tr("&Demos"));
  // The demos are also on a toolbar: from launch to a live, sharpening plan in one click.
  QToolBar* demoBar = addToolBar(tr("Demos"));
  demoBar->setObjectName(QStringLiteral("DemoToolBar"));
  demoBar->setToolButtonStyle(Qt::ToolButtonTextOnly);
  const struct {
    const char* name;
    QString text, shortcut;
  } entries[] = {{"recover", tr("Recover a hidden permutation"), tr("Ctrl+1")},
                 {"align", tr("Align two MNIST networks"), tr("Ctrl+2")},
                 {"continual", tr("Continual learning on rotated MNIST"), tr("Ctrl+3")},
                 {"vit", tr("Align two vision transformers"), tr("Ctrl+4")}};
  for (const auto& e : entries) {
    const QString name = QString::fromLatin1(e.name);
    QAction* a = demos->addAction(e.text, QKeySequence(e.shortcut), this, [this, name] { startDemo(name); });
    a->setToolTip(tr("Demo: %1 (no files needed)").arg(e.text));
    demoBar->addAction(a);
  }
  QAction* paced = demos->addAction(tr("Recover a hidden permutation, paced for narration"), QKeySequence(tr("Ctrl+5")),
                                    this, [this] { startPacedDemo(QStringLiteral("recover")); });
  paced->setToolTip(tr("The recover demo, then its plans replayed over 20 s: time to say what is happening"));
  help->addSeparator();
  buildHelpPages(help);
  help->addAction(tr("&About"), this, [this] {
    QMessageBox::about(this, tr("About Rebasin Studio"),
                       tr("<b>Rebasin Studio %1</b><p>Aligns neural networks by permutation with Sinkhorn "
                          "re-basin (Guerrero Pe\u00f1a et al., CVPR 2023) and shows it live.</p>")
                           .arg(QApplication::applicationVersion()));
  });
}

void MainWindow::rebuildRecentMenu() {
  recentMenu_->clear();
  for (const QString& path : models_->recentFiles()) {
    QMenu* m = recentMenu_->addMenu(QFileInfo(path).fileName());
    m->setToolTip(path);
    m->addAction(tr("as model A"), this, [this, path] { models_->openModel(0, path); });
    m->addAction(tr("as model B"), this, [this, path] { models_->openModel(1, path); });
  }
  recentMenu_->setEnabled(!recentMenu_->isEmpty());
}

QString MainWindow::figureCaption(int tab) const {
  const JobSettings& s = running_;
  const auto base = [](const QString& path) { return QFileInfo(path).completeBaseName(); };
  QStringList parts;
  switch (s.task) {
    case Task::Recover: parts << tr("recover: %1").arg(s.recoverArch); break;
    case Task::Continual: parts << tr("%1 on %2").arg(s.continualMethod, s.stream); break;
    case Task::Merge: parts << tr("merge of %1 models").arg(2 + s.moreModels.size()); break;
    default: if (!s.modelA.isEmpty()) parts << tr("A %1, B %2").arg(base(s.modelA), base(s.modelB));
  }
  if (!s.data.isEmpty() && s.task != Task::Recover) parts << tr("data %1").arg(s.data);
  if (s.task != Task::Continual)
    parts << (s.method == QLatin1String("sinkhorn") ? tr("sinkhorn, %1 cost").arg(s.cost) : s.method);
  if (tab == kPlansTab && !plans_->selectedGroupName().isEmpty())
    parts << tr("group %1, %2").arg(plans_->selectedGroupName(), plans_->stepText());
  parts << tr("seed %1").arg(s.seed);
  return parts.join(QStringLiteral(" \u00B7 "));
}

bool MainWindow::exportCurrentPlot(const QString& path, QString* error, int width, int height, double scale) {
  widgets::PlotFrame* frame = currentPlot();
  if (!frame) return *error = tr("no plot to export"), false;
  if (frame->isPlaceholderVisible())
    return *error = tr("the %1 tab has nothing to export yet: run a job first").arg(tabs_->tabText(tabs_->currentIndex())),
           false;
  widgets::ExportOptions o;
  o.width = width, o.height = height, o.scale = scale;
  // A plan is a square matrix: its figure is square too.
  if (tabs_->currentIndex() == kPlansTab) {
    const int side = width > 0 ? std::max(width, height) : std::max(frame->plot()->width(), frame->plot()->height());
    o.width = o.height = side;
  }
  o.caption = figureCaption(tabs_->currentIndex());
  return widgets::exportPlot(frame->plot(), path, error, o);
}

bool MainWindow::exportAllPlots(const QString& dir, const QString& suffix, QString* error) {
  int written = 0;
  for (int i = 0; i < tabs_->count(); ++i) {
    widgets::PlotFrame* frame = plotOfTab(i);
    // The last run's tabs only: an older run's continual or merge tab is not this run's figure.
    if (!frame || frame->isPlaceholderVisible() || (!runTabs_.isEmpty() && !runTabs_.contains(i))) continue;
    const QString path = QDir(dir).filePath(tabFileName(tabs_->tabText(i)) + "." + suffix);
    widgets::ExportOptions o;
    o.width = i == kPlansTab ? 1000 : 1200;
    o.height = i == kPlansTab ? 1000 : 800;
    o.caption = figureCaption(i);
    if (!widgets::exportPlot(frame->plot(), path, error, o)) return false;
    ++written;
  }
  if (written == 0) return *error = tr("nothing to export yet: run a job first"), false;
  return true;
}

bool MainWindow::exportData(const QString& path, QString* error) {
  if (path.endsWith(".json", Qt::CaseInsensitive))
    return writeAtomically(path, QJsonDocument(results_.toJson()).toJson(), error);
  return writeAtomically(path, results_.csv(currentTable()).toUtf8(), error);
}

bool MainWindow::exportMerged(const QString& path, QString* error) {
  auto model = runner_->lastMerge();
  if (!model) return *error = tr("no merged model yet: run a merge job first"), false;
  return attempt(error, [&] { exportMergedCheckpoint(*model, path); });
}

bool MainWindow::exportAligned(const QString& path, QString* error) {
  auto model = currentAlignment(error);
  if (!model) return false;
  return attempt(error, [&] { exportAlignedCheckpoint(*model, path); });
}

bool MainWindow::exportPermutationFile(const QString& path, QString* error) {
  auto model = currentAlignment(error);
  if (!model) return false;
  return attempt(error, [&] { exportPermutations(*model, path); });
}

bool MainWindow::exportInterpolatedModel(double lambda, const QString& path, QString* error) {
  auto model = currentAlignment(error);
  if (!model) return false;
  return attempt(error, [&] { exportInterpolated(*model, lambda, path); });
}

std::shared_ptr<const AlignedModel> MainWindow::currentAlignment(QString* error) {
  if (shownAlignment_) return shownAlignment_;
  if (results_.permutations.isEmpty() || results_.alignment.isEmpty()) {
    *error = tr("no alignment yet: run an align job first");
    return nullptr;
  }
  // A reopened session: the alignment again from its models and permutations (kept once built).
  attempt(error, [&] {
    shownAlignment_ = alignmentFromPermutations(JobSettings::fromJson(results_.alignment), results_.permutations,
                                                results_.alignment.value("label").toString());
  });
  return shownAlignment_;
}

bool MainWindow::saveSession(const QString& path, QString* error) {
  JobSettings s = job_->settings();
  s.modelA = models_->modelA();
  s.modelB = models_->modelB();
  s.arch = models_->arch();
  s.moreModels = models_->moreModels();
  const QJsonObject session{{"rebasin_studio_session", kSessionVersion},
                            {"settings", s.toJson()},
                            {"current_tab", tabs_->currentIndex()},
                            {"results", results_.toJson()}};
  return writeAtomically(path, QJsonDocument(session).toJson(QJsonDocument::Compact), error);
}

bool MainWindow::openSession(const QString& path, QString* error) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) return *error = tr("cannot open %1: %2").arg(path, file.errorString()), false;
  QJsonParseError parse;
  const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &parse);
  if (doc.isNull() || !doc.object().contains("rebasin_studio_session"))
    return *error = tr("%1 is not a Rebasin Studio session file").arg(path), false;
  const QJsonObject session = doc.object();
  const JobSettings s = JobSettings::fromJson(session.value("settings").toObject());
  job_->setSettings(s);
  models_->setArch(s.arch);
  models_->setModel(0, s.modelA);
  models_->setModel(1, s.modelB);
  models_->setMoreModels(s.moreModels);
  results_ = Results::fromJson(session.value("results").toObject());
  shownAlignment_.reset();  // the session's alignment, rebuilt when an export needs it
  shownRun_ = int(runs_.size());  // not a run of the history: "previous" is the latest run
  rebuildRunsMenu();
  redrawFromResults();
  tabs_->setCurrentIndex(session.value("current_tab").toInt());
  return true;
}

void MainWindow::redrawFromResults() {
  plans_->clear(), objective_->clear(), curves_->clear(), landscape_->clear(), recovery_->clear(), continual_->clear();
  merge_->setView(results_.merge);
  for (const auto& p : results_.plans) plans_->setPlan(p);
  for (const auto& s : results_.steps) objective_->addSample(s);
  for (const auto& p : results_.plans)
    if (p.result) objective_->setChosenStep(p.step);
  for (const auto& c : results_.curves) curves_->addPoint(c);
  for (auto it = results_.curveInfo.constBegin(); it != results_.curveInfo.constEnd(); ++it)
    curves_->setCurveInfo(it.key(), it->toObject().value("seconds").toDouble(), it->toObject().value("steps").toInt(),
                          it->toObject().value("chosen_step").toInt(-1));
  if (!results_.recovery.isEmpty()) recovery_->setGroups(results_.recovery);
  if (!results_.taskRows.isEmpty()) continual_->setTaskCount(results_.taskRows.first().tasks);
  for (const auto& r : results_.taskRows) continual_->addTaskRow(r.task, r.accuracy);
  landscapeGridSet_ = false;
  for (const auto& r : results_.landscape) {
    if (!landscapeGridSet_ && !r.xs.isEmpty() && !r.ys.isEmpty()) {
      landscape_->setGrid(r.rows, int(r.xs.size()), r.xs.first(), r.xs.last(), r.ys.first(), r.ys.last());
      landscape_->setMarks(r.marks);
      landscapeGridSet_ = true;
    }
    landscape_->setRow(r.row, r.loss);
  }
  showPlaceholders(results_.plans.isEmpty(), results_.curves.isEmpty(), results_.landscape.isEmpty(),
                   results_.steps.isEmpty(), results_.recovery.isEmpty(), results_.taskRows.isEmpty(),
                   results_.merge.models.isEmpty());
}

QJsonArray MainWindow::drawnEvidence(const QJsonArray& groups) const {
  // Per group what the plan view draws and what the run returned, in one convention (row i ->
  // column), so a headless run shows whether the view tells the truth.
  QJsonArray out;
  const auto list = [](const QVector<qint64>& v) {
    QJsonArray a;
    for (qint64 x : v) a.append(double(x));
    return a;
  };
  for (auto it = results_.plans.constBegin(); it != results_.plans.constEnd(); ++it) {
    const int g = it.key();
    QJsonObject o = g < groups.size() ? groups[g].toObject() : QJsonObject{};
    o["name"] = it->name;
    o["drawn_step"] = it->step;
    o["drawn_is_result"] = plans_->showsResult(g);
    o["drawn_assignment"] = list(plans_->drawnAssignment(g));
    if (g < results_.permutations.size()) o["permutation"] = list(results_.permutations[g]);
    out.append(o);
  }
  return out.isEmpty() ? groups : out;
}

void MainWindow::finishDemo(int exitCode, const QString& message) {
  demoActive_ = false;
  if (exitCode != 0) {
    std::fprintf(stderr, "rebasin-studio: demo failed: %s\n", qPrintable(message));
    QTimer::singleShot(0, qApp, [exitCode] { QApplication::exit(exitCode); });
    return;
  }
  // Let the queued replots of the last results land before grabbing the window.
  QTimer::singleShot(300, this, [this] {
    QString error;
    bool ok = true;
    if (!demoOutputs_.plotsDir.isEmpty()) {
      ok = QDir().mkpath(demoOutputs_.plotsDir) && exportAllPlots(demoOutputs_.plotsDir, "png", &error);
      if (ok) ok = exportAllPlots(demoOutputs_.plotsDir, "svg", &error);
    }
    if (ok && !demoOutputs_.report.isEmpty()) {
      QJsonObject report = results_.summary;
      report["settings"] = running_.toJson();
      report["groups"] = drawnEvidence(report.value("groups").toArray());
      ok = writeAtomically(demoOutputs_.report, QJsonDocument(report).toJson(), &error);
    }
    if (ok && !demoOutputs_.screenshot.isEmpty()) ok = widgets::exportWidget(this, demoOutputs_.screenshot, &error);
    if (!ok) std::fprintf(stderr, "rebasin-studio: %s\n", qPrintable(error));
    else std::fprintf(stderr, "rebasin-studio: %s\n", qPrintable(status_->text()));
    QApplication::exit(ok ? 0 : 1);
  });
}

}  // namespace rebasin::studio
