// rebasin-studio: the desktop application. With --demo NAME it runs a teaching demo; with
// --screenshot/--report/--plots as well it runs headless-capable: when the demo has finished it
// writes those files and exits (0, or 1 with the reason on stderr).
#include <QApplication>
#include <QCommandLineParser>

#include <cstdio>
#include <cstring>

#include "app/studio/demos.h"
#include "common/runtime.h"
#include "app/studio/main_window.h"
#include "app/studio/models_dock.h"
#include "widgets/plot_types.h"

namespace {

bool hasOption(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], name, std::strlen(name)) == 0) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // Without a display a window cannot open; the demo outputs are still useful, so render them
  // offscreen.
  const bool headlessOutputs = hasOption(argc, argv, "--screenshot") || hasOption(argc, argv, "--report") ||
                               hasOption(argc, argv, "--plots");
  const bool noDisplay = qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY") &&
                         qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM");
  const bool wantsHelp = hasOption(argc, argv, "--help") || hasOption(argc, argv, "-h") ||
                         hasOption(argc, argv, "--version") || hasOption(argc, argv, "-v");
  if (noDisplay) {
    if (!headlessOutputs && !wantsHelp) {
      std::fprintf(stderr, "rebasin-studio: no display; run a demo headless instead, e.g. "
                           "rebasin-studio --demo align --screenshot align.png --report align.json\n");
      return 1;
    }
    qputenv("QT_QPA_PLATFORM", "offscreen");
  }

  // Headless runs report on stderr one line per problem: Qt's platform chatter (XDG_RUNTIME_DIR,
  // offscreen plugin notes) is not the user's problem, so only critical messages get through.
  if (qgetenv("QT_QPA_PLATFORM") == "offscreen" && qEnvironmentVariableIsEmpty("REBASIN_QT_MESSAGES"))
    qInstallMessageHandler([](QtMsgType type, const QMessageLogContext&, const QString& message) {
      if (type == QtCriticalMsg || type == QtFatalMsg) std::fprintf(stderr, "%s\n", qPrintable(message));
    });
  QApplication app(argc, argv);
  // The CLI's default (--threads 0: every logical core), not LibTorch's (physical cores): the
  // thread count sets the order of floating-point sums, so the same seed gives the same numbers
  // in both front ends only with the same count.
  rebasin::configure_threads(0);
  QApplication::setApplicationName(QStringLiteral("rebasin-studio"));
  QApplication::setOrganizationName(QStringLiteral("rebasin"));
  QApplication::setApplicationVersion(QStringLiteral(REBASIN_VERSION));
  // Wayland matches windows to the menu entry (and its icon) by the desktop file's id.
  QGuiApplication::setDesktopFileName(QStringLiteral("io.github.rebasin.RebasinStudio"));
  rebasin::studio::initStudioResources();
  rebasin::widgets::registerPlotTypes();

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral(
      "Rebasin Studio: align neural networks by permutation (Sinkhorn re-basin) and watch it happen."));
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument(QStringLiteral("A"), QStringLiteral("Model A (optional)"), QStringLiteral("[A]"));
  parser.addPositionalArgument(QStringLiteral("B"), QStringLiteral("Model B (optional)"), QStringLiteral("[B]"));
  const QCommandLineOption demo(QStringLiteral("demo"), QStringLiteral("Run a demo: recover, align, continual or vit."),
                                QStringLiteral("NAME"));
  const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                      QStringLiteral("When the demo has finished, save the main window (PNG) and exit."),
                                      QStringLiteral("FILE"));
  const QCommandLineOption report(QStringLiteral("report"),
                                  QStringLiteral("When the demo has finished, write its results (JSON) and exit."),
                                  QStringLiteral("FILE"));
  const QCommandLineOption plots(QStringLiteral("plots"),
                                 QStringLiteral("When the demo has finished, export every plot (PNG, SVG) into DIR and exit."),
                                 QStringLiteral("DIR"));
  parser.addOptions({demo, screenshot, report, plots});
  parser.process(app);

  const rebasin::studio::DemoOutputs outputs{parser.value(screenshot), parser.value(report), parser.value(plots)};
  const bool headless = !outputs.screenshot.isEmpty() || !outputs.report.isEmpty() || !outputs.plotsDir.isEmpty();
  if (headless && !parser.isSet(demo)) {
    std::fprintf(stderr, "rebasin-studio: --screenshot, --report and --plots need --demo NAME\n");
    return 1;
  }
  if (parser.isSet(demo) && !rebasin::studio::demoNames().contains(parser.value(demo))) {
    std::fprintf(stderr, "rebasin-studio: unknown demo '%s' (choose recover, align, continual or vit)\n",
                 qPrintable(parser.value(demo)));
    return 1;
  }

  rebasin::studio::MainWindow window;
  window.setInteractive(!headless);
  if (headless) window.resize(1400, 900);  // the screenshot is at least 1200 x 800
  const QStringList files = parser.positionalArguments();
  if (files.size() > 0) window.modelsDock()->openModel(0, files[0]);
  if (files.size() > 1) window.modelsDock()->openModel(1, files[1]);
  window.show();
  if (parser.isSet(demo)) window.startDemo(parser.value(demo), outputs);
  return QApplication::exec();
}
