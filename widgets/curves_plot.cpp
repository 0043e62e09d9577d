// CurvesPlot: two stacked axis rects sharing lambda, graphs per curve, barrier markers.
#include "widgets/curves_plot.h"

#include <QComboBox>
#include <QFontMetricsF>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>

#include "widgets/curve_barrier.h"
#include "widgets/method_table.h"
#include "widgets/plot_theme.h"
#include "widgets/qcp.h"

namespace rebasin::widgets {
namespace {

template <typename SeriesT>
std::map<double, double> lossOf(const SeriesT& series) {
  std::map<double, double> loss;
  for (const auto& [lambda, point] : series) loss.emplace_hint(loss.end(), lambda, point.loss);
  return loss;
}

}  // namespace

CurvesPlot::CurvesPlot(QWidget* parent) : PlotFrame(parent) {
  QHBoxLayout* row = controlsRow();
  row->addWidget(new QLabel(tr("Split:"), this));
  m_splitBox = new QComboBox(this);
  m_splitBox->addItems({QStringLiteral("train"), QStringLiteral("test")});
  m_splitBox->setCurrentText(m_split);
  m_splitBox->setToolTip(tr("Data set split the curves are evaluated on"));
  row->addWidget(m_splitBox);
  row->addStretch(1);
  connect(m_splitBox, &QComboBox::textActivated, this, &CurvesPlot::setSplit);

  QCustomPlot* p = plot();
  m_lossRect = p->axisRect();
  m_accuracyRect = new QCPAxisRect(p);
  p->plotLayout()->addElement(1, 0, m_accuracyRect);
  auto* margins = new QCPMarginGroup(p);
  m_lossRect->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
  m_accuracyRect->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
  for (QCPAxisRect* rect : {m_lossRect, m_accuracyRect}) {
    rect->axis(QCPAxis::atBottom)->setRange(-0.02, 1.02);  // end points not cut in half
    rect->setRangeDrag(Qt::Horizontal | Qt::Vertical);
    rect->setRangeZoom(Qt::Horizontal | Qt::Vertical);
  }
  // Both panels share lambda: zooming or panning one moves the other (a double click fits both).
  QCPAxis* lossLambda = m_lossRect->axis(QCPAxis::atBottom);
  QCPAxis* accuracyLambda = m_accuracyRect->axis(QCPAxis::atBottom);
  connect(lossLambda, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), accuracyLambda,
          [accuracyLambda](const QCPRange& r) { if (accuracyLambda->range() != r) accuracyLambda->setRange(r); });
  connect(accuracyLambda, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), lossLambda,
          [lossLambda](const QCPRange& r) { if (lossLambda->range() != r) lossLambda->setRange(r); });
  m_lossRect->axis(QCPAxis::atLeft)->setLabel(tr("loss"));
  m_lossRect->axis(QCPAxis::atBottom)->setTickLabels(false);  // shared with the plot below
  m_accuracyRect->axis(QCPAxis::atLeft)->setLabel(tr("accuracy"));
  m_accuracyRect->axis(QCPAxis::atLeft)->setRange(0, 1.02);
  m_accuracyRect->axis(QCPAxis::atBottom)->setLabel(tr("λ (0 = model A, 1 = model B)"));
  m_lossRect->axis(QCPAxis::atLeft)->setRange(0, 1);
  p->legend->setVisible(true);
  m_lossRect->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  // A click on a legend entry hides or shows that curve (both panels, its chord and barrier).
  connect(p, &QCustomPlot::legendClick, this, [this](QCPLegend*, QCPAbstractLegendItem* item, QMouseEvent*) {
    if (auto* entry = qobject_cast<QCPPlottableLegendItem*>(item)) {
      const QString curve = entry->plottable()->name();
      setCurveVisible(curve, !curveVisible(curve));
    }
  });
  connect(p, &QCustomPlot::beforeReplot, this, &CurvesPlot::layoutBarrierLabels);
  m_table = new MethodTable(this);
  m_table->setVisible(false);
  static_cast<QVBoxLayout*>(layout())->addWidget(m_table);
  // Queued: the table rebuilds its rows when a curve is shown or hidden, which must not happen
  // inside its own itemChanged.
  connect(m_table, &MethodTable::visibilityToggled, this, &CurvesPlot::setCurveVisible, Qt::QueuedConnection);
  connect(p, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) {
    m_lossRect->axis(QCPAxis::atBottom)->setRange(-0.02, 1.02);
    rescaleValueAxes();
    requestReplot();
  });
  applyTheme();
}

