// rebasin-plot: draws the rebasin CLI's JSON outputs with the studio's own widgets, headless,
// so docs and scripts get the same figures the app shows (PNG, PDF or SVG by suffix).
//   rebasin-plot curves OUT LABEL=INTERPOLATE.json...   (rebasin interpolate --json, or align --json with --data)
//   rebasin-plot landscape OUT LANDSCAPE.json           (rebasin landscape --json)
//   rebasin-plot recovery OUT RECOVER.json              (rebasin recover --json)
//   rebasin-plot continual OUT CONTINUAL.json           (rebasin continual --json)
//   rebasin-plot merge OUT MERGE.json                   (rebasin merge --barriers --json)
#include <QApplication>
#include <QCommandLineParser>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdio>
#include <memory>
#include <stdexcept>

#include "jobs/reports.h"
#include "widgets/continual_plot.h"
#include "widgets/curves_plot.h"
#include "widgets/landscape_plot.h"
#include "widgets/merge_plot.h"
#include "widgets/plot_export.h"
#include "widgets/recovery_plot.h"

namespace {

using namespace rebasin::widgets;

[[noreturn]] void fail(const QString& message) { throw std::runtime_error(message.toStdString()); }

QJsonObject readJson(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) fail(QStringLiteral("cannot read %1: %2").arg(path, f.errorString()));
  QJsonParseError error;
  const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &error);
  if (!doc.isObject()) fail(QStringLiteral("%1 is not a JSON object (%2)").arg(path, error.errorString()));
  return doc.object();
}

QJsonArray field(const QJsonObject& o, const char* key, const QString& path) {
  if (!o.value(key).isArray()) fail(QStringLiteral("%1 has no \"%2\" array").arg(path, key));
  return o.value(key).toArray();
}

double number(const QJsonValue& v) { return v.isDouble() ? v.toDouble() : qQNaN(); }

// The reports' own reading (core/jobs/reports.h) of a JSON object already checked here.
nlohmann::json asReport(const QJsonObject& o) { return nlohmann::json::parse(QJsonDocument(o).toJson().toStdString()); }

void addCurve(CurvesPlot& plot, const QString& label, const QString& split, const rebasin::jobs::CurveReport& c) {
  for (std::size_t i = 0; i < c.lambdas.size(); ++i) plot.addPoint({label, split, c.lambdas[i], c.loss[i], c.accuracy[i]});
}

// INTERPOLATE.json (one curve), or an align report (rebasin align --json with --data: its naive,
// aligned and REPAIRed curves, labelled LABEL naive, LABEL aligned...).
std::unique_ptr<PlotFrame> curves(const QStringList& inputs) {
  auto plot = std::make_unique<CurvesPlot>();
  for (const QString& input : inputs) {
    const int eq = input.indexOf('=');
    const QString label = eq > 0 ? input.left(eq) : QFileInfo(input).completeBaseName();
    const QString path = eq > 0 ? input.mid(eq + 1) : input;
    const QJsonObject o = readJson(path);
    const QString split = o.value("split").toString(QStringLiteral("test"));
    if (o.value("curves").isObject()) {
      const rebasin::jobs::AlignReport r = rebasin::jobs::AlignReport::from_json(asReport(o));
      for (const auto& [role, c] : r.curves) {
        if (c.lambdas.size() != c.loss.size() || c.lambdas.size() != c.accuracy.size())
          fail(path + QStringLiteral(": curve %1: lambdas, loss and accuracy differ in length").arg(QString::fromStdString(role)));
        addCurve(*plot, label + " " + QString::fromStdString(role), split, c);
      }
      continue;
    }
    const QJsonArray l = field(o, "lambdas", path), loss = field(o, "loss", path), acc = field(o, "accuracy", path);
    if (l.size() != loss.size() || l.size() != acc.size()) fail(path + QStringLiteral(": lambdas, loss and accuracy differ in length"));
    addCurve(*plot, label, split, rebasin::jobs::LineReport::from_json(asReport(o)).line);
  }
  return plot;
}

