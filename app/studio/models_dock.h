// The Models dock: model A and model B (path, format, detected architecture, parameter count),
// the architecture when auto detection fails, and A's permutation groups. Files come from Open buttons, drag and drop or the recent list;
// they are inspected on a pool thread so a large checkpoint never blocks the GUI.
#pragma once

#include <QDockWidget>

#include "app/studio/jobs.h"

class QLabel;
class QLineEdit;
class QListWidget;
class QTableWidget;

namespace rebasin::studio {

class ModelsDock : public QDockWidget {
  Q_OBJECT
 public:
  explicit ModelsDock(QWidget* parent = nullptr);

  QString modelA() const;
  QString modelB() const;
  // which: 0 = A, 1 = B. Empty path clears the slot.
  void setModel(int which, const QString& path);
  // The same, as the user's own choice (Open, drag and drop, recent files, the command line):
  // also emits modelOpened, which selects the align task once both models are there.
  void openModel(int which, const QString& path);
  QStringList recentFiles() const;
  // The architecture both models are read with: "auto" unless chosen. The field (a built-in
  // name, or a TorchScript file of the same model with a file picker) shows when auto detection
  // fails for a model, or when something other than auto is set.
  QString arch() const;
  void setArch(const QString& arch);
  bool archFieldVisible() const;
  // Models after A and B, for the merge task (merged with A and B into A's frame).
  QStringList moreModels() const;
  void setMoreModels(const QStringList& paths);

 Q_SIGNALS:
  void modelsChanged();
  void modelOpened(int which);
  // The user added models to merge (Add..., or a drop of three or more files).
  void moreModelsOpened();
  void recentFilesChanged();
  void inspected(int which, const rebasin::studio::ModelInfo& info);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void browse(int which);
  void showInfo(int which, const ModelInfo& info);
  void addRecent(const QString& path);
  void browseArch();
  void addMoreModels();
  void inspect(int which);
  void updateArchRow();

  QLineEdit* path_[2] = {};
  QString shown_[2];  // the paths last set
  QLabel* info_[2] = {};
  QWidget* archRow_ = nullptr;
  QLineEdit* arch_ = nullptr;
  QString archShown_;
  bool needsArch_[2] = {false, false};  // the last inspection found no built-in that fits
  // A is a TorchScript model: under auto, B is read through A's graph (as the jobs read it).
  bool aIsTorchScript_ = false;
  QTableWidget* groups_ = nullptr;
  QListWidget* more_ = nullptr;
  int generation_[2] = {0, 0};  // drops results of an inspection superseded by a newer file
};

}  // namespace rebasin::studio