QColor CurvesPlot::colorFor(const QString& curve) {
  // tab10 indices: blue 0, orange 1, green 2, red 3, purple 4, brown 5, pink 6, grey 7, olive 8, cyan 9.
  static const QMap<QString, int> fixed = {{"naive", 7},       {"weight", 0},       {"activation", 1},
                                           {"ste", 4},         {"sinkhorn-l2", 2},  {"sinkhorn-l1", 8},
                                           {"sinkhorn-mid", 3}, {"sinkhorn-rnd", 5}, {"random", 6},
                                           {"aligned", 2},     {"repaired", 9}};
  QString key = curve;
  const bool repaired = key.endsWith(QStringLiteral("+repair"));
  if (repaired) key.chop(7);
  if (repaired) return QColor(seriesColor(fixed.value(key, 9))).darker(150);
  if (fixed.contains(key)) return seriesColor(fixed.value(key));
  return seriesColor(int(qHash(key) % 10));
}

void CurvesPlot::setCurveVisible(const QString& curve, bool visible) {
  auto it = m_graphics.find(curve);
  if (it == m_graphics.end()) return;
  Graphics& g = it.value();
  g.loss->setVisible(visible);
  g.accuracy->setVisible(visible);
  g.chord->setVisible(visible);
  const bool barrier = barrierFor(curve, m_split).has_value();
  g.marker->setVisible(visible && barrier);
  g.label->setVisible(visible && barrier);
  // The legend entry stays, greyed, so the curve can be shown again.
  if (auto* entry = plot()->legend->itemWithPlottable(g.loss))
    entry->setTextColor(visible ? palette().color(QPalette::Text) : palette().color(QPalette::Disabled, QPalette::Text));
  rescaleValueAxes();
  refreshTable();
  requestReplot();
}

bool CurvesPlot::curveVisible(const QString& curve) const {
  auto it = m_graphics.constFind(curve);
  return it != m_graphics.constEnd() && it->loss->visible();
}

QVector<QRectF> CurvesPlot::barrierLabelRects() const { return m_labelRects; }

void CurvesPlot::layoutBarrierLabels() {
  m_labelRects.clear();
  QVector<Graphics*> shown;
  for (Graphics& g : m_graphics)
    if (g.label->visible()) shown << &g;
  // Top first: a label that collides with one above it moves further up.
  QCPAxis* x = m_lossRect->axis(QCPAxis::atBottom);
  QCPAxis* y = m_lossRect->axis(QCPAxis::atLeft);
  std::sort(shown.begin(), shown.end(), [&](const Graphics* a, const Graphics* b) {
    return y->coordToPixel(a->anchorLoss) < y->coordToPixel(b->anchorLoss);
  });
  for (Graphics* g : shown) {
    const QFontMetricsF metrics(g->label->font());
    const QMargins pad = g->label->padding();
    const QSizeF size(metrics.horizontalAdvance(g->label->text()) + pad.left() + pad.right(),
                      metrics.height() + pad.top() + pad.bottom());
    const Qt::Alignment h = g->label->positionAlignment() & Qt::AlignHorizontal_Mask;
    const double px = x->coordToPixel(g->anchorLambda);
    double bottom = y->coordToPixel(g->anchorLoss);
    const double left = h & Qt::AlignLeft ? px : h & Qt::AlignRight ? px - size.width() : px - size.width() / 2;
    QRectF rect(QPointF(left, bottom - size.height()), size);
    for (bool moved = true; moved;) {
      moved = false;
      for (const QRectF& placed : std::as_const(m_labelRects)) {
        if (rect.intersects(placed)) {
          rect.moveBottom(placed.top() - 1);
          moved = true;
        }
      }
    }
    g->label->position->setCoords(g->anchorLambda, y->pixelToCoord(rect.bottom()));
    m_labelRects << rect;
  }
}

void CurvesPlot::clear() {
  for (const Graphics& g : std::as_const(m_graphics)) {
    plot()->removeGraph(g.loss);
    plot()->removeGraph(g.accuracy);
    plot()->removeGraph(g.chord);
    plot()->removeItem(g.marker);
    plot()->removeItem(g.label);
  }
  m_graphics.clear();
  m_curves.clear();
  m_data.clear();
  m_info.clear();
  m_splitChosen = false;
  rescaleValueAxes();
  refreshTable();
  requestReplot();
}

void CurvesPlot::setCurveInfo(const QString& curve, double seconds, int steps, int chosenStep) {
  m_info[curve] = {seconds, steps, chosenStep};
  refreshTable();
}

