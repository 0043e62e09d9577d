// Plotting widgets, offscreen: each widget is fed values, its accessors are checked and the
// rendered plot is checked for content (the data's colours appear where an empty plot has
// none). Also the transport-plan geometry: reordering, overlay points and tooltips.
#include <QtTest/QtTest>

#include <QComboBox>
#include <QLabel>
#include <QElapsedTimer>
#include <QSet>
#include <QToolTip>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "widgets/continual_plot.h"
#include "widgets/curves_plot.h"
#include "widgets/landscape_plot.h"
#include "widgets/merge_plot.h"
#include "widgets/method_table.h"
#include "widgets/objective_plot.h"
#include "widgets/plan_heatmap.h"
#include "widgets/plan_history.h"
#include "widgets/plan_layout.h"
#include "widgets/plot_theme.h"
#include "widgets/qcp.h"
#include "widgets/recovery_plot.h"

using namespace rebasin::widgets;

namespace {

constexpr int kWidth = 800, kHeight = 520;

// The plot rendered at a fixed size, and the rectangle of its (first) axis rect.
QImage render(PlotFrame* widget, QRect* area = nullptr, QCPAxisRect* rect = nullptr) {
  widget->resize(kWidth, kHeight);
  QImage image = widget->plot()->toPixmap(kWidth, kHeight).toImage();
  if (area) *area = (rect ? rect : widget->plot()->axisRect())->rect();
  return image;
}

int distinctColours(const QImage& image, const QRect& area) {
  QSet<QRgb> colours;
  const QRect r = area.intersected(image.rect());
  for (int y = r.top(); y <= r.bottom(); y += 2)
    for (int x = r.left(); x <= r.right(); x += 2) colours.insert(image.pixel(x, y));
  return colours.size();
}

// Pixels within `tol` per channel of `colour` inside `area`.
int pixelsNear(const QImage& image, const QRect& area, const QColor& colour, int tol = 24) {
  int count = 0;
  const QRect r = area.intersected(image.rect());
  for (int y = r.top(); y <= r.bottom(); ++y) {
    for (int x = r.left(); x <= r.right(); ++x) {
      const QColor c = image.pixelColor(x, y);
      if (std::abs(c.red() - colour.red()) <= tol && std::abs(c.green() - colour.green()) <= tol &&
          std::abs(c.blue() - colour.blue()) <= tol)
        ++count;
    }
  }
  return count;
}

QVector<qint64> randomPermutation(qint64 n, unsigned seed) {
  QVector<qint64> p(n);
  std::iota(p.begin(), p.end(), 0);
  std::mt19937 gen(seed);
  std::shuffle(p.begin(), p.end(), gen);
  return p;
}

// A permutation that moves whole blocks of `block` units and keeps the order inside a block,
// so its downsampled picture is exactly a permutation of blocks.
QVector<qint64> blockPermutation(qint64 n, int block, unsigned seed) {
  const QVector<qint64> blocks = randomPermutation(n / block, seed);
  QVector<qint64> p(n);
  for (qint64 i = 0; i < n; ++i) p[i] = blocks[i / block] * block + i % block;
  return p;
}

// A plan concentrated on the assignment (block-averaged when shown < size), plus a floor.
PlanView makePlan(int group, qint64 size, int shown, const QVector<qint64>& assignment) {
  PlanView plan;
  plan.group = group;
  plan.name = QStringLiteral("group%1").arg(group);
  plan.size = size;
  plan.shown = shown;
  plan.assignment = assignment;
  plan.values = QVector<float>(shown * shown, 0.01f / size);
  const double cellsPerUnit = double(shown) / double(size);
  for (qint64 i = 0; i < size; ++i) {
    const int r = plan::cellOf(i, shown, size), c = plan::cellOf(assignment[i], shown, size);
    plan.values[r * shown + c] += float(cellsPerUnit * cellsPerUnit);
  }
  return plan;
}

}  // namespace

