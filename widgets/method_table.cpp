// MethodTable: rows of numbers per curve with a visibility check box.
#include "widgets/method_table.h"

#include <QEvent>
#include <QHeaderView>
#include <QPixmap>
#include <cmath>

namespace rebasin::widgets {
namespace {

QString number(double v, int digits) { return std::isfinite(v) ? QString::number(v, 'f', digits) : QStringLiteral("-"); }

}  // namespace

MethodTable::MethodTable(QWidget* parent) : QTableWidget(parent) {
  setObjectName(QStringLiteral("methodTable"));
  setColumnCount(6);
  setHorizontalHeaderLabels({tr("method (tick to show)"), tr("loss barrier"), tr("midpoint loss"),
                             tr("midpoint accuracy"), tr("seconds"), tr("steps")});
  // Every column shares the width (no horizontal scroll bar to hide the last row under).
  horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  horizontalHeader()->setMinimumSectionSize(40);
  setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  verticalHeader()->setVisible(false);
  setEditTriggers(QAbstractItemView::NoEditTriggers);
  setSelectionMode(QAbstractItemView::NoSelection);
  setToolTip(tr("Every curve of the Interpolation plot: its loss barrier (the bump above the straight line "
                "between the ends), the model halfway along the line, and what the alignment cost"));
  connect(this, &QTableWidget::itemChanged, this, [this](QTableWidgetItem* item) {
    if (m_filling || item->column() != 0) return;
    Q_EMIT visibilityToggled(item->data(Qt::UserRole).toString(), item->checkState() == Qt::Checked);
  });
}

void MethodTable::setRows(const QVector<MethodRow>& rows) {
  m_filling = true;
  setRowCount(int(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    const MethodRow& m = rows[r];
    auto* name = new QTableWidgetItem(m.curve);
    QPixmap swatch(10, 10);
    swatch.fill(m.colour);
    name->setIcon(QIcon(swatch));
    name->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
    name->setCheckState(m.visible ? Qt::Checked : Qt::Unchecked);
    name->setData(Qt::UserRole, m.curve);
    setItem(r, 0, name);
    const QString cells[] = {number(m.barrier, 4), number(m.midLoss, 4),
                             std::isfinite(m.midAccuracy) ? QStringLiteral("%1%").arg(100 * m.midAccuracy, 0, 'f', 2)
                                                          : QStringLiteral("-"),
                             number(m.seconds, 1),
                             m.steps < 0         ? QStringLiteral("-")
                             : m.chosenStep >= 0 ? tr("%1 (result: %2)").arg(m.steps).arg(m.chosenStep)
                                                 : QString::number(m.steps)};
    for (int c = 0; c < 5; ++c) {
      auto* cell = new QTableWidgetItem(cells[c]);
      cell->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      setItem(r, c + 1, cell);
    }
  }
  fitHeight();
  setVisible(!rows.isEmpty());
  m_filling = false;
}

void MethodTable::fitHeight() {
  // As tall as its rows (up to 6 shown; more scroll), so the plot keeps the rest - measured
  // again when the font changes (presentation mode's larger text).
  resizeRowsToContents();
  int height = horizontalHeader()->sizeHint().height() + 2 * frameWidth();
  for (int r = 0; r < std::min(rowCount(), 6); ++r) height += rowHeight(r);
  setFixedHeight(height);
}

void MethodTable::changeEvent(QEvent* event) {
  QTableWidget::changeEvent(event);
  if (event->type() == QEvent::FontChange) fitHeight();
}

QString MethodTable::text(int row, int column) const {
  const QTableWidgetItem* cell = item(row, column);
  return cell ? cell->text() : QString();
}

}  // namespace rebasin::widgets