void CurvesPlot::refreshTable() {
  QVector<MethodRow> rows;
  for (const QString& curve : std::as_const(m_curves)) {
    MethodRow row;
    row.curve = curve;
    row.colour = colorFor(curve);
    row.visible = !m_graphics.contains(curve) || curveVisible(curve);
    row.barrier = barrier(curve, m_split);
    if (const Series* s = series(curve, m_split); s && !s->empty()) {
      // The measured point nearest the midpoint.
      auto mid = s->lower_bound(0.5);
      if (mid == s->end() || (mid != s->begin() && 0.5 - std::prev(mid)->first < mid->first - 0.5)) mid = std::prev(mid);
      row.midLoss = mid->second.loss;
      row.midAccuracy = mid->second.accuracy;
    }
    if (auto it = m_info.constFind(curve); it != m_info.constEnd())
      row.seconds = it->seconds, row.steps = it->steps, row.chosenStep = it->chosenStep;
    rows << row;
  }
  m_table->setRows(rows);
}

const CurvesPlot::Series* CurvesPlot::series(const QString& curve, const QString& split) const {
  auto it = m_data.find({curve, split});
  return it == m_data.end() ? nullptr : &it->second;
}

std::optional<Barrier> CurvesPlot::barrierFor(const QString& curve, const QString& split) const {
  const Series* s = series(curve, split);
  return s ? computeBarrier(lossOf(*s)) : std::nullopt;
}

double CurvesPlot::barrier(const QString& curve, const QString& split) const {
  const std::optional<Barrier> b = barrierFor(curve, split);
  return b ? b->value : std::numeric_limits<double>::quiet_NaN();
}

double CurvesPlot::barrierLambda(const QString& curve, const QString& split) const {
  const std::optional<Barrier> b = barrierFor(curve, split);
  return b ? b->lambda : std::numeric_limits<double>::quiet_NaN();
}

int CurvesPlot::pointCount(const QString& curve, const QString& split) const {
  const Series* s = series(curve, split);
  return s ? static_cast<int>(s->size()) : 0;
}

void CurvesPlot::addPoint(const CurveSample& sample) {
  if (!std::isfinite(sample.lambda)) return;
  if (!m_curves.contains(sample.curve)) m_curves << sample.curve;
  m_data[{sample.curve, sample.split}][sample.lambda] = Point{sample.loss, sample.accuracy};
  if (!m_splitChosen && sample.split != m_split && !series(sample.curve, m_split)) {
    bool anyInShown = false;
    for (const QString& curve : std::as_const(m_curves)) anyInShown |= series(curve, m_split) != nullptr;
    if (!anyInShown) {
      setSplit(sample.split);
      m_splitChosen = false;  // still following the data, not a user choice
      return;
    }
  }
  graphicsFor(sample.curve);
  if (sample.split == m_split) {
    refreshCurve(sample.curve);
    rescaleValueAxes();
    refreshTable();
    requestReplot();
  }
}

void CurvesPlot::setSplit(const QString& split) {
  m_splitChosen = true;
  if (m_splitBox->findText(split) < 0) m_splitBox->addItem(split);
  m_splitBox->setCurrentText(split);
  if (split == m_split) return;
  m_split = split;
  for (const QString& curve : std::as_const(m_curves)) {
    graphicsFor(curve);
    refreshCurve(curve);
  }
  rescaleValueAxes();
  refreshTable();
  requestReplot();
}

CurvesPlot::Graphics& CurvesPlot::graphicsFor(const QString& curve) {
  auto it = m_graphics.find(curve);
  if (it != m_graphics.end()) return it.value();
  QCustomPlot* p = plot();
  Graphics g;
  const QColor colour = colorFor(curve);
  QCPAxis* lossX = m_lossRect->axis(QCPAxis::atBottom);
  QCPAxis* lossY = m_lossRect->axis(QCPAxis::atLeft);
  g.loss = p->addGraph(lossX, lossY);
  g.loss->setName(curve);
  g.loss->setPen(QPen(colour, 2));
  g.loss->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 4));
  g.accuracy = p->addGraph(m_accuracyRect->axis(QCPAxis::atBottom),
                           m_accuracyRect->axis(QCPAxis::atLeft));
  g.accuracy->setName(curve);
  g.accuracy->setPen(QPen(colour, 2));
  g.accuracy->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 4));
  g.accuracy->removeFromLegend();
  g.chord = p->addGraph(lossX, lossY);
  g.chord->setPen(QPen(colour, 1, Qt::DashLine));
  g.chord->removeFromLegend();
  g.marker = new QCPItemLine(p);
  g.marker->setClipAxisRect(m_lossRect);
  g.marker->setPen(QPen(colour, 1.5));
  g.marker->setHead(QCPLineEnding::esSpikeArrow);
  g.label = new QCPItemText(p);
  g.label->setClipAxisRect(m_lossRect);
  g.label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
  g.label->setColor(colour);
  g.label->setPadding(QMargins(2, 0, 2, 1));
  for (QCPItemPosition* pos : {g.marker->start, g.marker->end, g.label->position}) {
    pos->setAxes(lossX, lossY);
    pos->setType(QCPItemPosition::ptPlotCoords);
  }
  Graphics& stored = m_graphics.insert(curve, g).value();
  applyTheme();
  return stored;
}

