// PlanHeatmap: colour map + colour scale + assignment overlay for one group at a time.
#include "widgets/plan_heatmap.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <QTimer>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "widgets/plan_layout.h"
#include "widgets/plot_theme.h"
#include "widgets/qcp.h"

namespace rebasin::widgets {

class UnitTicker : public QCPAxisTickerFixed {
 public:
  double unitsPerCell = 1.0;

 protected:
  QString getTickLabel(double tick, const QLocale& locale, QChar format, int precision) override {
    return unitsPerCell == 1.0 ? QCPAxisTickerFixed::getTickLabel(tick, locale, format, precision)
                               : locale.toString(qRound64(tick * unitsPerCell));
  }
};

}  // namespace rebasin::widgets

namespace rebasin::widgets {

PlanHeatmap::PlanHeatmap(QWidget* parent) : PlotFrame(parent) {
  QHBoxLayout* row = controlsRow();
  row->addWidget(new QLabel(tr("Group:"), this));
  m_groupBox = new QComboBox(this);
  m_groupBox->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  m_groupBox->setToolTip(tr("Permutation group whose plan is shown"));
  row->addWidget(m_groupBox);
  m_reorderBox = new QCheckBox(tr("Reorder by assignment"), this);
  m_reorderBox->setToolTip(tr("Permute the columns so that the hard assignment lies on the diagonal (done at full "
                              "resolution, so the diagonal is exact on large groups too)"));
  row->addWidget(m_reorderBox);
  m_fixedBox = new QCheckBox(tr("Scale 0..1"), this);
  m_fixedBox->setObjectName(QStringLiteral("fixedScale"));
  m_fixedBox->setToolTip(tr("Keep the colour scale at 0..1 for every frame (else 0..the largest entry shown), so a\n"
                            "plan sharpening towards a permutation can be compared frame to frame"));
  row->addWidget(m_fixedBox);
  m_headBox = new QComboBox(this);
  m_headBox->setObjectName(QStringLiteral("headLevel"));
  m_headBox->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  m_headBox->setToolTip(tr("Attention heads: every unit, the plan over heads (click a head's row to open it), or one "
                           "head's plan over its units with the head it is matched to"));
  m_headBox->setVisible(false);
  row->addWidget(m_headBox);
  row->addStretch(1);
  // Second row: which step is shown, the replay controls and the legend of the dots.
  auto* second = new QHBoxLayout;
  second->setContentsMargins(4, 0, 4, 0);
  static_cast<QVBoxLayout*>(layout())->insertLayout(1, second);
  m_playButton = new QToolButton(this);
  m_playButton->setObjectName(QStringLiteral("replay"));
  m_playButton->setText(tr("\u25B6 Replay"));
  m_playButton->setToolTip(tr("Play this group's plans from the first step to the result again (pause with a second "
                              "click; drag the slider to step)"));
  second->addWidget(m_playButton);
  m_frameSlider = new QSlider(Qt::Horizontal, this);
  m_frameSlider->setObjectName(QStringLiteral("frame"));
  m_frameSlider->setToolTip(tr("The frames of this run: drag to any step"));
  m_frameSlider->setMinimumWidth(120);
  second->addWidget(m_frameSlider, 1);
  m_speedBox = new QComboBox(this);
  m_speedBox->setObjectName(QStringLiteral("replaySpeed"));
  for (int seconds : {5, 20, 60}) m_speedBox->addItem(tr("over %1 s").arg(seconds), seconds);
  m_speedBox->setCurrentIndex(1);
  m_speedBox->setToolTip(tr("How long a replay of the whole run takes (20 s paces a demo for narration)"));
  second->addWidget(m_speedBox);
  m_replayTimer = new QTimer(this);
  connect(m_replayTimer, &QTimer::timeout, this, &PlanHeatmap::advanceReplay);
  connect(m_playButton, &QToolButton::clicked, this, [this] { isReplaying() ? pauseReplay() : replay(); });
  connect(m_frameSlider, &QSlider::sliderMoved, this, [this](int value) { showFrame(value); });
  connect(m_speedBox, qOverload<int>(&QComboBox::activated), this,
          [this](int index) { setReplaySeconds(m_speedBox->itemData(index).toDouble()); });
  m_stepLabel = new QLabel(this);
  m_stepLabel->setObjectName(QStringLiteral("planStep"));
  second->addWidget(m_stepLabel);
  QHBoxLayout* legendRow = second;
  // The overlay's legend sits beside the controls, where it covers no cell of the plan.
  m_legend = new QLabel(this);
  m_legend->setObjectName(QStringLiteral("planLegend"));
  m_legend->setText(tr("<span style=\"color:#f0285a\">&#9679;</span> hard assignment (unit of A → unit of B)"));
  m_legend->setToolTip(tr("The colours are the soft transport plan (how much of A's unit i goes to B's unit j); the "
                          "dots are the hard permutation of the same step - on the final \"result\" plan, the "
                          "permutation the run returns and exports"));
  legendRow->addWidget(m_legend);

  QCustomPlot* p = plot();
  p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  p->xAxis->setLabel(tr("column (unit of model B)"));
  p->yAxis->setLabel(tr("row (unit of model A)"));
  p->yAxis->setRangeReversed(true);  // matrix layout: row 0 on top
  p->xAxis->grid()->setVisible(false);
  p->yAxis->grid()->setVisible(false);
  // Rows and columns are units: ticks only at whole numbers (1, 2, 5, 10 ... apart), labelled
  // with unit indices even when the plan arrives block-averaged (cell c starts at unit c*n/shown).
  m_ticker = QSharedPointer<UnitTicker>(new UnitTicker);
  m_ticker->setTickStep(1.0);
  m_ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
  p->xAxis->setTicker(m_ticker);
  p->yAxis->setTicker(m_ticker);
  p->axisRect()->setupFullAxesBox(true);
  p->yAxis2->setRangeReversed(true);

  m_map = addHeatmap(p, tr("transport mass"), &m_scale);

  m_points = p->addGraph(p->xAxis, p->yAxis);
  m_points->setLineStyle(QCPGraph::lsNone);
  m_points->setName(tr("hard assignment"));
  m_points->setAdaptiveSampling(false);  // every drawn point is a real assignment

  connect(m_groupBox, qOverload<int>(&QComboBox::activated), this,
          [this](int index) { selectGroup(m_groupBox->itemData(index).toInt()); });
  connect(m_reorderBox, &QCheckBox::toggled, this, &PlanHeatmap::setReorder);
  connect(m_fixedBox, &QCheckBox::toggled, this, &PlanHeatmap::setFixedScale);
  connect(m_headBox, qOverload<int>(&QComboBox::activated), this,
          [this](int index) { setHeadLevel(m_headBox->itemData(index).toInt()); });
  connect(p, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
    if (m_headLevel != -1 || event->button() != Qt::LeftButton) return;
    openHeadRow(static_cast<int>(std::lround(plot()->yAxis->pixelToCoord(event->position().y()))));
  });
  connect(p, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) { fit(); });
  connect(p, &QCustomPlot::mouseMove, this, &PlanHeatmap::showToolTip);
  applyTheme();
  rebuild();
}

