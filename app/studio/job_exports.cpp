// Exports of an alignment and model inspection for the Models dock.
#include <ATen/ATen.h>

#include "app/studio/aligned_model.h"
#include "app/studio/job_sink.h"
#include "common/device.h"
#include "common/error.h"
#include "common/parse.h"
#include "jobs/inspect_job.h"

namespace rebasin::studio {

void exportAlignedCheckpoint(const AlignedModel& m, const QString& path) { jobs::write_aligned(m, path.toStdString()); }

void exportPermutations(const AlignedModel& m, const QString& path) { jobs::write_permutations(m, path.toStdString()); }

std::shared_ptr<const AlignedModel> alignmentFromPermutations(const JobSettings& s,
                                                              const QVector<QVector<qint64>>& permutations,
                                                              const QString& label) {
  std::vector<std::vector<std::int64_t>> lists;
  for (const auto& p : permutations) lists.emplace_back(p.begin(), p.end());
  return jobs::aligned_from_permutations(models_input(s), data_input(s), lists, label.toStdString());
}

void exportInterpolated(const AlignedModel& m, double lambda, const QString& path) {
  jobs::write_interpolated(m, lambda, path.toStdString());
}

QString resolvedDeviceName(const QString& spec) {
  try {
    return QString::fromStdString(device_name(resolve_device(spec.toStdString())));
  } catch (const std::exception&) {
    return QStringLiteral("%1 (unavailable)").arg(spec);
  }
}

ModelInfo inspectModel(const QString& path, const QString& chosen) {
  ModelInfo info;
  info.path = path;
  try {
    jobs::InspectOptions o;
    o.file = path.toStdString();
    o.arch = chosen.trimmed().isEmpty() ? std::string("auto") : chosen.trimmed().toStdString();
    const jobs::InspectReport r = jobs::run_inspect(o);
    info.format = QString::fromStdString(r.format);
    info.parameters = r.parameters;
    if (!r.trained_data.empty()) {
      info.trained = QObject::tr("trained on %1").arg(QString::fromStdString(r.trained_data));
      if (const auto accuracy = parse_number(r.trained_accuracy))
        info.trained += QObject::tr(", test accuracy %1%").arg(100 * *accuracy, 0, 'f', 2);
    }
    if (r.architecture.empty() && !r.graph) {
      info.arch = QStringLiteral("unknown: choose one below");
      info.needsArch = true;
      return info;
    }
    info.arch = r.graph ? QStringLiteral("TorchScript graph: %1 groups derived").arg(r.groups.size())
                        : QString::fromStdString(r.architecture);
    for (const auto& g : r.groups) {
      QString name = QString::fromStdString(g.name);
      if (g.heads > 1) name += QStringLiteral(" (%1 heads x %2)").arg(g.heads).arg(g.size / g.heads);
      info.groups.push_back({name, g.size, 0.0});
    }
    for (const auto& d : r.dropped)
      info.dropped.push_back(QStringLiteral("%1 (%2 units): %3")
                                 .arg(QString::fromStdString(d.name))
                                 .arg(d.size)
                                 .arg(QString::fromStdString(d.reason)));
  } catch (const std::exception& e) {
    info.error = QString::fromUtf8(e.what());
  }
  return info;
}

}  // namespace rebasin::studio