void CurvesPlot::refreshCurve(const QString& curve) {
  Graphics& g = graphicsFor(curve);
  const Series* s = series(curve, m_split);
  QVector<double> lambdas, losses, accuracies;
  if (s) {
    for (const auto& [lambda, point] : *s) {
      lambdas << lambda;
      losses << point.loss;
      accuracies << point.accuracy;
    }
  }
  g.loss->setData(lambdas, losses, true);
  g.accuracy->setData(lambdas, accuracies, true);
  const std::optional<Barrier> b = barrierFor(curve, m_split);
  g.marker->setVisible(b.has_value() && g.loss->visible());
  g.label->setVisible(b.has_value() && g.loss->visible());
  if (b) {
    g.chord->setData({s->begin()->first, s->rbegin()->first},
                     {s->begin()->second.loss, s->rbegin()->second.loss}, true);
    g.marker->start->setCoords(b->lambda, b->chord);
    g.marker->end->setCoords(b->lambda, b->loss);
    g.label->position->setCoords(b->lambda, b->loss);
    g.anchorLambda = b->lambda, g.anchorLoss = b->loss;
    // At the ends of [0, 1] a centred label would be cut by the axis rect: anchor it inwards.
    const Qt::Alignment h = b->lambda < 0.1 ? Qt::AlignLeft : b->lambda > 0.9 ? Qt::AlignRight : Qt::AlignHCenter;
    g.label->setPositionAlignment(h | Qt::AlignBottom);
    g.label->setText(tr("barrier %1").arg(b->value, 0, 'f', 3));
  } else {
    g.chord->data()->clear();
  }
}

void CurvesPlot::applyTheme() {
  // Barrier labels get a backing of the plot's background so they stay legible over lines.
  QColor backing = palette().color(QPalette::Base);
  backing.setAlpha(210);
  for (const Graphics& g : std::as_const(m_graphics)) g.label->setBrush(backing);
  PlotFrame::applyTheme();
}

void CurvesPlot::rescaleValueAxes() {
  const double inf = std::numeric_limits<double>::infinity();
  double lo = inf, hi = -inf, accLo = inf, accHi = -inf;
  for (const QString& curve : std::as_const(m_curves)) {
    const Series* s = series(curve, m_split);
    if (!s || (m_graphics.contains(curve) && !curveVisible(curve))) continue;
    for (const auto& entry : *s) {
      if (std::isfinite(entry.second.loss)) {
        lo = std::min(lo, entry.second.loss);
        hi = std::max(hi, entry.second.loss);
      }
      if (std::isfinite(entry.second.accuracy)) {
        accLo = std::min(accLo, entry.second.accuracy);
        accHi = std::max(accHi, entry.second.accuracy);
      }
    }
  }
  QCPAxis* lossY = m_lossRect->axis(QCPAxis::atLeft);
  if (lo > hi) {
    lossY->setRange(0, 1);
  } else {
    const double span = std::max(hi - lo, 1e-6 * std::max(1.0, std::abs(hi)));
    // Headroom on top for the barrier labels.
    lossY->setRange(lo - 0.05 * span, hi + 0.18 * span);
  }
  QCPAxis* accuracyY = m_accuracyRect->axis(QCPAxis::atLeft);
  if (accLo > accHi) {
    accuracyY->setRange(0, 1.02);
  } else {
    // Zoomed to the data (accuracy dips are often a few percent), never below 0.
    const double pad = 0.1 * std::max(accHi - accLo, 0.05);
    accuracyY->setRange(std::max(0.0, accLo - pad), accHi + pad);
  }
}

}  // namespace rebasin::widgets
