// The merge job: N models (A, B and the Models dock's further models) brought into one frame by
// core's merge (star or universe) and averaged. Around it, what the Merge tab shows: the loss
// barrier of every pair before alignment and in the merge's frame, measured pair by pair and
// sent after each one, then every model's accuracy beside the merged model's, the naive
// average's and the ensemble's.
#include <ATen/ATen.h>

#include <QFileInfo>
#include <QJsonArray>

#include <chrono>

#include "align/merge.h"
#include "app/studio/job_sink.h"
#include "common/cancel.h"
#include "common/device.h"
#include "common/error.h"
#include "data/dataset.h"
#include "eval/barrier_matrix.h"
#include "eval/evaluate.h"
#include "eval/repair.h"
#include "io/safetensors.h"
#include "nn/model_pair.h"
#include "train/train.h"

namespace rebasin::studio {

struct MergedModel {
  QStringList sources;
  QString method, target;
  bool repair = false;
  std::string arch;
  io::Checkpoint first_file;
  std::vector<std::string> first_names;
  NamedTensors merged;
};

void exportMergedCheckpoint(const MergedModel& m, const QString& path) {
  const NamedTensors cpu = [&] {
    NamedTensors out = m.merged;
    for (auto& t : out) t.tensor = t.tensor.cpu();
    return out;
  }();
  io::write_safetensors(path.toStdString(), nn::as_stored(m.first_file, m.first_names, cpu),
                        {{"arch", m.arch},
                         {"merged_from", m.sources.join(',').toStdString()},
                         {"method", m.method.toStdString()},
                         {"to", m.target.toStdString()},
                         {"repair", m.repair ? "true" : "false"}});
}

namespace {

std::string s8(const QString& s) { return s.toStdString(); }

// The models as the Merge tab's CSV and JSON name them: file base names.
QStringList shortNames(const QStringList& paths) {
  QStringList names;
  for (const QString& p : paths) names << QFileInfo(p).completeBaseName();
  return names;
}

// Core's merge reports its own progress from 0 to 1; in this job it is one stage of several, so its
// fractions are mapped into [from, to] (steps and plans pass as they are).
class StageSink : public EventSink {
 public:
  StageSink(EventSink& inner, double from, double to) : inner_(inner), from_(from), to_(to) {}
  void progress(const ProgressEvent& e) override {
    ProgressEvent scaled = e;
    scaled.fraction = from_ + (to_ - from_) * e.fraction;
    inner_.progress(scaled);
  }
  void step(const StepEvent& e) override { inner_.step(e); }
  void plan(const PlanSnapshot& p) override { inner_.plan(p); }

