// Exports of an alignment and model inspection for the Models dock.
#include <ATen/ATen.h>

#include "app/studio/aligned_model.h"
#include "common/device.h"
#include "common/error.h"
#include "io/checkpoint.h"
#include "nn/graph/graph_architecture.h"
#include "nn/mapping.h"

namespace rebasin::studio {

void exportAlignedCheckpoint(const AlignedModel& m, const QString& path) { jobs::write_aligned(m, path.toStdString()); }

void exportPermutations(const AlignedModel& m, const QString& path) { jobs::write_permutations(m, path.toStdString()); }

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
    const io::Checkpoint ck = io::load_checkpoint(path.toStdString());
    info.format = QString::fromStdString(ck.format);
    for (const auto& t : ck.tensors)
      if (at::isFloatingType(t.tensor.scalar_type())) info.parameters += t.tensor.numel();
    const std::string wanted = chosen.trimmed().isEmpty() ? std::string("auto") : chosen.trimmed().toStdString();
    std::string arch = nn::recorded_arch(ck, wanted);
    // A TorchScript model is its own architecture: the spec derived from its graph.
    if (ck.format == "torchscript" && wanted == "auto") arch = path.toStdString();
    if (arch == "auto") arch = nn::detect_architecture(ck.tensors);
    if (arch.empty()) {
      info.arch = QStringLiteral("unknown: choose one below");
      info.needsArch = true;
      return info;
    }
    const nn::MappedModel mapped = nn::map_checkpoint(ck.tensors, arch);
    info.arch = QString::fromStdString(mapped.arch->name());
    for (const auto& g : mapped.arch->spec().groups()) {
      QString name = QString::fromStdString(g.name);
      if (g.blocks > 1) name += QStringLiteral(" (%1 heads x %2)").arg(g.blocks).arg(g.size / g.blocks);
      info.groups.push_back({name, g.size, 0.0});
    }
    if (const nn::graph::GraphReport* r = nn::graph::graph_report(*mapped.arch)) {
      info.arch = QStringLiteral("TorchScript graph: %1 groups derived").arg(mapped.arch->spec().groups().size());
      for (const auto& d : r->dropped)
        info.dropped.push_back(QStringLiteral("%1 (%2 units): %3")
                                   .arg(QString::fromStdString(d.name))
                                   .arg(d.size)
                                   .arg(QString::fromStdString(d.reason)));
    }
  } catch (const std::exception& e) {
    info.error = QString::fromUtf8(e.what());
  }
  return info;
}

}  // namespace rebasin::studio