std::unique_ptr<PlotFrame> landscape(const QString& path) {
  const QJsonObject o = readJson(path);
  const QJsonArray xs = field(o, "xs", path), ys = field(o, "ys", path), loss = field(o, "loss", path);
  if (xs.size() < 2 || ys.size() < 2 || loss.size() != ys.size()) fail(path + QStringLiteral(": not a landscape grid"));
  QJsonObject complete = o;  // accuracy and points are optional for a drawing
  if (!complete.contains("accuracy")) complete["accuracy"] = QJsonArray();
  const QJsonObject points = o.value("points").toObject();
  const rebasin::jobs::LandscapeReport r = rebasin::jobs::LandscapeReport::from_json(asReport(complete));
  auto plot = std::make_unique<LandscapePlot>();
  plot->setGrid(int(r.ys.size()), int(r.xs.size()), r.xs.front(), r.xs.back(), r.ys.front(), r.ys.back());
  for (std::size_t row = 0; row < r.loss.size(); ++row)
    plot->setRow(int(row), QVector<double>(r.loss[row].begin(), r.loss[row].end()));
  QVector<LandscapeMark> marks;
  const char* labels[] = {"A", "B", "aligned B"};
  const char* keys[] = {"A", "B", "B_aligned"};
  for (int k = 0; k < 3; ++k)
    if (points.value(keys[k]).toArray().size() == 2)
      marks.push_back({QString::fromLatin1(labels[k]), r.points[k].first, r.points[k].second});
  plot->setMarks(marks);
  return plot;
}

std::unique_ptr<PlotFrame> recovery(const QString& path) {
  const QJsonObject o = readJson(path);
  field(o, "groups", path);
  QVector<GroupRecovery> bars;
  for (const auto& g : rebasin::jobs::RecoverReport::from_json(asReport(o)).groups)
    bars.push_back({QString::fromStdString(g.name), qint64(g.size), g.recovered_fraction});
  auto plot = std::make_unique<RecoveryPlot>();
  plot->setGroups(bars);
  return plot;
}

std::unique_ptr<PlotFrame> continual(const QString& path, const QString& title) {
  const QJsonObject o = readJson(path);
  if (field(o, "accuracy_matrix", path).isEmpty()) fail(path + QStringLiteral(": empty accuracy matrix"));
  const rebasin::jobs::ContinualReport r = rebasin::jobs::ContinualReport::from_json(asReport(o));
  auto plot = std::make_unique<ContinualPlot>();
  plot->setTaskCount(int(r.accuracy_matrix.size()));
  if (!title.isEmpty()) plot->setTitle(title);
  for (std::size_t t = 0; t < r.accuracy_matrix.size(); ++t)
    plot->addTaskRow(int(t), QVector<double>(r.accuracy_matrix[t].begin(), r.accuracy_matrix[t].end()));
  return plot;
}