class TestWidgets : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void cellRanges_data() {
    QTest::addColumn<int>("cell");
    QTest::addColumn<int>("shown");
    QTest::addColumn<qint64>("size");
    QTest::addColumn<qint64>("first");
    QTest::addColumn<qint64>("last");
    QTest::newRow("full resolution") << 5 << 8 << qint64(8) << qint64(5) << qint64(5);
    QTest::newRow("blocks of 4") << 1 << 256 << qint64(1024) << qint64(4) << qint64(7);
    QTest::newRow("last block") << 255 << 256 << qint64(1024) << qint64(1020) << qint64(1023);
    // Adaptive pooling: uneven blocks overlap (10 units into 4 cells: 0-2, 2-4, 5-7, 7-9).
    QTest::newRow("uneven") << 1 << 4 << qint64(10) << qint64(2) << qint64(4);
    QTest::newRow("uneven last") << 3 << 4 << qint64(10) << qint64(7) << qint64(9);
  }
  void cellRanges() {
    QFETCH(int, cell);
    QFETCH(int, shown);
    QFETCH(qint64, size);
    QFETCH(qint64, first);
    QFETCH(qint64, last);
    const plan::IndexRange range = plan::cellRange(cell, shown, size);
    QCOMPARE(range.first, first);
    QCOMPARE(range.last, last);
  }

  void heatmapOverlay_data() {
    QTest::addColumn<qint64>("size");
    QTest::addColumn<int>("shown");
    QTest::addColumn<bool>("blocks");  // block-structured assignment
    QTest::addColumn<bool>("reorder");
    QTest::newRow("8 plain") << qint64(8) << 8 << false << false;
    QTest::newRow("8 reordered") << qint64(8) << 8 << false << true;
    QTest::newRow("512 full resolution reordered") << qint64(512) << 512 << false << true;
    QTest::newRow("1024 as 256 plain") << qint64(1024) << 256 << true << false;
    QTest::newRow("1024 as 256 reordered") << qint64(1024) << 256 << true << true;
    QTest::newRow("4096 as 256 reordered") << qint64(4096) << 256 << true << true;
    QTest::newRow("1000 as 256 reordered, unstructured") << qint64(1000) << 256 << false << true;
  }
  void heatmapOverlay() {
    QFETCH(qint64, size);
    QFETCH(int, shown);
    QFETCH(bool, blocks);
    QFETCH(bool, reorder);
    const QVector<qint64> assignment =
        blocks ? blockPermutation(size, int(size / shown), 7) : randomPermutation(size, 7);
    PlanHeatmap w;
    w.setReorder(reorder);
    w.setPlan(makePlan(0, size, shown, assignment));
    QCOMPARE(w.shownSide(), shown);
    QCOMPARE(w.reorder(), reorder);

    const qint64 stride = (size + PlanHeatmap::kMaxOverlayPoints - 1) / PlanHeatmap::kMaxOverlayPoints;
    const int expected = int((size + stride - 1) / stride);
    QCOMPARE(w.overlayPointCount(), expected);
    QVERIFY(w.overlayPointCount() <= PlanHeatmap::kMaxOverlayPoints);
    QCOMPARE(w.plot()->graph(0)->dataCount(), expected);  // what is drawn

    const QVector<QPointF> points = w.overlayPoints();
    const double scale = double(shown) / double(size);
    for (int k = 0; k < points.size(); ++k) {
      const qint64 row = k * stride;
      QCOMPARE(points[k].y(), (row + 0.5) * scale - 0.5);
      QVERIFY(points[k].x() >= -0.5 && points[k].x() <= shown - 0.5);
      if (!reorder) {
        QCOMPARE(points[k].x(), (assignment[row] + 0.5) * scale - 0.5);
      } else if (shown == size || blocks) {
        QVERIFY2(std::abs(points[k].x() - points[k].y()) < 1e-9, "assignment not on the diagonal");
      }
    }
    // Switching reordering off and on again gives the same points.
    w.setReorder(!reorder);
    w.setReorder(reorder);
    QCOMPARE(w.overlayPoints(), points);
  }

  void heatmapReorderMovesValues() {
    // 4 x 4 plan, assignment 0->2, 1->0, 2->3, 3->1: reordered, the diagonal holds the mass.
    const QVector<qint64> assignment = {2, 0, 3, 1};
    PlanView plan = makePlan(0, 4, 4, assignment);
    PlanHeatmap w;
    w.setPlan(plan);
    QCPColorMap* map = qobject_cast<QCPColorMap*>(w.plot()->plottable(0));
    QVERIFY(map);
    QVERIFY(map->data()->cell(2, 0) > 0.5);  // (column 2, row 0) before reordering
    w.setReorder(true);
    for (int i = 0; i < 4; ++i) QVERIFY(map->data()->cell(i, i) > 0.5);
    QCOMPARE(w.toolTipAt(0, 0), QStringLiteral("row 0, column 2: %1").arg(plan.values[2], 0, 'g', 4));
  }

  // A group larger than the shown grid with a scattered assignment: reordering the averaged cells
  // can only smear it, so the view draws the plan core reordered at full resolution - the
  // assignment lands exactly on the diagonal - and says on the axis that columns are reordered.
  void heatmapReordersAtFullResolution() {
    const qint64 size = 600;
    const int shown = 100;
    const QVector<qint64> assignment = randomPermutation(size, 3);
    PlanView plan = makePlan(0, size, shown, assignment);
    plan.step = 7;
    plan.result = true;
    plan.reordered = QVector<float>(shown * shown, 0.0f);
    for (int i = 0; i < shown; ++i) plan.reordered[i * shown + i] = 1.0f / 6;  // 6 units a cell
    PlanHeatmap w;
    w.setPlan(plan);
    QVERIFY(!w.exactReorder());
    QCOMPARE(w.stepText(), QStringLiteral("result: the permutation returned (step 7)"));
    QCOMPARE(w.drawnAssignment(0), assignment);
    QVERIFY(w.showsResult(0));
    w.setReorder(true);
    QVERIFY(w.exactReorder());
    QVERIFY(w.plot()->xAxis->label().contains("reordered"));
    QCOMPARE(w.overlayPointCount(), int(size));
    for (const QPointF& p : w.overlayPoints()) QVERIFY(std::abs(p.x() - p.y()) < 1e-9);
    QCPColorMap* map = qobject_cast<QCPColorMap*>(w.plot()->plottable(0));
    for (int i = 0; i < shown; ++i) QVERIFY(map->data()->cell(i, i) > 0.1);
    QCOMPARE(w.toolTipAt(0, 0), QStringLiteral("row 0-5, columns matched to rows 0-5: %1").arg(1.0 / 6, 0, 'g', 4));
    plan.result = false;
    plan.step = 8;
    w.setPlan(plan);
    QCOMPARE(w.stepText(), QStringLiteral("step 8"));
    QVERIFY(!w.showsResult(0));
    w.setReorder(false);
    QVERIFY(!w.exactReorder());
    QVERIFY(!w.plot()->xAxis->label().contains("reordered"));
  }

  // A finished run can be replayed: every frame is kept, a replay plays them in order and ends
  // on the latest (the result); a frame can be picked and its step is said; the colour scale
  // can be fixed at 0..1 so frames compare.
  void heatmapReplaysARun() {
    PlanHeatmap w;
    for (int step = 1; step <= 10; ++step) {
      PlanView p = makePlan(0, 8, 8, randomPermutation(8, step));
      p.step = step;
      p.result = step == 10;
      w.setPlan(p);
    }
    QCOMPARE(w.frameCount(), 10);
    QCOMPARE(w.shownFrame(), -1);
    QCOMPARE(w.stepText(), QStringLiteral("result: the permutation returned (step 10)"));
    w.showFrame(3);
    QCOMPARE(w.stepText(), QStringLiteral("step 4"));
    QCOMPARE(w.overlayPointCount(), 8);
    // A frame arriving while an earlier one is shown does not move the view.
    PlanView late = makePlan(0, 8, 8, randomPermutation(8, 11));
    late.step = 11;
    w.setPlan(late);
    QCOMPARE(w.stepText(), QStringLiteral("step 4"));
    QCOMPARE(w.frameCount(), 11);
    w.replay(0.2);
    QVERIFY(w.isReplaying());
    QCOMPARE(w.stepText(), QStringLiteral("step 1"));
    QTRY_VERIFY_WITH_TIMEOUT(!w.isReplaying(), 10000);
    QCOMPARE(w.shownFrame(), -1);
    QCOMPARE(w.stepText(), QStringLiteral("step 11"));

    const float peak = *std::max_element(late.values.begin(), late.values.end());
    QCOMPARE(w.scaleMax(), double(peak));
    w.setFixedScale(true);
    QCOMPARE(w.scaleMax(), 1.0);
    w.clear();
    QCOMPARE(w.frameCount(), 0);
  }

  void planHistoryStaysInItsBudget() {
    PlanHistory h;
    const PlanView p = makePlan(0, 64, 64, randomPermutation(64, 1));  // 16 KiB of values
    const qint64 one = qint64(sizeof(float)) * 64 * 64 + qint64(sizeof(qint64)) * 64;
    h.setBudget(40 * one);
    for (int step = 0; step < 100; ++step) {
      PlanView f = p;
      f.step = step;
      h.add(f);
    }
    QVERIFY(h.bytes() <= 40 * one);
    QVERIFY(h.frameCount(0) >= 20);
    QCOMPARE(h.frame(0, 0)->step, 0);                     // the first frame is kept
    QCOMPARE(h.frame(0, h.frameCount(0) - 1)->step, 99);  // and the latest
    for (int i = 1; i < h.frameCount(0); ++i) QVERIFY(h.frame(0, i)->step > h.frame(0, i - 1)->step);
  }

  void heatmapToolTip_data() {
    QTest::addColumn<qint64>("size");
    QTest::addColumn<int>("shown");
    QTest::addColumn<int>("row");
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("text");
    QTest::newRow("full") << qint64(8) << 8 << 3 << 5 << "row 3, column 5: 0.5";
    QTest::newRow("downsampled") << qint64(1024) << 256 << 1 << 2 << "row 4-7, column 8-11: 0.5";
    QTest::newRow("uneven") << qint64(10) << 4 << 1 << 3 << "row 2-4, column 7-9: 0.5";
  }
  void heatmapToolTip() {
    QFETCH(qint64, size);
    QFETCH(int, shown);
    QFETCH(int, row);
    QFETCH(int, column);
    QFETCH(QString, text);
    PlanView plan;
    plan.size = size;
    plan.shown = shown;
    plan.values = QVector<float>(shown * shown, 0.0f);
    plan.values[row * shown + column] = 0.5f;
    PlanHeatmap w;
    w.setPlan(plan);
    QCOMPARE(w.toolTipAt(row, column), text);
    QVERIFY(w.toolTipAt(shown, 0).isEmpty());
    QCOMPARE(w.overlayPointCount(), 0);  // no assignment, no overlay
  }

  void heatmapGroups() {
    PlanHeatmap w;
    QSignalSpy selected(&w, &PlanHeatmap::groupSelected);
    w.setPlan(makePlan(0, 16, 16, randomPermutation(16, 1)));
    w.setPlan(makePlan(3, 64, 32, blockPermutation(64, 2, 2)));
    w.setPlan(makePlan(1, 8, 8, randomPermutation(8, 3)));
    QCOMPARE(w.groupNames(), QStringList({"group0", "group3", "group1"}));
    QCOMPARE(w.selectedGroup(), 0);  // the first to arrive
    QCOMPARE(w.shownSide(), 16);
    w.selectGroup(3);
    QCOMPARE(w.selectedGroup(), 3);
    QCOMPARE(w.shownSide(), 32);
    QCOMPARE(selected.count(), 1);
    QCOMPARE(w.findChild<QComboBox*>()->currentText(), QStringLiteral("group3"));
    // A newer snapshot of a known group replaces it without a new entry.
    w.setPlan(makePlan(3, 64, 64, randomPermutation(64, 4)));
    QCOMPARE(w.groupNames().size(), 3);
    QCOMPARE(w.shownSide(), 64);
    // A malformed plan is refused.
    PlanView bad = makePlan(9, 8, 8, randomPermutation(8, 5));
    bad.values.resize(10);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("PlanHeatmap: plan of group 9.*ignored"));
    w.setPlan(bad);
    QCOMPARE(w.groupNames().size(), 3);
    w.clear();
    QCOMPARE(w.groupNames(), QStringList());
    QCOMPARE(w.shownSide(), 0);
    QCOMPARE(w.overlayPointCount(), 0);
  }

  void heatmapHeadLevels() {
    // 3 heads of 4 units; A's head i is B's head (i + 1) % 3, units reversed inside each pair.
    const int h = 3, d = 4, n = h * d;
    QVector<qint64> assignment;
    for (int i = 0; i < h; ++i)
      for (int u = 0; u < d; ++u) assignment << ((i + 1) % h) * d + (d - 1 - u);
    PlanView plan = makePlan(2, n, n, assignment);
    plan.heads = h;
    for (int i = 0; i < h; ++i)
      for (int j = 0; j < h; ++j) plan.headValues << (j == (i + 1) % h ? 0.9f : 0.05f);
    for (int i = 0; i < h; ++i) plan.headAssignment << (i + 1) % h;
    for (int i = 0; i < h; ++i)
      for (int r = 0; r < d; ++r)
        for (int c = 0; c < d; ++c) plan.innerValues << (c == d - 1 - r ? 0.97f : 0.01f) + 0.001f * i;
    PlanHeatmap w;
    w.resize(600, 500);
    w.show();
    w.setPlan(plan);
    auto* box = w.findChild<QComboBox*>("headLevel");
    QVERIFY(box);
    QVERIFY(box->isVisible());
    QCOMPARE(box->count(), 2 + h);  // all units, heads, one per head
    QCOMPARE(w.headLevel(), -2);
    QCOMPARE(w.shownSide(), n);
    w.setHeadLevel(-1);  // the h x h head plan, its assignment overlaid
    QCOMPARE(w.shownSide(), h);
    QCOMPARE(w.overlayPointCount(), h);
    QVERIFY(w.toolTipAt(0, 1).endsWith("0.9"));
    // A click on head 1's row opens its inner plan with B's head 2: d x d, the reversed units.
    w.openHeadRow(1);
    QCOMPARE(w.headLevel(), 1);
    QCOMPARE(w.shownSide(), d);
    QCOMPARE(w.overlayPointCount(), d);
    QVERIFY2(w.toolTipAt(0, d - 1).endsWith("0.971"), qPrintable(w.toolTipAt(0, d - 1)));
    QVERIFY(w.plot()->yAxis->label().contains("head 1"));
    // Clicks mean nothing outside the head plan; a new snapshot keeps the level.
    w.openHeadRow(0);
    QCOMPARE(w.headLevel(), 1);
    w.setPlan(plan);
    QCOMPARE(w.shownSide(), d);
    // A plain group has no head levels: the box hides and units are shown.
    w.setPlan(makePlan(5, 8, 8, randomPermutation(8, 2)));
    w.selectGroup(5);
    QVERIFY(!box->isVisible());
    QCOMPARE(w.headLevel(), -2);
    QCOMPARE(w.shownSide(), 8);
    // Head data that does not fit the group is ignored (unit level only).
    plan.innerValues.resize(5);
    w.setPlan(plan);
    w.selectGroup(2);
    w.setHeadLevel(-1);
    QCOMPARE(w.headLevel(), -2);
    QCOMPARE(w.shownSide(), n);
  }

  void heatmapRenders() {
    PlanHeatmap empty;
    QRect area;
    const int before = distinctColours(render(&empty, &area), area);
    PlanHeatmap w;
    w.setPlan(makePlan(0, 64, 64, randomPermutation(64, 9)));
    const QImage image = render(&w, &area);
    const int after = distinctColours(image, area);
    QVERIFY2(after >= 4 && after > before, qPrintable(QStringLiteral("%1 vs %2").arg(after).arg(before)));
    QVERIFY(pixelsNear(image, area, QColor(240, 40, 90), 10) > 64);  // the overlay points
    QVERIFY(!w.grab().isNull());
  }

  void heatmapMouse() {
    // The real paths: hovering shows the cell's tooltip, double-click fits after a zoom.
    PlanHeatmap w;
    w.resize(kWidth, kHeight);
    PlanView plan;
    plan.size = 1024;
    plan.shown = 256;
    plan.values = QVector<float>(256 * 256, 0.0f);
    plan.values[10 * 256 + 20] = 0.25f;
    w.setPlan(plan);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QCustomPlot* p = w.plot();
    p->replot();
    const QPoint cell(int(p->xAxis->coordToPixel(20)), int(p->yAxis->coordToPixel(10)));
    QMouseEvent move(QEvent::MouseMove, cell, p->mapToGlobal(cell), Qt::NoButton, Qt::NoButton,
                     Qt::NoModifier);
    QApplication::sendEvent(p, &move);
    QTRY_COMPARE(QToolTip::text(), QStringLiteral("row 40-43, column 80-83: 0.25"));

    p->xAxis->setRange(100, 120);
    p->yAxis->setRange(30, 40);
    QTest::mouseDClick(p, Qt::LeftButton, Qt::NoModifier, cell);
    QCOMPARE(p->xAxis->range(), QCPRange(-0.5, 255.5));
    QCOMPARE(p->yAxis->range(), QCPRange(-0.5, 255.5));
  }

  void heatmapThroughput() {
    // Not a timed assertion: prints the cost of a full-resolution 512 x 512 update + render.
    PlanHeatmap w;
    w.resize(kWidth, kHeight);
    const QVector<qint64> assignment = randomPermutation(512, 11);
    QElapsedTimer timer;
    timer.start();
    constexpr int kPlans = 10;
    for (int i = 0; i < kPlans; ++i) {
      PlanView plan = makePlan(0, 512, 512, assignment);
      plan.step = i;
      w.setPlan(plan);
      w.plot()->toPixmap(kWidth, kHeight);
    }
    qInfo("512 x 512 plan: %.1f ms per update + render", double(timer.elapsed()) / kPlans);
    QCOMPARE(w.shownSide(), 512);
    QCOMPARE(w.overlayPointCount(), 512);
  }

  void curvesBarrier_data() {
    QTest::addColumn<QString>("shape");
    QTest::addColumn<double>("barrier");
    QTest::addColumn<double>("argmax");
    QTest::newRow("bump") << "bump" << 1.0 << 0.5;
    QTest::newRow("tilted bump") << "tilted" << 1.0 << 0.5;
    QTest::newRow("linear") << "linear" << 0.0 << 0.0;
    QTest::newRow("no end point") << "open" << qQNaN() << qQNaN();
  }
  void curvesBarrier() {
    QFETCH(QString, shape);
    QFETCH(double, barrier);
    QFETCH(double, argmax);
    CurvesPlot w;
    QVector<double> lambdas;
    for (int i = 0; i <= 10; ++i) lambdas << i / 10.0;
    if (shape == "open") lambdas.removeLast();
    std::mt19937 gen(5);
    std::shuffle(lambdas.begin(), lambdas.end(), gen);  // any order of arrival
    for (double l : lambdas) {
      const double bump = 1 + 4 * l * (1 - l);
      const double loss = shape == "tilted" ? bump + 2 * l : (shape == "linear" ? 2 - l : bump);
      w.addPoint({QStringLiteral("c"), QStringLiteral("test"), l, loss, 0.9 - 0.3 * l});
    }
    QCOMPARE(w.curveNames(), QStringList({"c"}));
    QCOMPARE(w.pointCount("c", "test"), lambdas.size());
    QCOMPARE(w.pointCount("c", "train"), 0);
    QVERIFY(std::isnan(w.barrier("c", "train")));
    QVERIFY(std::isnan(w.barrier("other", "test")));
    if (std::isnan(barrier)) {
      QVERIFY(std::isnan(w.barrier("c", "test")));
    } else {
      QVERIFY(std::abs(w.barrier("c", "test") - barrier) < 1e-12);
      QVERIFY(std::abs(w.barrierLambda("c", "test") - argmax) < 1e-12);
    }
  }

  // Methods overlaid for comparison: each keeps its colour whatever the order of the runs,
  // barrier labels of nearly equal barriers do not sit on each other, a legend click hides a
  // curve (and its barrier) and a second click shows it again.
  void curvesCompareMethods() {
    QCOMPARE(CurvesPlot::colorFor("sinkhorn-l2"), seriesColor(2));
    QCOMPARE(CurvesPlot::colorFor("naive"), seriesColor(7));
    QVERIFY(CurvesPlot::colorFor("weight") != CurvesPlot::colorFor("sinkhorn-l2"));
    QCOMPARE(CurvesPlot::colorFor("my-method"), CurvesPlot::colorFor("my-method"));

    CurvesPlot w;
    w.resize(800, 600);
    for (const char* curve : {"weight", "sinkhorn-l2", "sinkhorn-mid"})
      for (int i = 0; i <= 10; ++i) {
        const double l = i / 10.0;
        // Barriers 0.300, 0.301, 0.302: peaks at the same place and nearly the same height.
        const double extra = QString(curve) == "weight" ? 0.0 : QString(curve) == "sinkhorn-l2" ? 0.001 : 0.002;
        w.addPoint({QString::fromLatin1(curve), QStringLiteral("test"), l, 1 + (1.2 + 4 * extra) * l * (1 - l), 0.9});
      }
    QCOMPARE(w.plot()->graph(0)->pen().color(), CurvesPlot::colorFor("weight"));
    QRect area;
    render(&w, &area);
    w.plot()->replot();  // labels are laid out before every replot (pixel sizes need the ranges)
    QVector<QRectF> rects = w.barrierLabelRects();
    QCOMPARE(rects.size(), 3);
    for (int i = 0; i < rects.size(); ++i)
      for (int j = i + 1; j < rects.size(); ++j) QVERIFY2(!rects[i].intersects(rects[j]), "barrier labels overlap");

    QVERIFY(w.curveVisible("sinkhorn-l2"));
    QCPAbstractLegendItem* entry = nullptr;
    for (int i = 0; i < w.plot()->legend->itemCount(); ++i)
      if (auto* item = qobject_cast<QCPPlottableLegendItem*>(w.plot()->legend->item(i)))
        if (item->plottable()->name() == "sinkhorn-l2") entry = item;
    QVERIFY(entry);
    QMouseEvent click(QEvent::MouseButtonPress, QPointF(), QPointF(), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
    Q_EMIT w.plot()->legendClick(w.plot()->legend, entry, &click);
    QVERIFY(!w.curveVisible("sinkhorn-l2"));
    w.plot()->replot();
    QCOMPARE(w.barrierLabelRects().size(), 2);
    Q_EMIT w.plot()->legendClick(w.plot()->legend, entry, &click);
    QVERIFY(w.curveVisible("sinkhorn-l2"));

    // The comparison table: a row per curve with its numbers; its check box hides the curve.
    MethodTable* table = w.methodTable();
    QCOMPARE(table->rowCount(), 3);
    QCOMPARE(table->text(0, 0), QStringLiteral("weight"));
    QCOMPARE(table->text(0, 1), QStringLiteral("0.3000"));  // barrier
    QCOMPARE(table->text(0, 2), QStringLiteral("1.3000"));  // loss at lambda 0.5
    QCOMPARE(table->text(0, 3), QStringLiteral("90.00%"));
    QCOMPARE(table->text(0, 4), QStringLiteral("-"));       // seconds: not told yet
    w.setCurveInfo("weight", 2.5, 3);
    QCOMPARE(table->text(0, 4), QStringLiteral("2.5"));
    QCOMPARE(table->text(0, 5), QStringLiteral("3"));
    w.setCurveInfo("sinkhorn-l2", 0.5, 15, 5);
    QCOMPARE(table->text(1, 5), QStringLiteral("15 (result: 5)"));
    // Larger text (presentation mode): the table grows with its rows, none hidden.
    const int before = table->height();
    QFont big = w.font();
    big.setPointSizeF(big.pointSizeF() * 2);
    w.setFont(big);
    QVERIFY(table->height() > before);
    QCOMPARE(table->text(2, 1), QStringLiteral("0.3020"));
    table->item(1, 0)->setCheckState(Qt::Unchecked);
    QTRY_VERIFY(!w.curveVisible("sinkhorn-l2"));
    QCOMPARE(table->item(1, 0)->checkState(), Qt::Unchecked);
    table->item(1, 0)->setCheckState(Qt::Checked);
    QTRY_VERIFY(w.curveVisible("sinkhorn-l2"));
  }

  void curvesSplitsAndRender() {
    CurvesPlot w;
    QRect area;
    // Colours follow the curve's name (stable per method), not the order of arrival.
    const QColor first = CurvesPlot::colorFor("naive"), second = CurvesPlot::colorFor("sinkhorn");
    QVERIFY(first != second);
    QCOMPARE(pixelsNear(render(&w, &area), area, first), 0);
    for (int i = 0; i <= 20; ++i) {
      const double l = i / 20.0;
      w.addPoint({"naive", "train", l, 0.1 + 2 * l * (1 - l), 0.98 - 0.5 * l * (1 - l)});
      w.addPoint({"naive", "test", l, 0.2 + 3 * l * (1 - l), 0.95 - 0.6 * l * (1 - l)});
      w.addPoint({"sinkhorn", "test", l, 0.2 + 0.2 * l * (1 - l), 0.95 - 0.05 * l * (1 - l)});
    }
    w.addPoint({"naive", "train", 0.5, 0.6, 0.9});  // replaces the point at 0.5
    QCOMPARE(w.pointCount("naive", "train"), 21);
    QCOMPARE(w.curveNames(), QStringList({"naive", "sinkhorn"}));
    QVERIFY(std::abs(w.barrier("naive", "train") - 0.5) < 1e-12);
    QVERIFY(std::abs(w.barrier("naive", "test") - 0.75) < 1e-12);
    QVERIFY(std::abs(w.barrier("sinkhorn", "test") - 0.05) < 1e-12);

    QCOMPARE(w.split(), QStringLiteral("train"));  // followed the first data
    // The accuracy plot below has no legend: only the curves' own colours show there.
    QCPAxisRect* accuracyRect = w.plot()->axisRects().value(1);
    QVERIFY(accuracyRect);
    QRect accuracyArea;
    QImage image = render(&w, &accuracyArea, accuracyRect);
    QVERIFY(pixelsNear(image, accuracyArea, first) > 50);
    QCOMPARE(pixelsNear(image, accuracyArea, second), 0);  // sinkhorn has no train points
    w.setSplit("test");
    QCOMPARE(w.split(), QStringLiteral("test"));
    image = render(&w, &accuracyArea, accuracyRect);
    QVERIFY(pixelsNear(image, accuracyArea, first) > 50);
    QVERIFY(pixelsNear(image, accuracyArea, second) > 50);
    image = render(&w, &area);  // the loss plot, legend included
    QVERIFY(pixelsNear(image, area, first) > 100);
    QVERIFY(pixelsNear(image, area, second) > 100);
    w.clear();
    QCOMPARE(w.curveNames(), QStringList());
    QCOMPARE(w.pointCount("naive", "test"), 0);
  }

  void landscape() {
    LandscapePlot w;
    w.setGrid(5, 7, -0.5, 1.5, -0.5, 1.5);
    QRect area;
    // Nothing computed yet: the inside of the axes (clear of the ticks) is background only.
    QCOMPARE(distinctColours(render(&w, &area), area.adjusted(8, 8, -8, -8)), 1);
    for (int r = 0; r < 3; ++r) {
      QVector<double> loss;
      for (int c = 0; c < 7; ++c) loss << 0.05 * std::pow(10.0, 0.3 * (r + c));
      w.setRow(r, loss);
    }
    QCOMPARE(w.filledRows(), 3);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("LandscapePlot: row 3 with 2 values"));
    w.setRow(3, {1.0, 2.0});
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("LandscapePlot: row 9 with 7 values"));
    w.setRow(9, QVector<double>(7, 1.0));
    QCOMPARE(w.filledRows(), 3);
    w.setMarks({{"A", 0, 0}, {"B", 1, 0}, {"π(B)", 0, 1}});
    QCOMPARE(w.plot()->itemCount(), 3);

    const QImage image = render(&w, &area);
    QVERIFY(distinctColours(image, area) >= 8);
    // Row 4 (y = 1.5) is not computed yet: its cells show the background.
    const QColor base = w.palette().color(QPalette::Base);
    const int px = int(w.plot()->xAxis->coordToPixel(1.4));
    const int py = int(w.plot()->yAxis->coordToPixel(1.5));
    QCOMPARE(image.pixelColor(px, py), base);
    const int pyFilled = int(w.plot()->yAxis->coordToPixel(-0.5));
    QVERIFY(image.pixelColor(px, pyFilled) != base);
    w.setGrid(3, 3, 0, 1, 0, 1);
    QCOMPARE(w.filledRows(), 0);
  }

  void objective() {
    ObjectivePlot w;
    w.setTitle("Sinkhorn, group fc1");
    QRect area;
    const int legendOnly = pixelsNear(render(&w, &area), area, seriesColor(0));
    for (int s = 0; s < 60; ++s) {
      ObjectiveSample sample;
      sample.step = s;
      sample.cost = 10.0 * std::exp(-0.05 * s) + 0.1;
      if (s % 10 == 0) sample.hardCost = sample.cost * 1.5;
      w.addSample(sample);
    }
    QCOMPARE(w.sampleCount(), 60);
    QVERIFY(w.logScale());
    QCOMPARE(w.plot()->graph(1)->dataCount(), 6);  // hard cost only where known
    const QImage image = render(&w, &area);
    QVERIFY(pixelsNear(image, area, seriesColor(0)) > legendOnly + 100);
    // The step whose permutation the run returned is marked with a line in its own colour.
    const int unmarked = pixelsNear(render(&w, &area), area, seriesColor(2));
    w.setChosenStep(20);
    QCOMPARE(w.chosenStep(), 20);
    QVERIFY(pixelsNear(render(&w, &area), area, seriesColor(2)) > unmarked + 50);
    w.addSample({60, -1.0, qQNaN()});
    QVERIFY(!w.logScale());  // a value <= 0 has no logarithm
    w.clear();
    QCOMPARE(w.sampleCount(), 0);
    QCOMPARE(w.chosenStep(), -1);
  }

  void objectiveLogTicksAreDistinct() {
    // A cost falling inside one decade: the log axis's labels must still differ from each other.
    ObjectivePlot w;
    for (int s = 0; s < 30; ++s) w.addSample({s, 0.5 - 0.01 * s, qQNaN()});
    QVERIFY(w.logScale());
    QRect area;
    render(&w, &area);
    QStringList labels = w.plot()->yAxis->tickVectorLabels();
    const qsizetype count = labels.size();
    QVERIFY(count >= 2);
    labels.removeDuplicates();
    QVERIFY2(labels.size() == count, qPrintable(w.plot()->yAxis->tickVectorLabels().join(", ")));
  }

  void mergeFillsCellByCell() {
    MergePlot w;
    w.resize(1200, 500);
    QCOMPARE(w.measuredCells(), 0);
    const int n = 3;
    MergeView v;
    v.models = QStringList{"m1", "m2", "m3"};
    v.before = QVector<double>(n * n, qQNaN());
    v.after = v.before;
    for (int i = 0; i < n; ++i) v.before[i * n + i] = v.after[i * n + i] = 0;
    w.setView(v);
    QCOMPARE(w.measuredCells(), 6);  // the diagonals
    QCOMPARE(w.cellLabelCount(), 0);  // no label on the diagonal or on what is not measured
    v.before[0 * n + 1] = v.before[1 * n + 0] = 0.8;
    w.setView(v);
    QCOMPARE(w.measuredCells(), 8);
    QCOMPARE(w.cellLabelCount(), 2);
    QCOMPARE(w.barrierScaleMax(), 0.8);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        if (i != j) v.before[i * n + j] = 0.5 + 0.1 * (i + j), v.after[i * n + j] = 0.01 * (i + j);
    v.accuracy = {0.97, 0.96, 0.975};
    v.merged = 0.972;
    v.naiveAverage = 0.6;
    v.ensemble = 0.98;
    w.setView(v);
    QCOMPARE(w.measuredCells(), 18);
    QCOMPARE(w.cellLabelCount(), 12);
    QCOMPARE(w.barrierScaleMax(), 0.8);  // one scale for both matrices: the largest barrier
    const QImage image = w.plot()->toPixmap(1200, 500).toImage();
    QVERIFY(!image.isNull());
    // Accuracy bars start at 0 (a gap of 1.5 points must not look like half the bar), and the
    // axes name the models by file.
    QCPAxisRect* bars = nullptr;
    for (QCPAxisRect* rect : w.plot()->axisRects())
      if (rect->axis(QCPAxis::atLeft)->range().upper == 104) bars = rect;  // room above 100% for labels
    QVERIFY(bars);
    QCOMPARE(bars->axis(QCPAxis::atLeft)->range().lower, 0.0);
    auto* ticker = dynamic_cast<QCPAxisTickerText*>(bars->axis(QCPAxis::atBottom)->ticker().data());
    QVERIFY(ticker);
    QCOMPARE(ticker->ticks().value(2), QStringLiteral("2: m2"));
    // A view whose matrices do not fit its models is drawn as not measured, not read past its end.
    MergeView bad;
    bad.models = QStringList{"a", "b"};
    bad.before = {0.5};
    w.setView(bad);
    QCOMPARE(w.measuredCells(), 0);
    w.clear();
    QCOMPARE(w.view().count(), 0);
  }

  void recovery_data() {
    QTest::addColumn<int>("groups");
    QTest::newRow("3 groups") << 3;
    QTest::newRow("12 groups") << 12;
    QTest::newRow("40 groups") << 40;
  }
  void recovery() {
    QFETCH(int, groups);
    RecoveryPlot w;
    QVector<GroupRecovery> data;
    QStringList names;
    for (int g = 0; g < groups; ++g) {
      names << QStringLiteral("P_%1").arg(g);
      data.append({names.back(), 64, (g + 1.0) / groups});
    }
    w.setGroups(data);
    QCOMPARE(w.barCount(), groups);
    auto ticker = qSharedPointerDynamicCast<QCPAxisTickerText>(w.plot()->xAxis->ticker());
    QVERIFY(ticker);
    QCOMPARE(QStringList(ticker->ticks().values()), names);
    QRect area;
    const QImage image = render(&w, &area);
    QColor fill = w.palette().color(QPalette::Highlight);
    QVERIFY(pixelsNear(image, area, fill, 40) > 100);
    w.clear();
    QCOMPARE(w.barCount(), 0);
  }

  void continual_data() {
    QTest::addColumn<int>("tasks");
    QTest::addColumn<int>("rows");
    QTest::newRow("3 tasks") << 3 << 3;
    QTest::newRow("5 tasks, 2 rows so far") << 5 << 2;
    QTest::newRow("20 tasks") << 20 << 20;
  }
  void continual() {
    QFETCH(int, tasks);
    QFETCH(int, rows);
    ContinualPlot w;
    w.setTitle("rebasin-il on rotated MNIST");
    w.setTaskCount(tasks);
    for (int i = 0; i < rows; ++i) {
      QVector<double> acc(tasks);
      for (int j = 0; j < tasks; ++j) acc[j] = j <= i ? 0.97 - 0.02 * (i - j) : 0.1;
      w.addTaskRow(i, acc);
    }
    QCOMPARE(w.rowCount(), rows);
    QCOMPARE(w.taskCount(), tasks);
    QVERIFY(std::abs(w.averageAccuracy(0) - 0.97) < 1e-12);
    QVERIFY(std::isnan(w.averageAccuracy(tasks)));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("ContinualPlot: row after task 0 with 1 values"));
    w.addTaskRow(0, {0.5});
    QCOMPARE(w.rowCount(), rows);

    QRect area;
    const QList<QCPAxisRect*> rects = w.plot()->axisRects();
    QCOMPARE(rects.size(), 2);
    QImage image = render(&w, &area, rects[1]);
    QVERIFY(distinctColours(image, area) >= 3);  // the matrix
    QRect linesArea = rects[0]->rect();
    QVERIFY(pixelsNear(image, linesArea, seriesColor(0, tasks)) > 10);
    // Readable: both panels keep a usable size and the legend stays a strip below the lines.
    QVERIFY(linesArea.width() > 200 && linesArea.height() > 150);
    QVERIFY(area.width() > 150 && area.height() > 150);
    QVERIFY(w.plot()->legend->outerRect().height() < kHeight / 4);
    w.clear();
    QCOMPARE(w.rowCount(), 0);
    QCOMPARE(w.taskCount(), tasks);
  }
};

QTEST_MAIN(TestWidgets)
#include "tst_widgets.moc"