void PlanHeatmap::clear() {
  m_replayTimer->stop();
  m_history.clear();
  m_frame = -1;
  m_plans.clear();
  m_selected = -1;
  m_groupBox->clear();
  rebuild();
}

QStringList PlanHeatmap::groupNames() const {
  QStringList names;
  for (int i = 0; i < m_groupBox->count(); ++i) names << m_groupBox->itemText(i);
  return names;
}

int PlanHeatmap::shownSide() const {
  const PlanView* plan = displayed();
  return plan ? plan->shown : 0;
}

const PlanView* PlanHeatmap::displayed() const { return m_headLevel == -2 ? current() : &m_derived; }

void PlanHeatmap::updateHeadBox() {
  const PlanView* plan = current();
  const int heads = plan ? plan->heads : 1;
  const bool headed = heads > 1 && plan->headValues.size() == qsizetype(heads) * heads &&
                      plan->headAssignment.size() == heads && plan->size % heads == 0 &&
                      plan->innerValues.size() == plan->size / heads * plan->size;
  if (!headed) m_headLevel = -2;
  if (m_headLevel >= heads) m_headLevel = -1;
  m_headBox->setVisible(headed);
  if (!headed) return;
  if (m_headBox->count() != heads + 2) {
    m_headBox->clear();
    m_headBox->addItem(tr("all units"), -2);
    m_headBox->addItem(tr("%1 heads").arg(heads), -1);
    for (int i = 0; i < heads; ++i) m_headBox->addItem(tr("head %1 inside").arg(i), i);
  }
  m_headBox->setCurrentIndex(m_headBox->findData(m_headLevel));
  if (m_headLevel == -2) return;
  const qint64 d = plan->size / heads;
  m_derived = PlanView{};
  m_derived.step = plan->step;
  m_derived.group = plan->group;
  if (m_headLevel == -1) {
    m_derived.name = tr("%1: heads").arg(plan->name);
    m_derived.size = m_derived.shown = heads;
    m_derived.values = plan->headValues;
    m_derived.assignment = plan->headAssignment;
  } else {
    const int i = m_headLevel;
    const qint64 j = plan->headAssignment[i];
    m_derived.name = tr("%1: head %2 of A with head %3 of B").arg(plan->name).arg(i).arg(j);
    m_derived.size = d;
    m_derived.shown = int(d);
    m_derived.values = plan->innerValues.mid(qsizetype(i) * d * d, d * d);
    // The units' assignment inside the pair, when it stays inside it (it does for the two-level
    // hard assignment).
    for (qint64 u = 0; u < d && plan->assignment.size() == plan->size; ++u) {
      const qint64 column = plan->assignment[i * d + u] - j * d;
      if (column < 0 || column >= d) {
        m_derived.assignment.clear();
        break;
      }
      m_derived.assignment << column;
    }
  }
}

