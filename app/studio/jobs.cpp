// The recover, align and interpolate jobs (continual: job_continual.cpp): the Job dock's
// settings mapped onto the jobs layer's options (core/jobs), which runs them as the CLI does,
// reporting through CallbackSink.
#include "app/studio/jobs.h"

#include <ATen/ATen.h>

#include <QJsonArray>
#include <QJsonDocument>

#include "align/align.h"
#include "jobs/recover_job.h"
#include "app/studio/aligned_model.h"
#include "app/studio/job_sink.h"
#include "common/device.h"
#include "common/error.h"
#include "jobs/evaluate_pair.h"
#include "nn/permute.h"

namespace rebasin::studio {

namespace {
std::string s8(const QString& s) { return s.toStdString(); }
}  // namespace

align::AlignOptions align_options(const JobSettings& s) {
  align::AlignOptions o;
  o.method = align::parse_method(s8(s.method));
  o.cost = align::parse_cost(s8(s.cost));
  o.tau = s.tau;
  o.sinkhorn_iters = s.iterations;
  o.lr = s.lr;
  o.steps = s.steps;
  o.patience = s.patience;
  o.init = s8(s.init);
  o.seed = s.seed;
  o.batch_size = s.batchSize;
  require(o.tau > 0, "tau must be positive");
  require(o.sinkhorn_iters > 0, "Sinkhorn iterations must be positive");
  require(o.init == "identity" || o.init == "weight" || o.init == "auto", "init must be identity, weight or auto");
  require(s.backward == "implicit" || s.backward == "unrolled", "backward must be implicit or unrolled");
  require(o.batch_size > 0, "batch size must be positive");
  o.backward = s.backward == "unrolled" ? ot::SinkhornBackward::Unrolled : ot::SinkhornBackward::Implicit;
  return o;
}

jobs::ModelsInput models_input(const JobSettings& s) {
  return {s8(s.modelA), s8(s.modelB), s8(s.arch.trimmed().isEmpty() ? QStringLiteral("auto") : s.arch), s8(s.key),
          s8(s.residual)};
}

jobs::DataInput data_input(const JobSettings& s) { return {s8(s.data), s8(s.normalize), "", s8(s.input)}; }

jobs::AlignJobOptions align_job_options(const JobSettings& s) {
  jobs::AlignJobOptions o;
  o.models = models_input(s);
  o.data = data_input(s);
  o.align = align_options(s);
  o.eval = {s8(s.split), s.points, s.bnReset, s.repair, s.landscapeGrid};
  o.device = s8(s.device);
  return o;
}

QJsonObject to_qjson(const nlohmann::json& j) {
  return QJsonDocument::fromJson(QByteArray::fromStdString(j.dump())).object();
}

namespace {

JobOutcome run_recover(const JobSettings& s, CallbackSink& sink, const CancelToken& cancel) {
  jobs::RecoverJobOptions o;
  o.arch = s8(s.recoverArch);
  o.residual = s8(s.residual);
  o.align = align_options(s);
  o.device = s8(s.device);
  const jobs::RecoverReport r = jobs::run_recover(o, sink, &cancel);
  JobOutcome out;
  for (const auto& g : r.groups) out.recovery.push_back({QString::fromStdString(g.name), g.size, g.recovered_fraction});
  for (const auto& p : r.permutations) out.permutations.push_back(QVector<qint64>(p.begin(), p.end()));
  out.summary = to_qjson(r.to_json());
  return out;
}

JobOutcome run_align(const JobSettings& s, CallbackSink& sink, const CancelToken& cancel) {
  jobs::AlignJobResult r = jobs::run_align(align_job_options(s), sink, &cancel);
  JobOutcome out;
  out.summary = to_qjson(r.report.to_json());
  for (const at::Tensor& p : r.model->perms) {
    const at::Tensor c = p.to(at::kCPU, at::kLong).contiguous();
    out.permutations.push_back(QVector<qint64>(c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel()));
  }
  out.aligned = std::move(r.model);
  return out;
}

JobOutcome run_interpolate(const JobSettings& s, CallbackSink& sink, const CancelToken& cancel,
                           const std::shared_ptr<const AlignedModel>& previous) {
  const c10::Device device = resolve_device(s8(s.device));
  require(!s.data.isEmpty(), "this job needs a data set");
  jobs::PairData p = jobs::load_pair_data(models_input(s), data_input(s), device, sink);
  AlignedModel& m = *p.model;
  const nn::Architecture& arch = *m.pair.arch;
  // The aligned curve needs permutations: the last alignment of this same pair, if any.
  const bool have_perms = previous && alignedPair(*previous) == alignedPair(m);
  m.perms = have_perms ? previous->perms : nn::identity_permutations(arch.spec());
  m.label = have_perms ? previous->label : "naive (no alignment yet)";
  m.aligned = nn::permute(arch.spec(), m.pair.b, m.perms);
  const jobs::EvalOptions eval{s8(s.split), s.points, s.bnReset, s.repair, s.landscapeGrid};
  const jobs::PairEvaluation e = jobs::evaluate_pair(m, p.splits, eval, s.seed, sink, &cancel);
  QJsonObject barrier;
  for (const auto& [role, c] : e.curves) barrier[QString::fromStdString(role)] = c.barrier;
  JobOutcome out;
  out.summary = {{"task", "interpolate"},
                 {"arch", QString::fromStdString(arch.name())},
                 {"aligned_by", QString::fromStdString(m.label)},
                 {"barrier", barrier},
                 {"split", s.split}};
  if (s.landscapeGrid > 0) out.summary["landscape_grid"] = s.landscapeGrid;
  if (have_perms) out.aligned = p.model;
  return out;
}

}  // namespace

JobOutcome runJob(const JobSettings& s, const JobCallbacks& callbacks, const CancelToken& cancel,
                  std::shared_ptr<const AlignedModel> previous) {
  CallbackSink sink(callbacks);
  switch (s.task) {
    case Task::Recover: return run_recover(s, sink, cancel);
    case Task::Align: return run_align(s, sink, cancel);
    case Task::Interpolate: return run_interpolate(s, sink, cancel, previous);
    case Task::Continual: return run_continual_job(s, sink, cancel);
    case Task::Merge: return run_merge_job(s, sink, cancel);
  }
  throw UserError("unknown task");
}

QString alignedPair(const AlignedModel& model) { return QString::fromStdString(model.a_path + "|" + model.b_path); }

}  // namespace rebasin::studio
