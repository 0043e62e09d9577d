// The Job dock: which task to run and its settings (method, cost, tau, iterations, lr, steps,
// data, device, seed ...; under Advanced the CLI's other options: --key, --residual,
// --normalize, --input, --backward, --batch-size, --no-bn-reset), with Run and Stop always in
// view below the scrolling rows. Rows that do not apply to the task are hidden.
#pragma once

#include <QDockWidget>

#include "app/studio/job_settings.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLineEdit;
class QPushButton;
class QScrollArea;
class QSpinBox;

namespace rebasin::studio {

class JobDock : public QDockWidget {
  Q_OBJECT
 public:
  explicit JobDock(QWidget* parent = nullptr);

  // The settings as shown (model paths are the Models dock's: left empty here).
  JobSettings settings() const;
  void setSettings(const JobSettings& settings);
  void setRunning(bool running);

 Q_SIGNALS:
  void runRequested();
  void stopRequested();

 protected:
  // A wheel over a field that does not have the focus scrolls the rows instead of changing the
  // field (scrolling the dock must never change a setting unseen).
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void updateVisibleRows();
  void setRowVisible(QWidget* field, bool visible);

  QFormLayout* form_ = nullptr;
  QScrollArea* scroll_ = nullptr;
  QFormLayout* advancedForm_ = nullptr;
  QWidget* advanced_ = nullptr;  // the Advanced rows: the CLI's remaining options
  QPushButton* advancedToggle_ = nullptr;
  QLineEdit *key_, *normalize_, *input_;
  QComboBox *residual_, *backward_;
  QSpinBox* batchSize_;
  QCheckBox* bnReset_;
  QComboBox *task_, *method_, *cost_, *init_, *data_, *split_, *device_, *stream_, *clMethod_, *mergeTarget_;
  QCheckBox* repair_;
  QLineEdit* recoverArch_;
  QDoubleSpinBox *tau_, *lr_;
  QSpinBox *iterations_, *steps_, *patience_, *points_, *grid_, *tasks_, *epochs_, *trainPerTask_, *seed_;
  QPushButton *run_, *stop_;
};

}  // namespace rebasin::studio
