// The recover, align and interpolate jobs (continual: job_continual.cpp): core calls in the
// order the CLI makes them, reporting through CallbackSink.
#include "app/studio/jobs.h"

#include <ATen/ATen.h>

#include <QJsonArray>

#include "align/align.h"
#include "align/recover.h"
#include "app/studio/aligned_model.h"
#include "app/studio/job_sink.h"
#include "common/device.h"
#include "common/error.h"
#include "data/dataset.h"
#include "eval/interpolation.h"
#include "eval/repair.h"
#include "nn/permute.h"
#include "train/train.h"

namespace rebasin::studio {

align::AlignOptions align_options(const JobSettings& s) {
  align::AlignOptions o;
  o.method = align::parse_method(s.method.toStdString());
  o.cost = align::parse_cost(s.cost.toStdString());
  o.tau = s.tau;
  o.sinkhorn_iters = s.iterations;
  o.lr = s.lr;
  o.steps = s.steps;
  o.patience = s.patience;
  o.init = s.init.toStdString();
  o.seed = s.seed;
  require(o.tau > 0, "tau must be positive");
  require(o.sinkhorn_iters > 0, "Sinkhorn iterations must be positive");
  require(o.init == "identity" || o.init == "weight" || o.init == "auto", "init must be identity, weight or auto");
  return o;
}

namespace {

std::string s8(const QString& s) { return s.toStdString(); }

QString curve_label(const JobSettings& s) {
  return s.method == "sinkhorn" ? s.method + "-" + s.cost : s.method;
}

QJsonArray groups_json(const nn::PermutationSpec& spec, const std::vector<at::Tensor>& perms) {
  QJsonArray groups;
  for (std::size_t g = 0; g < perms.size(); ++g) {
    const std::int64_t n = spec.groups()[g].size;
    const double moved = (perms[g].cpu() != at::arange(n, at::kLong)).sum().item<double>() / double(n);
    groups.append(QJsonObject{{"name", QString::fromStdString(spec.groups()[g].name)},
                              {"size", double(n)},
                              {"heads", double(spec.groups()[g].blocks)},
                              {"moved_fraction", moved}});
  }
  return groups;
}

// Naive and aligned curves (and the landscape) on the chosen split; the barriers go to `summary`.
void evaluate_pair(const JobSettings& s, const AlignedModel& m, const data::Splits& splits, CallbackSink& sink,
                   const CancelToken& cancel, const QString& aligned_label, QJsonObject& summary) {
  const nn::Architecture& arch = *m.pair.arch;
  const data::Dataset& eval_set = s.split == "train" ? splits.train : splits.test;
  const data::Dataset* bn = arch.has_batchnorm() ? &splits.train : nullptr;
  const std::string split = s8(s.split);
  const eval::Curve naive = eval::interpolation_curve(arch, m.pair.a, m.pair.b, eval_set, bn, s.points, &sink,
                                                      "naive", &cancel, split, s.seed);
  const eval::Curve al = eval::interpolation_curve(arch, m.pair.a, m.aligned, eval_set, bn, s.points, &sink,
                                                   s8(aligned_label), &cancel, split, s.seed);
  QJsonObject barrier{{"naive", naive.barrier}, {"aligned", al.barrier}};
  if (s.repair) {
    // REPAIR at every point of the aligned line (eval/repair.h), drawn as its own curve.
    eval::require_repair_supported(arch);
    barrier["repaired"] = eval::repaired_curve(arch, m.pair.a, m.aligned, splits.train, eval_set, s.points, &sink,
                                               s8(aligned_label) + "+repair", &cancel, split, s.seed)
                              .barrier;
  }
  summary["barrier"] = barrier;
  summary["split"] = s.split;
  if (s.landscapeGrid > 0) {
    eval::loss_landscape(arch, m.pair.a, m.pair.b, m.aligned, eval_set, bn, s.landscapeGrid, &sink, &cancel, s.seed);
    summary["landscape_grid"] = s.landscapeGrid;
  }
}

JobOutcome run_recover(const JobSettings& s, CallbackSink& sink, const CancelToken& cancel) {
  const c10::Device device = resolve_device(s8(s.device));
  const auto arch = nn::make_architecture(s8(s.recoverArch));
  const align::RecoverResult r = align::recover(*arch, align_options(s), s.seed, &sink, &cancel, device);
  JobOutcome out;
  QJsonArray groups;
  for (const auto& g : r.groups) {
    out.recovery.push_back({QString::fromStdString(g.name), g.size, g.recovered_fraction});
    groups.append(QJsonObject{{"name", QString::fromStdString(g.name)}, {"size", double(g.size)},
                              {"recovered_fraction", g.recovered_fraction}});
  }
  out.summary = {{"task", "recover"},        {"arch", QString::fromStdString(arch->name())},
                 {"method", s.method},       {"cost", s.cost},
                 {"recovered_fraction", r.recovered_fraction}, {"groups", groups},
                 {"steps", r.steps},         {"seconds", r.seconds}};
  return out;
}

struct LoadedPair {
  std::shared_ptr<AlignedModel> model = std::make_shared<AlignedModel>();
  data::Splits splits;
  bool have_data = false;
};

LoadedPair load_pair(const JobSettings& s, bool data_required, const c10::Device& device) {
  require(!s.modelA.isEmpty() && !s.modelB.isEmpty(), "open model A and model B first");
  LoadedPair p;
  p.have_data = !s.data.isEmpty();
  require(p.have_data || !data_required, "this job needs a data set");
  nn::ModelIO io;
  if (p.have_data) {
    p.splits = data::load_dataset(s8(s.data));
    io = nn::model_io(p.splits.train);
  }
  p.model->a_path = s.modelA;
  p.model->b_path = s.modelB;
  p.model->pair = nn::load_model_pair(s8(s.modelA), s8(s.modelB), s8(s.arch), io);
  if (p.have_data) train::check_data_fits(*p.model->pair.arch, p.splits.train);
  nn::move_to(p.model->pair, device);
  if (p.have_data) data::to_device(p.splits, device);
  return p;
}

JobOutcome run_align(const JobSettings& s, CallbackSink& sink, const CancelToken& cancel) {
  const c10::Device device = resolve_device(s8(s.device));
  const align::AlignOptions opts = align_options(s);
  LoadedPair p = load_pair(s, align::needs_data(opts.method, opts.cost), device);
  AlignedModel& m = *p.model;
  const nn::Architecture& arch = *m.pair.arch;
  const align::AlignResult r =
      align::align(arch, m.pair.a, m.pair.b, p.have_data ? &p.splits.train : nullptr, opts, &sink, &cancel);
  m.perms = r.perms;
  m.method = curve_label(s);
  m.aligned = nn::permute(arch.spec(), m.pair.b, r.perms);
  JobOutcome out;
  out.summary = {{"task", "align"},       {"arch", QString::fromStdString(arch.name())},
                 {"method", s.method},    {"cost", s.cost},
                 {"seconds", r.seconds},  {"steps", r.steps},
                 {"final_cost", r.cost},  {"device", QString::fromStdString(device_name(device))},
                 {"groups", groups_json(arch.spec(), r.perms)}};
  if (p.have_data) evaluate_pair(s, m, p.splits, sink, cancel, m.method, out.summary);
  out.aligned = p.model;
  return out;
}

JobOutcome run_interpolate(const JobSettings& s, CallbackSink& sink, const CancelToken& cancel,
                           const std::shared_ptr<const AlignedModel>& previous) {
  const c10::Device device = resolve_device(s8(s.device));
  LoadedPair p = load_pair(s, true, device);
  AlignedModel& m = *p.model;
  const nn::Architecture& arch = *m.pair.arch;
  // The aligned curve needs permutations: the last alignment of this same pair, if any.
  const bool have_perms = previous && alignedPair(*previous) == alignedPair(m);
  m.perms = have_perms ? previous->perms : nn::identity_permutations(arch.spec());
  m.method = have_perms ? previous->method : QStringLiteral("naive (no alignment yet)");
  m.aligned = nn::permute(arch.spec(), m.pair.b, m.perms);
  JobOutcome out;
  out.summary = {{"task", "interpolate"}, {"arch", QString::fromStdString(arch.name())}, {"aligned_by", m.method}};
  evaluate_pair(s, m, p.splits, sink, cancel, m.method, out.summary);
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

QString alignedPair(const AlignedModel& model) { return model.a_path + "|" + model.b_path; }

}  // namespace rebasin::studio
