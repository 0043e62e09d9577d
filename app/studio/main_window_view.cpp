// The View and Help menus' teaching side: presentation mode (full screen, larger text, a caption
// bar saying what the view shows), text size, and the offline help pages.
#include <QAction>
#include <QDialog>
#include <QDialogButtonBox>
#include <QLabel>
#include <QMenu>
#include <QTabWidget>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <algorithm>

#include "app/studio/job_dock.h"
#include "app/studio/main_window.h"
#include "app/studio/models_dock.h"

namespace rebasin::studio {

namespace {
constexpr double kTextScales[] = {1.0, 1.25, 1.5, 2.0};
constexpr double kPresentationScale = 1.5;
}  // namespace

void MainWindow::buildViewMenu(QMenu* view) {
  view->addAction(models_->toggleViewAction());
  view->addAction(job_->toggleViewAction());
  for (int i = 0; i < tabs_->count(); ++i)
    view->addAction(tabs_->tabText(i), QKeySequence(QStringLiteral("Alt+%1").arg(i + 1)), this,
                    [this, i] { tabs_->setCurrentIndex(i); });
  view->addSeparator();
  QAction* present = view->addAction(tr("&Presentation mode"));
  present->setObjectName(QStringLiteral("presentationAction"));
  present->setCheckable(true);
  present->setShortcut(QKeySequence(Qt::Key_F11));
  present->setToolTip(tr("Full screen, larger text and a caption saying what each view shows (F11)"));
  connect(present, &QAction::toggled, this, &MainWindow::setPresentation);
  view->addAction(tr("&Larger text"), QKeySequence::ZoomIn, this, [this] {
    const auto* next = std::upper_bound(std::begin(kTextScales), std::end(kTextScales), textScale_ + 1e-9);
    if (next != std::end(kTextScales)) setTextScale(*next);
  });
  view->addAction(tr("&Smaller text"), QKeySequence::ZoomOut, this, [this] {
    const auto* at = std::lower_bound(std::begin(kTextScales), std::end(kTextScales), textScale_ - 1e-9);
    if (at != std::begin(kTextScales)) setTextScale(*(at - 1));
  });
  view->addAction(tr("&Normal text size"), QKeySequence(tr("Ctrl+0")), this, [this] { setTextScale(1.0); });
}

void MainWindow::setTextScale(double scale) {
  textScale_ = std::clamp(scale, 0.5, 3.0);
  QFont f = baseFont_;
  if (baseFont_.pointSizeF() > 0) f.setPointSizeF(baseFont_.pointSizeF() * textScale_);
  else f.setPixelSize(std::max(1, int(baseFont_.pixelSize() * textScale_ + 0.5)));
  setFont(f);  // propagates to the docks, tabs and plots (PlotFrame hands it to QCustomPlot)
}

void MainWindow::setPresentation(bool on) {
  if (auto* action = findChild<QAction*>(QStringLiteral("presentationAction")); action && action->isChecked() != on)
    action->setChecked(on);  // re-enters once, with the state already matching below
  if (on == presentation_) return;
  presentation_ = on;
  if (on) {
    scaleBeforePresentation_ = textScale_;
    maximizedBeforePresentation_ = isMaximized();
    setTextScale(std::max(textScale_, kPresentationScale));
    caption_->setText(caption(tabs_->currentIndex()));
    showFullScreen();
  } else {
    setTextScale(scaleBeforePresentation_);
    if (maximizedBeforePresentation_) showMaximized();
    else showNormal();
  }
  caption_->setVisible(on);
}

QString MainWindow::caption(int tab) const {
  switch (tab) {
    case 0: return tr("Transport plan: how much of model A's unit (row) is sent to model B's unit (column); the red "
                      "dots are the hard permutation of the same step. Watch the plan sharpen into a permutation - "
                      "the last one, marked \"result\", is the permutation applied to B.");
    case 1: return tr("Loss and accuracy on the straight line from A (lambda 0) to B (lambda 1): the bump in the "
                      "middle is the loss barrier. Aligning B first (permuting its units) removes most of it.");
    case 2: return tr("Loss over the plane through A, B and aligned B: A and aligned B lie in one valley, while B "
                      "lies behind a ridge - the same network, only with its units in another order.");
    case 3: return tr("The alignment's cost at every step: the soft plan's (solid) and the hard permutation's "
                      "(dashed); the dotted line marks the step whose permutation is the result.");
    case 4: return tr("Fraction of each group's hidden permutation found again: 100% means the method undid the "
                      "shuffle exactly.");
    case 5: return tr("Accuracy on every task after learning each task in turn: falling lines are forgetting; "
                      "re-basin keeps earlier tasks by aligning before averaging.");
    case 6: return tr("Loss barriers between every pair of models before alignment and after merging's alignment, "
                      "and the merged model's accuracy beside each model's, the plain average's and the ensemble's.");
  }
  return {};
}

void MainWindow::showHtml(const QString& title, const QString& html) {
  auto* dialog = new QDialog(this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  dialog->setWindowTitle(title);
  auto* layout = new QVBoxLayout(dialog);
  auto* text = new QTextBrowser(dialog);
  text->setHtml(html);
  layout->addWidget(text);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
  connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
  layout->addWidget(buttons);
  dialog->resize(640, 520);
  dialog->show();
}

void MainWindow::buildHelpPages(QMenu* help) {
  help->addAction(tr("&What is re-basin?"), this, [this] { showHtml(tr("What is re-basin?"), aboutRebasinHtml()); });
  help->addAction(tr("&Keyboard shortcuts"), this, [this] { showHtml(tr("Keyboard shortcuts"), shortcutsHtml()); });
}

QString MainWindow::aboutRebasinHtml() {
  return tr(
      "<h2>What is re-basin?</h2>"
      "<p>Two networks trained from different random starts usually compute almost the same function, yet "
      "averaging their weights gives a network that fails: on the straight line from one to the other the loss "
      "rises to a <b>barrier</b>.</p>"
      "<p>Much of that barrier is an accident of bookkeeping. The hidden units of a layer can be listed in any "
      "order - permuting them, together with the weights that read them, leaves the function unchanged. The two "
      "networks simply list their units in different orders. <b>Re-basin</b> finds, for every layer, the "
      "permutation of model B's units that lines them up with model A's; after it the line from A to aligned B "
      "often has almost no barrier (<i>linear mode connectivity</i>).</p>"
      "<p><b>Weight matching</b> and <b>activation matching</b> (Git Re-Basin, Ainsworth et al. 2023) solve one "
      "assignment problem per layer. <b>Sinkhorn re-basin</b> (Guerrero Pe&ntilde;a et al., CVPR 2023) relaxes "
      "every permutation into a soft <i>transport plan</i> - a matrix whose rows and columns each sum to one - "
      "and learns the plans by gradient descent on a cost: the distance between the weights (l2, l1) or the "
      "loss of the averaged network (mid, rnd). The Transport plans tab shows these plans sharpening into "
      "permutations; the Interpolation tab shows the barrier before and after.</p>"
      "<p>Try Help &gt; Demos: <i>Recover a hidden permutation</i> shuffles a network and finds the shuffle "
      "again; <i>Align two MNIST networks</i> shows the barrier disappear.</p>");
}

QString MainWindow::shortcutsHtml() const {
  QString rows;
  for (const QAction* action : findChildren<QAction*>()) {
    if (action->shortcut().isEmpty() || action->text().isEmpty()) continue;
    QString text = action->text();
    text.remove('&');
    rows += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>")
                .arg(action->shortcut().toString(QKeySequence::NativeText).toHtmlEscaped(), text.toHtmlEscaped());
  }
  return tr("<h2>Keyboard shortcuts</h2><table cellpadding=4>%1</table>"
            "<p>On a plan or plot: the wheel zooms, dragging pans, a double click fits the view again.</p>")
      .arg(rows);
}

}  // namespace rebasin::studio
