// MergePlot: barrier matrices before and after alignment beside the accuracy bars.
#include "widgets/merge_plot.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "widgets/plot_theme.h"
#include "widgets/qcp.h"

namespace rebasin::widgets {
namespace {

// Models are labelled by file on every axis ("2: mnist-mlp-seed2", long names elided in the
// middle; the CSV and JSON keep them whole), so a cell or bar reads without a key.
QSharedPointer<QCPAxisTickerText> modelTicker(const QStringList& names) {
  auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
  for (int i = 0; i < names.size(); ++i) {
    QString name = names[i];
    if (name.size() > 18) name = name.left(8) + QStringLiteral("…") + name.right(9);
    ticker->addTick(i + 1, name.isEmpty() ? QString::number(i + 1) : QStringLiteral("%1: %2").arg(i + 1).arg(name));
  }
  return ticker;
}

void setupMatrixRect(QCPAxisRect* rect, const QString& title) {
  rect->axis(QCPAxis::atBottom)->setLabel(title);
  rect->axis(QCPAxis::atLeft)->setRangeReversed(true);  // matrix layout: model 1 on top
  for (QCPAxis* axis : {rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft)}) {
    axis->grid()->setVisible(false);
    axis->setTickLength(0, 0);
    axis->setSubTicks(false);
  }
}

QCPColorMap* addMap(QCPAxisRect* rect, QCPColorScale* scale) {
  auto* map = new QCPColorMap(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
  map->setInterpolate(false);
  map->removeFromLegend();
  map->setTightBoundary(false);
  map->setColorScale(scale);
  return map;
}

}  // namespace

MergePlot::MergePlot(QWidget* parent) : PlotFrame(parent) {
  QCustomPlot* p = plot();
  QCPLayoutGrid* layout = p->plotLayout();
  m_barsRect = p->axisRect();
  layout->take(m_barsRect);
  layout->simplify();
  layout->addElement(0, 0, new QCPTextElement(p, tr("Merging: pairwise loss barriers and accuracy"),
                                               QFont(font().family(), -1, QFont::Bold)));
  auto* main = new QCPLayoutGrid;
  layout->addElement(1, 0, main);
  m_beforeRect = new QCPAxisRect(p);
  m_afterRect = new QCPAxisRect(p);
  m_scale = new QCPColorScale(p);
  m_scale->setLabel(tr("loss barrier"));
  main->addElement(0, 0, m_beforeRect);
  main->addElement(0, 1, m_afterRect);
  main->addElement(0, 2, m_scale);
  main->addElement(0, 3, m_barsRect);
  main->setColumnStretchFactors({1.0, 1.0, 0.08, 1.2});
  auto* margins = new QCPMarginGroup(p);
  for (QCPLayoutElement* e : std::initializer_list<QCPLayoutElement*>{m_beforeRect, m_afterRect, m_scale, m_barsRect})
    e->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
  setupMatrixRect(m_beforeRect, tr("model, before alignment"));
  setupMatrixRect(m_afterRect, tr("model, after alignment (merge frame)"));
  m_beforeRect->axis(QCPAxis::atLeft)->setLabel(tr("model"));
  m_before = addMap(m_beforeRect, m_scale);
  m_after = addMap(m_afterRect, m_scale);
  m_scale->setGradient(viridisGradient());  // after setColorScale, which adopts the scale's

  m_barsRect->axis(QCPAxis::atLeft)->setLabel(tr("test accuracy (%)"));
  m_barsRect->axis(QCPAxis::atBottom)->grid()->setVisible(false);
  m_barsRect->axis(QCPAxis::atBottom)->setTickLength(0, 3);
  m_barsRect->axis(QCPAxis::atBottom)->setLabel(tr("model"));
  m_bars = new QCPBars(m_barsRect->axis(QCPAxis::atBottom), m_barsRect->axis(QCPAxis::atLeft));
  m_bars->setWidth(0.7);
  m_bars->removeFromLegend();
  m_references = new QCPBars(m_barsRect->axis(QCPAxis::atBottom), m_barsRect->axis(QCPAxis::atLeft));
  m_references->setWidth(0.7);
  m_references->removeFromLegend();
  p->legend->setVisible(false);
  applyTheme();
  clear();
}

void MergePlot::clear() { setView({}); }

int MergePlot::measuredCells() const {
  int n = 0;
  for (const QVector<double>* m : {&m_view.before, &m_view.after})
    n += int(std::count_if(m->begin(), m->end(), [](double v) { return std::isfinite(v); }));
  return n;
}

double MergePlot::barrierScaleMax() const { return m_scale->dataRange().upper; }

void MergePlot::setView(const MergeView& view) {
  m_view = view;
  const int n = m_view.count();
  const auto cells = qsizetype(n) * n;
  // A view missing a matrix (or with the wrong size) is drawn as not measured yet.
  for (QVector<double>* m : {&m_view.before, &m_view.after})
    if (m->size() != cells) *m = QVector<double>(cells, qQNaN());
  if (m_view.accuracy.size() != n) m_view.accuracy = QVector<double>(n, qQNaN());
  rebuildMaps();
  rebuildBars();
  rebuildLabels();
  requestReplot();
}

void MergePlot::rebuildMaps() {
  const int n = m_view.count();
  double hi = 0;
  for (const QVector<double>* m : {&m_view.before, &m_view.after})
    for (double v : *m)
      if (std::isfinite(v)) hi = std::max(hi, v);
  const QCPRange range(0, hi > 0 ? hi : 1);
  const auto ticker = modelTicker(m_view.models);
  for (auto [map, values] : {std::pair{m_before, &m_view.before}, std::pair{m_after, &m_view.after}}) {
    QCPColorMapData* data = map->data();
    if (n == 0) {
      data->clear();
    } else {
      data->setSize(n, n);
      data->setRange(QCPRange(1, n), QCPRange(1, n));
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) data->setCell(j, i, (*values)[i * n + j]);
    }
    map->setDataRange(range);
    for (QCPAxis* axis : {map->keyAxis(), map->valueAxis()}) {
      axis->setTicker(ticker);
      axis->setRange(0.5, std::max(n, 1) + 0.5);
    }
    map->keyAxis()->setTickLabelRotation(-35);
  }
  m_scale->setDataRange(range);
}