 private:
  EventSink& inner_;
  double from_, to_;
};

}  // namespace

JobOutcome run_merge_job(const JobSettings& s, CallbackSink& sink, const CancelToken& cancel) {
  const auto t0 = std::chrono::steady_clock::now();
  QStringList paths{s.modelA, s.modelB};
  paths += s.moreModels;
  paths.removeAll(QString());
  require(paths.size() >= 2, "merge needs at least 2 models: open model A, model B and any further models");
  require(!s.data.isEmpty(), "merge needs a data set (accuracy, barriers, BatchNorm statistics)");
  const c10::Device device = resolve_device(s8(s.device));
  align::MergeOptions mo;
  mo.align = align_options(s);
  mo.target = align::parse_merge_target(s8(s.mergeTarget));
  mo.repair = s.repair;
  mo.repair_options.seed = s.seed;

  data::Splits splits = data::load_dataset(s8(s.data));
  std::vector<std::string> files;
  for (const QString& p : paths) files.push_back(s8(p));
  nn::ModelSet set = nn::load_model_set(files, s8(s.arch), nn::model_io(splits.train));
  const nn::Architecture& arch = *set.arch;
  train::check_data_fits(arch, splits.train);
  if (s.repair) eval::require_repair_supported(arch);
  nn::move_to(set, device);
  data::to_device(splits, device);
  const data::Dataset& eval_set = s.split == "train" ? splits.train : splits.test;
  const data::Dataset* bn = arch.has_batchnorm() ? &splits.train : nullptr;

  const int n = int(paths.size());
  widgets::MergeView view;
  view.models = shortNames(paths);
  view.split = s.split;
  view.before = QVector<double>(qsizetype(n) * n, qQNaN());
  view.after = view.before;
  view.accuracy = QVector<double>(n, qQNaN());
  for (int i = 0; i < n; ++i) view.before[i * n + i] = view.after[i * n + i] = 0.0;
  auto send = [&] {
    if (sink.callbacks().merge) sink.callbacks().merge(view);
  };
  auto report = [&](const std::string& stage, double fraction) {
    ProgressEvent e;
    e.stage = stage;
    e.fraction = fraction;
    e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    e.eta_seconds = fraction > 0 ? e.seconds * (1 - fraction) / fraction : 0.0;
    sink.progress(e);
  };
  eval::BarrierMatrixOptions bo;
  bo.points = std::max(3, s.points);
  bo.split = s8(s.split);
  bo.seed = s.seed;
  const int pairs = n * (n - 1) / 2;
  // Each measured pair goes to the Merge tab at once, and moves the progress bar.
  auto cells = [&](QVector<double>& matrix, const char* stage, double from, double span) {
    return [&matrix, &send, &report, n, pairs, stage, from, span, done = 0](int i, int j, double barrier) mutable {
      matrix[i * n + j] = matrix[j * n + i] = barrier;
      send();
      report(stage, from + span * double(++done) / pairs);
    };
  };
  eval::pairwise_barriers(arch, set.models, nullptr, eval_set, bn, bo, &cancel,
                          cells(view.before, "barriers before alignment", 0.0, 0.3));
  StageSink merging(sink, 0.3, 0.5);
  const align::MergeResult r = align::merge(arch, set.models, &splits.train, mo, &merging, &cancel);
  report("merged", 0.5);
  const align::PairwisePermutations frame = align::pairwise_from_frame(r.perms);
  eval::pairwise_barriers(arch, set.models, &frame, eval_set, bn, bo, &cancel,
                          cells(view.after, "barriers after alignment", 0.5, 0.4));

  const align::MergeEvaluation ev =
      align::evaluate_merge(arch, set.models, r, s.repair, splits.train, eval_set, s.seed, &cancel);
  QJsonArray endpoints;
  for (int i = 0; i < n; ++i) {
    const eval::Metrics& m = ev.endpoints[std::size_t(i)];
    view.accuracy[i] = m.accuracy;
    endpoints.append(QJsonObject{{"path", paths[i]}, {"accuracy", m.accuracy}, {"loss", m.loss}});
  }
  const eval::Metrics &merged = ev.merged, &naive_m = ev.naive_average, &ensemble = ev.ensemble;
  view.merged = merged.accuracy;
  view.naiveAverage = naive_m.accuracy;
  view.ensemble = ensemble.accuracy;
  send();
  report("done", 1.0);

  auto model = std::make_shared<MergedModel>();
  model->sources = paths;
  model->method = s.method;
  model->target = s.mergeTarget;
  model->repair = s.repair;
  model->arch = arch.name();
  model->first_file = std::move(set.first_file);
  model->first_names = std::move(set.first_names);
  model->merged = r.merged;

  QJsonArray before, after;
  for (int k = 0; k < n * n; ++k) before.append(view.before[k]), after.append(view.after[k]);
  JobOutcome out;
  out.summary = {{"task", "merge"},
                 {"arch", QString::fromStdString(arch.name())},
                 {"models", QJsonArray::fromStringList(paths)},
                 {"method", s.method},
                 {"to", s.mergeTarget},
                 {"repair", s.repair},
                 {"split", s.split},
                 {"merged", QJsonObject{{"accuracy", merged.accuracy}, {"loss", merged.loss}}},
                 {"naive_average", QJsonObject{{"accuracy", naive_m.accuracy}, {"loss", naive_m.loss}}},
                 {"ensemble", QJsonObject{{"accuracy", ensemble.accuracy}, {"loss", ensemble.loss}}},
                 {"endpoints", endpoints},
                 {"barriers", QJsonObject{{"before", before}, {"after", after}}},
                 {"universe_steps", r.universe_steps},
                 {"merge_seconds", r.seconds},  // alignment and averaging
                 {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()},
                 {"device", QString::fromStdString(device_name(device))}};
  out.merged = std::move(model);
  return out;
}

}  // namespace rebasin::studio
