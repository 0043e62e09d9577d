#include "app/studio/job_dock.h"

#include <algorithm>

#include <QAbstractSpinBox>
#include <QCheckBox>
#include <QCoreApplication>
#include <QEvent>
#include <QScrollBar>
#include <QFrame>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>

#include "align/method_registry.h"

namespace rebasin::studio {

namespace {

QComboBox* combo(QWidget* parent, const QStringList& items, const QString& name) {
  auto* c = new QComboBox(parent);
  c->addItems(items);
  c->setObjectName(name);
  return c;
}

QSpinBox* spin(QWidget* parent, int lo, int hi, int value, const QString& special = {}) {
  auto* s = new QSpinBox(parent);
  s->setRange(lo, hi);
  s->setValue(value);
  if (!special.isEmpty()) s->setSpecialValueText(special);
  return s;
}

void setCombo(QComboBox* c, const QString& text) {
  const int i = c->findText(text);
  if (i >= 0) c->setCurrentIndex(i);
}

}  // namespace

JobDock::JobDock(QWidget* parent) : QDockWidget(tr("Job"), parent) {
  setObjectName(QStringLiteral("JobDock"));
  // The rows scroll; Run and Stop stay below them, reachable at any window height.
  auto* frame = new QWidget(this);
  auto* frameLayout = new QVBoxLayout(frame);
  frameLayout->setContentsMargins(0, 0, 0, 0);
  auto* scroll = new QScrollArea(frame);
  scroll_ = scroll;
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  auto* body = new QWidget(scroll);
  auto* outer = new QVBoxLayout(body);
  form_ = new QFormLayout;
  outer->addLayout(form_);
  task_ = combo(body, {"recover", "align", "interpolate", "continual", "merge"}, "task");
  task_->setToolTip(tr("recover: hide a permutation in a random model and find it again\n"
                       "align: align model B to model A, then compare the interpolation curves\n"
                       "interpolate: loss and accuracy between A and B (aligned B after an alignment)\n"
                       "continual: learn a stream of tasks one after another\n"
                       "merge: align A, B and the further models into one frame and average them"));
  recoverArch_ = new QLineEdit(QStringLiteral("mlp:784,512,512,10"), body);
  recoverArch_->setToolTip(tr("mlp:784,512,512,10[:tanh], vgg11, vgg:8,M,32, resnet20x4, resnet18, tv:resnet18, tv:vgg11_bn:w8"));
  // Every method of core's registry, with its one-line summary as the item's tooltip.
  method_ = new QComboBox(body);
  method_->setObjectName(QStringLiteral("method"));
  for (const align::MethodEntry& m : align::methods()) {
    method_->addItem(QString::fromStdString(m.name));
    method_->setItemData(method_->count() - 1, QString::fromStdString(m.summary), Qt::ToolTipRole);
  }
  method_->setCurrentText(QStringLiteral("sinkhorn"));
  method_->setToolTip(tr("How B's units are matched to A's (hover an item for what it does); naive and random are\n"
                         "the baselines every alignment is compared with"));
  QStringList costs;
  for (const std::string& c : align::cost_names()) costs << QString::fromStdString(c);
  cost_ = combo(body, costs, "cost");
  cost_->setToolTip(tr("Sinkhorn's cost: l2, l1 between the weights (data free); mid (loss at the midpoint)\n"
                       "or rnd (loss at a random point of the line) on training data"));
  init_ = combo(body, {"auto", "identity", "weight"}, "init");
  init_->setToolTip(tr("auto: weight-matching warm start for the mid and rnd costs, identity for l2 and l1"));
  tau_ = new QDoubleSpinBox(body);
  tau_->setRange(0.001, 100);
  tau_->setDecimals(3);
  tau_->setValue(1.0);
  tau_->setToolTip(tr("--tau: Sinkhorn's temperature; smaller gives sharper soft plans (closer to permutations)"));
  iterations_ = spin(body, 1, 1000, 20);
  iterations_->setToolTip(tr("--iters: Sinkhorn normalisations per soft plan (rows and columns scaled in turn)"));
  lr_ = new QDoubleSpinBox(body);
  lr_->setRange(0, 100);
  lr_->setDecimals(3);
  lr_->setSpecialValueText(tr("default"));
  lr_->setToolTip(tr("--lr: learning rate of the optimised methods (default: sinkhorn 1.5 per group times ln(n),\n"
                     "ramped up over 10 steps; ste 1e-3)"));
  steps_ = spin(body, 0, 100000, 0, tr("default"));
  steps_->setToolTip(tr("--steps: optimisation steps at most (default: sinkhorn 200, ste 100); the result is the best\n"
                        "step's permutation, marked on the Objective plot"));
  patience_ = spin(body, -1, 100000, -1, tr("auto"));
  patience_->setToolTip(tr("Stop after this many steps without a better hard permutation\n"
                           "(auto: 10 for l2/l1, 50 for mid/rnd; 0: run every step)"));
  data_ = combo(body, {"mnist", "fashion-mnist", "digits", "poly1", "poly2", "poly3", "text:fortunes"}, "data");
  data_->setEditable(true);  // cifar10:PATH, text:PATH
  data_->setToolTip(tr("--data: the data set the curves (and the data-driven methods) use - the one the models were\n"
                       "trained on (a job warns when their metadata says otherwise); cifar10:PATH, text:PATH typed"));
  split_ = combo(body, {"test", "train"}, "split");
  split_->setToolTip(tr("--split: the part of the data the interpolation curves and barriers are measured on"));
  points_ = spin(body, 2, 201, 25);
  points_->setToolTip(tr("--points: lambdas from 0 (A) to 1 (B) at which loss and accuracy are measured"));
  grid_ = spin(body, 0, 101, 0, tr("off"));
  grid_->setToolTip(tr("Loss landscape over the plane through A, B and aligned B: grid side (0 = off)"));
  stream_ = combo(body, {"rotated-mnist", "permuted-mnist", "split-mnist", "split-fashion"}, "stream");
  stream_->setToolTip(tr("The continual-learning task stream: rotated or permuted MNIST, or the classes of MNIST or\n"
                         "Fashion-MNIST split into tasks"));
  clMethod_ = combo(body, {"rebasin-il", "finetune", "ewc", "replay", "joint"}, "clMethod");
  clMethod_->setToolTip(tr("rebasin-il: re-basin incremental learning (the paper's); finetune, ewc, replay and joint:\n"
                           "the baselines it is compared with"));
  tasks_ = spin(body, 2, 100, 20);
  tasks_->setToolTip(tr("Number of tasks in the stream"));
  epochs_ = spin(body, 1, 100, 5);
  epochs_->setToolTip(tr("Training epochs on each task"));
  trainPerTask_ = spin(body, 0, 60000, 0, tr("all"));
  trainPerTask_->setToolTip(tr("Training samples drawn for each task (all: the whole training split)"));
  mergeTarget_ = combo(body, {"first", "universe", "universe-sinkhorn"}, "mergeTarget");
  mergeTarget_->setToolTip(tr("first: every model aligned to model A (star)\n"
                              "universe: all models jointly into a shared frame, cycle-consistent (C2M3, Frank-Wolfe)\n"
                              "universe-sinkhorn: the same frame found by Sinkhorn re-basin over every model's soft plans"));
  repair_ = new QCheckBox(tr("rescale unit statistics"), body);
  repair_->setObjectName(QStringLiteral("repair"));
  repair_->setToolTip(tr("REPAIR (Jordan et al. 2023): every unit's statistics of an average rescaled to the\n"
                         "endpoints' - align, interpolate: one more curve, the aligned line REPAIRed at every\n"
                         "point; merge: the merged model. MLP, VGG and CIFAR ResNet built-ins; uses training data"));
  device_ = combo(body, {"auto", "cpu", "cuda"}, "device");
  device_->setToolTip(tr("--device: auto uses the GPU when there is one (the status bar shows which)"));
  seed_ = spin(body, 0, 1 << 30, 0);
  seed_->setToolTip(tr("--seed: the same seed gives the same result, in the studio and the CLI"));

  form_->addRow(tr("&Task"), task_);
  form_->addRow(tr("Architecture"), recoverArch_);
  form_->addRow(tr("&Method"), method_);
  form_->addRow(tr("&Cost"), cost_);
  form_->addRow(tr("Start"), init_);
  form_->addRow(tr("Tau"), tau_);
  form_->addRow(tr("Sinkhorn iterations"), iterations_);
  form_->addRow(tr("Learning rate"), lr_);
  form_->addRow(tr("Steps"), steps_);
  form_->addRow(tr("Patience"), patience_);
  form_->addRow(tr("&Data"), data_);
  form_->addRow(tr("Split"), split_);
  form_->addRow(tr("Lambda points"), points_);
  form_->addRow(tr("Landscape grid"), grid_);
  form_->addRow(tr("Stream"), stream_);
  form_->addRow(tr("Continual method"), clMethod_);
  form_->addRow(tr("Tasks"), tasks_);
  form_->addRow(tr("Epochs per task"), epochs_);
  form_->addRow(tr("Training samples per task"), trainPerTask_);
  form_->addRow(tr("Merge into"), mergeTarget_);
  form_->addRow(tr("REPAIR"), repair_);
  form_->addRow(tr("De&vice"), device_);
  form_->addRow(tr("Seed"), seed_);

  // Advanced: the CLI's remaining options, folded away until asked for.
  advancedToggle_ = new QPushButton(tr("Advanced \u25B8"), body);
  advancedToggle_->setObjectName(QStringLiteral("advancedToggle"));
  advancedToggle_->setCheckable(true);
  advancedToggle_->setFlat(true);
  advancedToggle_->setToolTip(tr("The command line's other options: checkpoint key, residual stream, normalisation,\n"
                                 "input resizing, Sinkhorn gradient, batch size, BatchNorm reset"));
  advanced_ = new QWidget(body);
  advanced_->setObjectName(QStringLiteral("advanced"));
  advancedForm_ = new QFormLayout(advanced_);
  advancedForm_->setContentsMargins(0, 0, 0, 0);
  key_ = new QLineEdit(advanced_);
  key_->setObjectName(QStringLiteral("key"));
  key_->setPlaceholderText(tr("state dict as saved"));
  key_->setToolTip(tr("--key: a torch.save checkpoint's state dict under this top-level key (e.g. ema)"));
  residual_ = combo(advanced_, {"", "identity", "shared"}, "residual");
  residual_->setItemText(0, tr("default"));
  residual_->setToolTip(tr("--residual (vit:, gpt:): leave the residual stream as it is (identity, the default)\n"
                           "or permute it as one group shared by embeddings, norms and every block (shared)"));
  normalize_ = new QLineEdit(advanced_);
  normalize_->setObjectName(QStringLiteral("normalize"));
  normalize_->setPlaceholderText(tr("none, e.g. 0.1307,0.3081"));
  normalize_->setToolTip(tr("--normalize MEAN,STD: inputs as (x - MEAN) / STD after scaling pixels to [0,1];\n"
                            "must match how the models were trained"));
  input_ = new QLineEdit(advanced_);
  input_->setObjectName(QStringLiteral("input"));
  input_->setPlaceholderText(tr("as stored, e.g. 3,32,32"));
  input_->setToolTip(tr("--input C,H,W: resize the data's images to the models' input (bilinear; one channel\n"
                        "replicated to C)"));
  backward_ = combo(advanced_, {"implicit", "unrolled"}, "backward");
  backward_->setToolTip(tr("--backward: Sinkhorn's gradient by implicit differentiation or through the unrolled iterations"));
  batchSize_ = spin(advanced_, 1, 1 << 20, 500);
  batchSize_->setObjectName(QStringLiteral("batchSize"));
  batchSize_->setToolTip(tr("--batch-size: batch size of the data-driven costs and methods"));
  bnReset_ = new QCheckBox(tr("recompute at every point"), advanced_);
  bnReset_->setObjectName(QStringLiteral("bnReset"));
  bnReset_->setChecked(true);
  bnReset_->setToolTip(tr("BatchNorm statistics recomputed on 2000 training samples at every lambda\n"
                          "(off: --no-bn-reset, the interpolated statistics, which overstate the loss)"));
  advancedForm_->addRow(tr("Checkpoint key"), key_);
  advancedForm_->addRow(tr("Residual stream"), residual_);
  advancedForm_->addRow(tr("Normalize"), normalize_);
  advancedForm_->addRow(tr("Input C,H,W"), input_);
  advancedForm_->addRow(tr("Sinkhorn gradient"), backward_);
  advancedForm_->addRow(tr("Batch size"), batchSize_);
  advancedForm_->addRow(tr("BatchNorm"), bnReset_);
  advanced_->setVisible(false);
  outer->addWidget(advancedToggle_, 0, Qt::AlignLeft);
  outer->addWidget(advanced_);
  connect(advancedToggle_, &QPushButton::toggled, this, [this](bool on) {
    advanced_->setVisible(on);
    advancedToggle_->setText(on ? tr("Advanced \u25BE") : tr("Advanced \u25B8"));
  });
  outer->addStretch(1);
  scroll->setWidget(body);
  frameLayout->addWidget(scroll, 1);

  auto* buttons = new QHBoxLayout;
  buttons->setContentsMargins(6, 0, 6, 6);
  run_ = new QPushButton(tr("Run"), frame);
  run_->setObjectName(QStringLiteral("run"));
  run_->setToolTip(tr("Run the job (Ctrl+R); a running job is replaced"));
  stop_ = new QPushButton(tr("Stop"), frame);
  stop_->setObjectName(QStringLiteral("stop"));
  stop_->setToolTip(tr("Stop the running job (Esc); it ends within one step"));
  stop_->setEnabled(false);
  buttons->addWidget(run_);
  buttons->addWidget(stop_);
  frameLayout->addLayout(buttons);
  setWidget(frame);

  for (QWidget* field : body->findChildren<QWidget*>())
    if (qobject_cast<QAbstractSpinBox*>(field) || qobject_cast<QComboBox*>(field)) {
      field->setFocusPolicy(Qt::StrongFocus);  // not focused by the wheel either
      field->installEventFilter(this);
    }

  connect(run_, &QPushButton::clicked, this, &JobDock::runRequested);
  connect(stop_, &QPushButton::clicked, this, &JobDock::stopRequested);
  connect(task_, &QComboBox::currentTextChanged, this, &JobDock::updateVisibleRows);
  connect(method_, &QComboBox::currentTextChanged, this, &JobDock::updateVisibleRows);
  task_->setCurrentText(QStringLiteral("align"));
  updateVisibleRows();
}

bool JobDock::eventFilter(QObject* watched, QEvent* event) {
  if (event->type() == QEvent::Wheel) {
    auto* field = qobject_cast<QWidget*>(watched);
    if (field && !field->hasFocus()) {
      QCoreApplication::sendEvent(scroll_->verticalScrollBar(), event);
      return true;
    }
  }
  return QDockWidget::eventFilter(watched, event);
}

void JobDock::setRowVisible(QWidget* field, bool visible) {
  form_->setRowVisible(field, visible);
}

void JobDock::updateVisibleRows() {
  const QString task = task_->currentText();
  const bool recover = task == "recover", align = task == "align", interp = task == "interpolate";
  const bool continual = task == "continual";
  const align::MethodEntry* method = nullptr;
  for (const align::MethodEntry& m : align::methods())
    if (QString::fromStdString(m.name) == method_->currentText()) method = &m;
  const bool sinkhorn = method && method->uses_cost, optimises = method && method->optimises;
  const bool merge = task == "merge";
  // A merge aligns pairs like align does: the same method rows.
  const bool aligns = recover || align || merge;
  setRowVisible(recoverArch_, recover);
  setRowVisible(method_, aligns);
  for (QWidget* w : {static_cast<QWidget*>(cost_), static_cast<QWidget*>(init_), static_cast<QWidget*>(tau_),
                     static_cast<QWidget*>(iterations_)})
    setRowVisible(w, aligns && sinkhorn);
  setRowVisible(lr_, aligns && optimises);
  setRowVisible(steps_, aligns);
  setRowVisible(patience_, (align || merge) && sinkhorn);
  for (QWidget* w : {static_cast<QWidget*>(data_), static_cast<QWidget*>(split_), static_cast<QWidget*>(points_)})
    setRowVisible(w, align || interp || merge);
  setRowVisible(grid_, align || interp);
  setRowVisible(mergeTarget_, merge);
  setRowVisible(repair_, align || interp || merge);
  for (QWidget* w : {static_cast<QWidget*>(stream_), static_cast<QWidget*>(clMethod_), static_cast<QWidget*>(tasks_),
                     static_cast<QWidget*>(epochs_), static_cast<QWidget*>(trainPerTask_)})
    setRowVisible(w, continual);
  // Advanced rows: the model rows for the jobs that read A and B, the data rows where data is read.
  const bool models = align || interp || merge, data = align || interp || merge;
  advancedForm_->setRowVisible(key_, models);
  advancedForm_->setRowVisible(residual_, models || recover);
  advancedForm_->setRowVisible(normalize_, data);
  advancedForm_->setRowVisible(input_, data);
  advancedForm_->setRowVisible(backward_, aligns && sinkhorn);
  advancedForm_->setRowVisible(batchSize_, aligns);
  advancedForm_->setRowVisible(bnReset_, align || interp);
}

JobSettings JobDock::settings() const {
  JobSettings s;
  parseTask(task_->currentText(), &s.task);
  s.recoverArch = recoverArch_->text().trimmed();
  s.method = method_->currentText();
  s.cost = cost_->currentText();
  s.init = init_->currentText();
  s.tau = tau_->value();
  s.iterations = iterations_->value();
  s.lr = lr_->value();
  s.steps = steps_->value();
  s.patience = patience_->value();
  s.data = data_->currentText().trimmed();
  s.split = split_->currentText();
  s.points = points_->value();
  s.landscapeGrid = grid_->value();
  s.stream = stream_->currentText();
  s.continualMethod = clMethod_->currentText();
  s.tasks = tasks_->value();
  s.epochs = epochs_->value();
  s.trainPerTask = trainPerTask_->value();
  s.mergeTarget = mergeTarget_->currentText();
  s.repair = repair_->isChecked();
  s.device = device_->currentText();
  s.seed = quint64(seed_->value());
  s.key = key_->text().trimmed();
  s.residual = residual_->currentIndex() == 0 ? QString() : residual_->currentText();
  s.normalize = normalize_->text().trimmed();
  s.input = input_->text().trimmed();
  s.backward = backward_->currentText();
  s.batchSize = batchSize_->value();
  s.bnReset = bnReset_->isChecked();
  return s;
}

void JobDock::setSettings(const JobSettings& s) {
  setCombo(task_, taskName(s.task));
  recoverArch_->setText(s.recoverArch);
  setCombo(method_, s.method);
  setCombo(cost_, s.cost);
  setCombo(init_, s.init);
  tau_->setValue(s.tau);
  iterations_->setValue(s.iterations);
  lr_->setValue(s.lr);
  steps_->setValue(s.steps);
  patience_->setValue(s.patience);
  data_->setCurrentText(s.data);
  setCombo(split_, s.split);
  points_->setValue(s.points);
  grid_->setValue(s.landscapeGrid);
  setCombo(stream_, s.stream);
  setCombo(clMethod_, s.continualMethod);
  tasks_->setValue(s.tasks);
  epochs_->setValue(s.epochs);
  trainPerTask_->setValue(int(s.trainPerTask));
  setCombo(mergeTarget_, s.mergeTarget);
  repair_->setChecked(s.repair);
  setCombo(device_, s.device);
  seed_->setValue(int(s.seed));
  key_->setText(s.key);
  residual_->setCurrentIndex(s.residual.isEmpty() ? 0 : std::max(0, residual_->findText(s.residual)));
  normalize_->setText(s.normalize);
  input_->setText(s.input);
  setCombo(backward_, s.backward);
  batchSize_->setValue(s.batchSize);
  bnReset_->setChecked(s.bnReset);
  updateVisibleRows();
}

void JobDock::setRunning(bool running) {
  stop_->setEnabled(running);
}

}  // namespace rebasin::studio