void PlanHeatmap::setHeadLevel(int level) {
  if (level == m_headLevel) return;
  m_headLevel = std::max(level, -2);
  rebuild();
  fit();
}

void PlanHeatmap::openHeadRow(int row) {
  const PlanView* plan = current();
  if (m_headLevel != -1 || !plan || row < 0 || row >= plan->heads) return;
  setHeadLevel(row);
}

const PlanView* PlanHeatmap::current() const {
  if (m_frame >= 0)
    if (const PlanView* frame = m_history.frame(m_selected, m_frame)) return frame;
  auto it = m_plans.constFind(m_selected);
  return it == m_plans.constEnd() ? nullptr : &it.value();
}

void PlanHeatmap::setPlan(const PlanView& plan) {
  if (plan.shown <= 0 || plan.values.size() != static_cast<qsizetype>(plan.shown) * plan.shown) {
    qWarning("PlanHeatmap: plan of group %d has %lld values for side %d; ignored", plan.group,
             static_cast<long long>(plan.values.size()), plan.shown);
    return;
  }
  const bool known = m_plans.contains(plan.group);
  m_plans[plan.group] = plan;
  m_history.add(plan);
  const QString label = plan.name.isEmpty() ? tr("group %1").arg(plan.group) : plan.name;
  const int index = m_groupBox->findData(plan.group);
  if (!known || index < 0) {
    m_groupBox->addItem(label, plan.group);
  } else if (m_groupBox->itemText(index) != label) {
    m_groupBox->setItemText(index, label);
  }
  if (m_selected < 0) m_selected = plan.group;
  if (plan.group == m_selected) {
    m_groupBox->setCurrentIndex(m_groupBox->findData(m_selected));
    if (m_frame < 0) rebuild();  // a replayed or chosen frame stays until the user leaves it
    updateReplayControls();
  }
}

int PlanHeatmap::frameCount() const { return m_history.frameCount(m_selected); }

bool PlanHeatmap::isReplaying() const { return m_replayTimer->isActive(); }

void PlanHeatmap::setReplaySeconds(double seconds) {
  m_replaySeconds = seconds > 0 ? seconds : 20.0;
  const int index = m_speedBox->findData(int(m_replaySeconds));
  if (index >= 0) m_speedBox->setCurrentIndex(index);
}

void PlanHeatmap::showFrame(int index) {
  m_replayTimer->stop();
  const int frames = frameCount();
  m_frame = index < 0 || index >= frames - 1 ? -1 : index;
  rebuild();
  updateReplayControls();
}

