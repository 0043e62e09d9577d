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
    info_[which]->setWordWrap(true);
    info_[which]->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(info_[which]);
  }
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

void ModelsDock::openModel(int which, const QString& path) {
  setModel(which, path);
  Q_EMIT modelOpened(which);
}

void ModelsDock::setModel(int which, const QString& path) {
  path_[which]->setText(path);
  shown_[which] = path;
  const int generation = ++generation_[which];
  if (path.isEmpty()) {
    info_[which]->setText(tr("no model"));
    if (which == 0) groups_->setRowCount(0);
    Q_EMIT modelsChanged();
    return;
  }
  info_[which]->setText(tr("reading %1 ...").arg(QFileInfo(path).fileName()));
  addRecent(path);
  Q_EMIT modelsChanged();
  QPointer<ModelsDock> self(this);
  QThreadPool::globalInstance()->start([self, which, generation, path] {
    ModelInfo info = inspectModel(path);
    if (!self) return;
    QMetaObject::invokeMethod(
        self.data(), [self, which, generation, info] {
          if (self && self->generation_[which] == generation) self->showInfo(which, info);
        },
        Qt::QueuedConnection);
  });
}

void ModelsDock::showInfo(int which, const ModelInfo& info) {
  if (!info.error.isEmpty()) {
    info_[which]->setText(tr("<b>cannot use this file:</b> %1").arg(info.error.toHtmlEscaped()));
  } else {
    info_[which]->setText(tr("%1, architecture <b>%2</b>, %L3 parameters")
                              .arg(info.format, info.arch.toHtmlEscaped())
                              .arg(info.parameters));
  }
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
  // Two files: A and B. One file: the first empty slot (B once A is set).
  QStringList files;
  for (const QUrl& url : event->mimeData()->urls())
    if (url.isLocalFile()) files << url.toLocalFile();
  if (files.size() >= 2) {
    openModel(0, files[0]);
    openModel(1, files[1]);
  } else if (files.size() == 1) {
    openModel(modelA().isEmpty() ? 0 : 1, files[0]);
  }
  event->acceptProposedAction();
}

}  // namespace rebasin::studio
