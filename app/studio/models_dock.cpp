#include "app/studio/models_dock.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHeaderView>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMimeData>
#include <QPointer>
#include <QPushButton>
#include <QSettings>
#include <QTableWidget>
#include <QThreadPool>
#include <QVBoxLayout>

namespace rebasin::studio {

namespace {
constexpr int kMaxRecent = 8;
const char* const kRecentKey = "recentModels";
}  // namespace

ModelsDock::ModelsDock(QWidget* parent) : QDockWidget(tr("Models"), parent) {
  setObjectName(QStringLiteral("ModelsDock"));
  auto* body = new QWidget(this);
  auto* layout = new QVBoxLayout(body);
  for (int which = 0; which < 2; ++which) {
    auto* row = new QHBoxLayout;
    path_[which] = new QLineEdit(body);
    path_[which]->setPlaceholderText(which == 0 ? tr("Model A: open or drop a checkpoint")
                                                : tr("Model B: the model to align to A"));
    path_[which]->setObjectName(which == 0 ? QStringLiteral("pathA") : QStringLiteral("pathB"));
    auto* open = new QPushButton(tr("Open..."), body);
    connect(open, &QPushButton::clicked, this, [this, which] { browse(which); });
    connect(path_[which], &QLineEdit::editingFinished, this,
            [this, which] {
              // Focus leaving an unchanged field is no new choice.
              if (path_[which]->text().trimmed() != shown_[which]) openModel(which, path_[which]->text().trimmed());
            });
    row->addWidget(new QLabel(which == 0 ? tr("A") : tr("B"), body));
    row->addWidget(path_[which], 1);
    row->addWidget(open);
    layout->addLayout(row);
    info_[which] = new QLabel(tr("no model"), body);
    info_[which]->setObjectName(which == 0 ? QStringLiteral("infoA") : QStringLiteral("infoB"));
    info_[which]->setWordWrap(true);
    info_[which]->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(info_[which]);
  }
  // Merging takes more than two models: the rest of them, in order after A and B.
  auto* moreRow = new QHBoxLayout;
  auto* moreLabel = new QLabel(tr("Merge also"), body);
  moreLabel->setToolTip(tr("Further models for the merge task, merged with A and B into A's frame"));
  more_ = new QListWidget(body);
  more_->setObjectName(QStringLiteral("moreModels"));
  more_->setMaximumHeight(fontMetrics().height() * 4 + 8);
  more_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  auto* moreButtons = new QVBoxLayout;
  auto* add = new QPushButton(tr("Add..."), body);
  add->setObjectName(QStringLiteral("addMore"));
  auto* remove = new QPushButton(tr("Remove"), body);
  remove->setObjectName(QStringLiteral("removeMore"));
  connect(add, &QPushButton::clicked, this, &ModelsDock::addMoreModels);
  connect(remove, &QPushButton::clicked, this, [this] {
    qDeleteAll(more_->selectedItems());
    Q_EMIT modelsChanged();
  });
  moreButtons->addWidget(add);
  moreButtons->addWidget(remove);
  moreButtons->addStretch(1);
  moreRow->addWidget(moreLabel, 0, Qt::AlignTop);
  moreRow->addWidget(more_, 1);
  moreRow->addLayout(moreButtons);
  layout->addLayout(moreRow);
  // A state dict that fits no built-in (a user's own model) is read through the TorchScript of
  // the same model, matched by name: without this field the studio would be a dead end there.
  archRow_ = new QWidget(body);
  auto* archLayout = new QHBoxLayout(archRow_);
  archLayout->setContentsMargins(0, 0, 0, 0);
  arch_ = new QLineEdit(archRow_);
  arch_->setObjectName(QStringLiteral("arch"));
  arch_->setPlaceholderText(tr("auto"));
  arch_->setToolTip(tr("The architecture of both models: auto, a built-in name (mlp:784,512,512,10, "
                       "vgg11, resnet20x4, tv:resnet18 ...) or a TorchScript file of the same model "
                       "(torch.jit.script or trace, then torch.jit.save), whose tensors are matched "
                       "to the checkpoints' by name"));
  auto* archBrowse = new QPushButton(tr("TorchScript..."), archRow_);
  archBrowse->setObjectName(QStringLiteral("archBrowse"));
  connect(archBrowse, &QPushButton::clicked, this, &ModelsDock::browseArch);
  connect(arch_, &QLineEdit::editingFinished, this, [this] {
    if (arch_->text().trimmed() != archShown_) setArch(arch_->text().trimmed());
  });
  archLayout->addWidget(new QLabel(tr("Architecture"), archRow_));
  archLayout->addWidget(arch_, 1);
  archLayout->addWidget(archBrowse);
  archRow_->setVisible(false);
  layout->addWidget(archRow_);
  groups_ = new QTableWidget(0, 2, body);
  groups_->setHorizontalHeaderLabels({tr("Group"), tr("Units")});
  groups_->horizontalHeader()->setStretchLastSection(true);
  groups_->verticalHeader()->hide();
  groups_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  layout->addWidget(groups_, 1);
  setWidget(body);
  setAcceptDrops(true);
}

QString ModelsDock::modelA() const { return path_[0]->text().trimmed(); }
QString ModelsDock::modelB() const { return path_[1]->text().trimmed(); }

QStringList ModelsDock::recentFiles() const { return QSettings().value(kRecentKey).toStringList(); }

void ModelsDock::addRecent(const QString& path) {
  QStringList recent = recentFiles();
  recent.removeAll(path);
  recent.prepend(path);
  while (recent.size() > kMaxRecent) recent.removeLast();
  QSettings().setValue(kRecentKey, recent);
  Q_EMIT recentFilesChanged();
}

void ModelsDock::browse(int which) {
  const QString path = QFileDialog::getOpenFileName(
      this, which == 0 ? tr("Open model A") : tr("Open model B"), QFileInfo(path_[which]->text()).path(),
      tr("Checkpoints (*.safetensors *.pt *.pth *.ckpt *.bin);;All files (*)"));
  if (!path.isEmpty()) openModel(which, path);
}

QStringList ModelsDock::moreModels() const {
  QStringList paths;
  for (int i = 0; i < more_->count(); ++i) paths << more_->item(i)->text();
  return paths;
}

void ModelsDock::setMoreModels(const QStringList& paths) {
  more_->clear();
  for (const QString& p : paths)
    if (!p.trimmed().isEmpty()) more_->addItem(p.trimmed());
  Q_EMIT modelsChanged();
}

void ModelsDock::addMoreModels() {
  const QStringList paths = QFileDialog::getOpenFileNames(
      this, tr("Models to merge with A and B"), QFileInfo(modelA()).path(),
      tr("Checkpoints (*.safetensors *.pt *.pth *.ckpt *.bin);;All files (*)"));
  if (paths.isEmpty()) return;
  setMoreModels(moreModels() + paths);
  Q_EMIT moreModelsOpened();
}

QString ModelsDock::arch() const {
  const QString a = arch_->text().trimmed();
  return a.isEmpty() ? QStringLiteral("auto") : a;
}

bool ModelsDock::archFieldVisible() const { return !archRow_->isHidden(); }

void ModelsDock::setArch(const QString& arch) {
  const QString a = arch.trimmed() == QLatin1String("auto") ? QString() : arch.trimmed();
  arch_->setText(a);
  if (a == archShown_) return;
  archShown_ = a;
  updateArchRow();
  for (int which = 0; which < 2; ++which) inspect(which);
  Q_EMIT modelsChanged();
}

void ModelsDock::browseArch() {
  const QString start = arch_->text().isEmpty() ? QFileInfo(modelA()).path() : QFileInfo(arch_->text()).path();
  const QString path = QFileDialog::getOpenFileName(this, tr("Choose the TorchScript of the same model"), start,
                                                    tr("TorchScript (*.ts.pt *.pt *.pth *.zip);;All files (*)"));
  if (!path.isEmpty()) setArch(path);
}

void ModelsDock::updateArchRow() {
  archRow_->setVisible(!archShown_.isEmpty() || needsArch_[0] || needsArch_[1]);
}

void ModelsDock::openModel(int which, const QString& path) {
  setModel(which, path);
  Q_EMIT modelOpened(which);
}

void ModelsDock::setModel(int which, const QString& path) {
  path_[which]->setText(path);
  shown_[which] = path;
  if (!path.isEmpty()) addRecent(path);
  inspect(which);
  Q_EMIT modelsChanged();
}

void ModelsDock::inspect(int which) {
  const QString path = shown_[which];
  if (which == 0 && path.isEmpty()) aIsTorchScript_ = false;
  const int generation = ++generation_[which];
  needsArch_[which] = false;
  updateArchRow();
  if (path.isEmpty()) {
    info_[which]->setText(tr("no model"));
    if (which == 0) groups_->setRowCount(0);
    return;
  }
  info_[which]->setText(tr("reading %1 ...").arg(QFileInfo(path).fileName()));
  QPointer<ModelsDock> self(this);
  QString arch = this->arch();
  if (which == 1 && arch == QLatin1String("auto") && aIsTorchScript_) arch = shown_[0];
  QThreadPool::globalInstance()->start([self, which, generation, path, arch] {
    ModelInfo info = inspectModel(path, arch);
    if (!self) return;
    QMetaObject::invokeMethod(
        self.data(), [self, which, generation, info] {
          if (self && self->generation_[which] == generation) self->showInfo(which, info);
        },
        Qt::QueuedConnection);
  });
}

void ModelsDock::showInfo(int which, const ModelInfo& info) {
  needsArch_[which] = info.needsArch;
  updateArchRow();
  if (which == 0) {
    const bool torchScript = info.error.isEmpty() && info.format == QLatin1String("torchscript");
    const bool changed = torchScript != aIsTorchScript_;
    aIsTorchScript_ = torchScript;
    if (changed && !shown_[1].isEmpty()) inspect(1);  // B is read through A's graph, or no longer
  }
  if (!info.error.isEmpty()) {
    info_[which]->setText(tr("<b>cannot use this file:</b> %1").arg(info.error.toHtmlEscaped()));
  } else if (info.needsArch) {
    info_[which]->setText(tr("%1, %L2 parameters: <b>no built-in architecture fits</b>; choose the "
                             "architecture below (the model's TorchScript, or a built-in name)")
                              .arg(info.format)
                              .arg(info.parameters));
  } else {
    info_[which]->setText(tr("%1, architecture <b>%2</b>, %L3 parameters")
                              .arg(info.format, info.arch.toHtmlEscaped())
                              .arg(info.parameters));
  }
  // What the model was trained on: the data a job should use, and the accuracy it should show.
  if (info.error.isEmpty() && !info.trained.isEmpty())
    info_[which]->setText(info_[which]->text() + QStringLiteral("<br>") + info.trained.toHtmlEscaped());
  if (which == 0) {
    groups_->setRowCount(int(info.groups.size() + info.dropped.size()));
    for (int i = 0; i < info.groups.size(); ++i) {
      groups_->setItem(i, 0, new QTableWidgetItem(info.groups[i].name));
      auto* size = new QTableWidgetItem(QString::number(info.groups[i].size));
      size->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      groups_->setItem(i, 1, size);
    }
    // A TorchScript model's groups that an op pinned or the verification refused, greyed, why
    // in the tooltip.
    for (int k = 0; k < info.dropped.size(); ++k) {
      auto* item = new QTableWidgetItem(tr("dropped: %1").arg(info.dropped[k]));
      item->setForeground(palette().color(QPalette::Disabled, QPalette::Text));
      item->setToolTip(info.dropped[k]);
      groups_->setItem(int(info.groups.size()) + k, 0, item);
      groups_->setItem(int(info.groups.size()) + k, 1, new QTableWidgetItem(QStringLiteral("-")));
    }
  }
  Q_EMIT inspected(which, info);
}

void ModelsDock::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void ModelsDock::dropEvent(QDropEvent* event) {
  // Two files: A and B (more: the rest to merge with them). One file: the first empty slot (B
  // once A is set).
  QStringList files;
  for (const QUrl& url : event->mimeData()->urls())
    if (url.isLocalFile()) files << url.toLocalFile();
  if (files.size() >= 2) {
    openModel(0, files[0]);
    openModel(1, files[1]);
    if (files.size() > 2) {
      setMoreModels(files.mid(2));
      Q_EMIT moreModelsOpened();
    }
  } else if (files.size() == 1) {
    openModel(modelA().isEmpty() ? 0 : 1, files[0]);
  }
  event->acceptProposedAction();
}

}  // namespace rebasin::studio