std::unique_ptr<PlotFrame> merge(const QString& path) {
  const QJsonObject o = readJson(path);
  const QJsonArray models = field(o, "models", path), endpoints = field(o, "endpoints", path);
  const QJsonObject barriers = o.value("barriers").toObject();
  if (barriers.isEmpty()) fail(path + QStringLiteral(": no pairwise barriers (run rebasin merge with --barriers)"));
  MergeView v;
  for (const QJsonValue& m : models) v.models << QFileInfo(m.toString()).completeBaseName();
  const int n = v.count();
  for (const auto& [key, matrix] : {std::pair{"before", &v.before}, std::pair{"after", &v.after}}) {
    const QJsonArray rows = barriers.value(key).toArray();
    if (rows.size() != n) fail(path + QStringLiteral(": barriers.%1 is not %2 x %2").arg(key).arg(n));
    for (const QJsonValue& row : rows) {
      if (row.toArray().size() != n) fail(path + QStringLiteral(": barriers.%1 is not %2 x %2").arg(key).arg(n));
      for (const QJsonValue& x : row.toArray()) matrix->push_back(number(x));
    }
  }
  const rebasin::jobs::MergeReport r = rebasin::jobs::MergeReport::from_json(asReport(o));
  for (const auto& e : r.endpoints) v.accuracy << e.accuracy;
  v.merged = r.merged.accuracy;
  v.naiveAverage = r.naive_average.accuracy;
  v.ensemble = r.ensemble.accuracy;
  v.split = barriers.value("split").toString(QStringLiteral("test"));
  auto plot = std::make_unique<MergePlot>();
  plot->setView(v);
  return plot;
}

}  // namespace

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");  // never needs a display
  // Headless runs report on stderr one line per problem: Qt's platform chatter (XDG_RUNTIME_DIR,
  // offscreen plugin notes) is not the user's problem, so only critical messages get through.
  if (qgetenv("QT_QPA_PLATFORM") == "offscreen" && qEnvironmentVariableIsEmpty("REBASIN_QT_MESSAGES"))
    qInstallMessageHandler([](QtMsgType type, const QMessageLogContext&, const QString& message) {
      if (type == QtCriticalMsg || type == QtFatalMsg) std::fprintf(stderr, "%s\n", qPrintable(message));
    });
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("rebasin-plot"));
  QApplication::setApplicationVersion(QStringLiteral(REBASIN_VERSION));
  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral(
      "Draw rebasin's JSON outputs as PNG, PDF or SVG:\n"
      "  curves OUT LABEL=INTERPOLATE.json...  loss/accuracy against lambda, barrier marked (or ALIGN.json: all its curves)\n"
      "  landscape OUT LANDSCAPE.json          loss over the plane through A, B, aligned B\n"
      "  recovery OUT RECOVER.json             recovered fraction per group\n"
      "  continual OUT CONTINUAL.json          accuracy of every task after each task\n"
      "  merge OUT MERGE.json                  pairwise barriers before/after, accuracies (merge --barriers)"));
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument("kind", "curves, landscape, recovery, continual or merge");
  parser.addPositionalArgument("OUT", "output file: .png, .pdf or .svg");
  parser.addPositionalArgument("INPUT", "JSON file(s) written by rebasin ... --json", "INPUT...");
  const QCommandLineOption size("size", "Width x height in pixels (default 1200x800)", "WxH", "1200x800");
  const QCommandLineOption title("title", "Title (continual)", "TEXT");
  parser.addOptions({size, title});
  parser.process(app);
  const QStringList args = parser.positionalArguments();
  try {
    if (args.size() < 3) fail(QStringLiteral("expected KIND OUT INPUT... (see --help)"));
    const QString kind = args[0], out = args[1];
    const QStringList inputs = args.mid(2);
    const QStringList wh = parser.value(size).split('x');
    bool okW = false, okH = false;
    const int w = wh.size() == 2 ? wh[0].toInt(&okW) : 0, h = wh.size() == 2 ? wh[1].toInt(&okH) : 0;
    if (!okW || !okH || w < 100 || h < 100 || w > 10000 || h > 10000) fail(QStringLiteral("--size must be WxH, e.g. 1200x800"));
    std::unique_ptr<PlotFrame> plot;
    if (kind == "curves") plot = curves(inputs);
    else if (kind == "landscape" && inputs.size() == 1) plot = landscape(inputs[0]);
    else if (kind == "recovery" && inputs.size() == 1) plot = recovery(inputs[0]);
    else if (kind == "continual" && inputs.size() == 1) plot = continual(inputs[0], parser.value(title));
    else if (kind == "merge" && inputs.size() == 1) plot = merge(inputs[0]);
    else fail(QStringLiteral("unknown kind '%1' or wrong number of inputs (see --help)").arg(kind));
    plot->resize(w, h);
    plot->show();
    QApplication::processEvents();
    QString error;
    if (!exportPlot(plot->plot(), out, &error, w, h)) fail(error);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rebasin-plot: %s\n", e.what());
    return 1;
  }
  return 0;
}