void PlanHeatmap::replay(double seconds) {
  const int frames = frameCount();
  if (frames < 2) return;
  if (seconds <= 0) seconds = m_replaySeconds;
  m_frame = 0;
  m_replayTimer->setInterval(std::clamp(int(1000 * seconds / (frames - 1)), 10, 5000));
  m_replayTimer->start();
  rebuild();
  updateReplayControls();
}

void PlanHeatmap::pauseReplay() {
  m_replayTimer->stop();
  updateReplayControls();
}

void PlanHeatmap::advanceReplay() {
  if (m_frame < 0 || ++m_frame >= frameCount() - 1) {
    m_frame = -1;  // the end of a replay is the latest plan: the run's result
    m_replayTimer->stop();
  }
  rebuild();
  updateReplayControls();
}

void PlanHeatmap::updateReplayControls() {
  const int frames = frameCount();
  m_playButton->setEnabled(frames >= 2);
  m_playButton->setText(isReplaying() ? tr("\u23F8 Pause") : tr("\u25B6 Replay"));
  const QSignalBlocker block(m_frameSlider);
  m_frameSlider->setEnabled(frames >= 2);
  m_frameSlider->setRange(0, std::max(frames - 1, 0));
  m_frameSlider->setValue(m_frame < 0 ? std::max(frames - 1, 0) : m_frame);
}

void PlanHeatmap::selectGroup(int group) {
  const bool changed = group != m_selected;
  if (changed) m_replayTimer->stop(), m_frame = -1;
  m_selected = group;  // a group not yet seen is shown as soon as it arrives
  const int index = m_groupBox->findData(group);
  if (index >= 0) m_groupBox->setCurrentIndex(index);
  if (changed) {
    rebuild();
    fit();
    updateReplayControls();
    Q_EMIT groupSelected(group);
  }
}

void PlanHeatmap::setReorder(bool on) {
  if (m_reorderBox->isChecked() != on) m_reorderBox->setChecked(on);  // re-enters once
  if (on == m_reorder) return;
  m_reorder = on;
  rebuild();
}

void PlanHeatmap::setFixedScale(bool on) {
  if (m_fixedBox->isChecked() != on) m_fixedBox->setChecked(on);  // re-enters once
  if (on == m_fixedScale) return;
  m_fixedScale = on;
  rebuild();
}

double PlanHeatmap::scaleMax() const { return m_map->dataRange().upper; }

void PlanHeatmap::fit() {
  const int side = std::max(shownSide(), 1);
  plot()->xAxis->setRange(-0.5, side - 0.5);
  plot()->yAxis->setRange(-0.5, side - 0.5);
  requestReplot();
}