void MergePlot::rebuildBars() {
  const int n = m_view.count();
  auto ticker = modelTicker(m_view.models);
  QVector<double> keys, values, refKeys, refValues;
  for (int i = 0; i < n; ++i) {
    keys << i + 1;
    values << (std::isfinite(m_view.accuracy[i]) ? 100 * m_view.accuracy[i] : 0.0);
  }
  const std::pair<QString, double> refs[] = {
      {tr("merged"), m_view.merged}, {tr("naive average"), m_view.naiveAverage}, {tr("ensemble"), m_view.ensemble}};
  double key = n + 1.5;  // a gap between the models and the references
  for (const auto& [name, value] : refs) {
    ticker->addTick(key, name);
    refKeys << key;
    refValues << (std::isfinite(value) ? 100 * value : 0.0);
    key += 1;
  }
  m_bars->setData(keys, values, true);
  m_references->setData(refKeys, refValues, true);
  QCPAxis* x = m_barsRect->axis(QCPAxis::atBottom);
  x->setTicker(ticker);
  // The references' names need more room than a bar: slant them (to the left, so the last one
  // stays inside the widget).
  x->setTickLabelRotation(-35);
  x->setRange(0.4, key - 0.4);
  // Bars start at 0: an axis starting near the lowest accuracy made small gaps look large. Room
  // above 100 for the value labels.
  m_barsRect->axis(QCPAxis::atLeft)->setRange(0, 104);
}

void MergePlot::rebuildLabels() {
  for (QCPItemText* label : std::as_const(m_cellLabels)) plot()->removeItem(label);
  for (QCPItemText* label : std::as_const(m_barLabels)) plot()->removeItem(label);
  m_cellLabels.clear();
  m_barLabels.clear();
  const int n = m_view.count();
  if (n <= kMaxAnnotatedModels) {
    for (auto [rect, map, values] : {std::tuple{m_beforeRect, m_before, &m_view.before},
                                     std::tuple{m_afterRect, m_after, &m_view.after}}) {
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
          const double v = (*values)[i * n + j];
          if (!std::isfinite(v) || i == j) continue;
          auto* label = new QCPItemText(plot());
          label->setClipAxisRect(rect);
          label->position->setAxes(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
          label->position->setCoords(j + 1, i + 1);
          label->setText(QString::number(v, 'f', v < 10 ? 2 : 1));
          label->setColor(contrastingText(map->gradient().color(v, map->dataRange())));
          m_cellLabels << label;
        }
      }
    }
  }
  // Accuracy on top of every measured bar.
  for (QCPBars* bars : {m_bars, m_references}) {
    for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) {
      if (it->value <= 0) continue;
      auto* label = new QCPItemText(plot());
      label->setClipAxisRect(m_barsRect);
      label->position->setAxes(m_barsRect->axis(QCPAxis::atBottom), m_barsRect->axis(QCPAxis::atLeft));
      label->position->setCoords(it->key, it->value);
      label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
      label->setText(QString::number(it->value, 'f', 1));
      label->setColor(palette().color(QPalette::Text));
      m_barLabels << label;
    }
  }
}

void MergePlot::applyTheme() {
  if (m_bars) {
    const QColor fill = palette().color(QPalette::Highlight);
    m_bars->setPen(QPen(fill.darker(130), 1));
    m_bars->setBrush(fill);
    const QColor ref = seriesColor(1);
    m_references->setPen(QPen(ref.darker(130), 1));
    m_references->setBrush(ref);
  }
  for (QCPItemText* label : std::as_const(m_barLabels)) label->setColor(palette().color(QPalette::Text));
  PlotFrame::applyTheme();
}

}  // namespace rebasin::widgets