void PlanHeatmap::rebuild() {
  updateHeadBox();
  const PlanView* plan = displayed();
  const bool reordered = m_reorder && plan && m_headLevel == -2 && plan::isPermutation(plan->assignment, plan->size);
  plot()->xAxis->setLabel(m_headLevel == -1  ? tr("head of model B")
                          : m_headLevel >= 0 ? tr("unit inside the matched head of model B")
                          : reordered        ? tr("column: unit of model B matched to the row (reordered by assignment)")
                                             : tr("column (unit of model B)"));
  plot()->yAxis->setLabel(m_headLevel == -1  ? tr("head of model A (click to open)")
                          : m_headLevel >= 0 ? tr("unit inside head %1 of model A").arg(m_headLevel)
                                             : tr("row (unit of model A)"));
  const PlanView* group = current();
  m_stepLabel->setText(!group         ? QString()
                       : group->result ? tr("result: the permutation returned (step %1)").arg(group->step)
                                       : tr("step %1").arg(group->step));
  QCPColorMapData* data = m_map->data();
  m_exactReorder = m_reorder && m_headLevel == -2 && plan && plan::hasExactReorder(*plan);
  if (!plan) {
    m_order.clear();
    m_overlay.clear();
    data->clear();
    m_points->data()->clear();
    requestReplot();
    return;
  }
  const int n = plan->shown;
  m_ticker->unitsPerCell = n > 0 ? double(plan->size) / n : 1.0;
  const bool resized = data->keySize() != n || data->valueSize() != n;
  if (resized) {
    data->setSize(n, n);
    data->setRange(QCPRange(0, n - 1), QCPRange(0, n - 1));
  }
  m_order = plan::columnOrder(*plan, m_reorder && !m_exactReorder);
  float maxValue = 0.0f;
  const float* values = m_exactReorder ? plan->reordered.constData() : plan->values.constData();
  for (int r = 0; r < n; ++r) {
    const float* row = values + static_cast<qsizetype>(r) * n;
    for (int k = 0; k < n; ++k) {
      const float v = row[m_order[k]];
      maxValue = std::max(maxValue, v);
      data->setCell(k, r, v);
    }
  }
  m_map->setDataRange(QCPRange(0, m_fixedScale || maxValue <= 0 ? 1.0 : maxValue));

  m_overlay = m_exactReorder ? plan::diagonalPoints(*plan, kMaxOverlayPoints)
                             : plan::overlayPoints(*plan, m_order, kMaxOverlayPoints);
  QVector<double> xs(m_overlay.size()), ys(m_overlay.size());
  for (int i = 0; i < m_overlay.size(); ++i) {
    xs[i] = m_overlay[i].x();
    ys[i] = m_overlay[i].y();
  }
  m_points->setData(xs, ys);
  // Markers shrink as the grid gets denser so they do not hide the plan.
  const double size = n <= 32 ? 6.0 : (n <= 128 ? 4.0 : 2.5);
  m_points->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, size));
  m_points->setVisible(!m_overlay.isEmpty());
  if (resized) fit();
  requestReplot();
}

QString PlanHeatmap::toolTipAt(int row, int displayColumn) const {
  const PlanView* plan = displayed();
  if (!plan || row < 0 || displayColumn < 0 || row >= plan->shown ||
      displayColumn >= plan->shown || m_order.size() != plan->shown)
    return {};
  const int column = m_order[displayColumn];
  const QVector<float>& values = m_exactReorder ? plan->reordered : plan->values;
  const float value = values[static_cast<qsizetype>(row) * plan->shown + column];
  const auto span = [&](int cell) {
    const plan::IndexRange range = plan::cellRange(cell, plan->shown, plan->size);
    return range.first == range.last ? QString::number(range.first)
                                     : QStringLiteral("%1-%2").arg(range.first).arg(range.last);
  };
  if (m_exactReorder)
    return tr("row %1, columns matched to rows %2: %3").arg(span(row), span(column), QString::number(value, 'g', 4));
  return tr("row %1, column %2: %3").arg(span(row), span(column), QString::number(value, 'g', 4));
}

QString PlanHeatmap::selectedGroupName() const {
  const PlanView* plan = current();
  return plan ? (plan->name.isEmpty() ? tr("group %1").arg(plan->group) : plan->name) : QString();
}

QVector<qint64> PlanHeatmap::drawnAssignment(int group) const {
  auto it = m_plans.constFind(group);
  return it == m_plans.constEnd() ? QVector<qint64>() : it->assignment;
}

bool PlanHeatmap::showsResult(int group) const {
  auto it = m_plans.constFind(group);
  return it != m_plans.constEnd() && it->result;
}

QString PlanHeatmap::stepText() const { return m_stepLabel->text(); }

void PlanHeatmap::showToolTip(QMouseEvent* event) {
  const QPointF pos = event->position();
  const int column = static_cast<int>(std::lround(plot()->xAxis->pixelToCoord(pos.x())));
  const int row = static_cast<int>(std::lround(plot()->yAxis->pixelToCoord(pos.y())));
  const QString text = plot()->axisRect()->rect().contains(pos.toPoint())
                           ? toolTipAt(row, column)
                           : QString();
  if (text.isEmpty()) {
    QToolTip::hideText();
  } else {
    QToolTip::showText(event->globalPosition().toPoint(), text, plot());
  }
}

void PlanHeatmap::applyTheme() {
  if (m_points) {
    // Red-pink reads on every viridis shade and on both light and dark backgrounds.
    m_points->setPen(QPen(QColor(240, 40, 90), 0));
    m_points->setBrush(Qt::NoBrush);
  }
  PlotFrame::applyTheme();
}

}  // namespace rebasin::widgets
