#include "jobs/merge_job.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "common/device.h"
#include "common/error.h"
#include "eval/barrier_matrix.h"
#include "eval/evaluate.h"
#include "eval/repair.h"
#include "io/safetensors.h"
#include "nn/model_pair.h"

namespace rebasin::jobs {
namespace {

using clock = std::chrono::steady_clock;

double since(clock::time_point t0) { return std::chrono::duration<double>(clock::now() - t0).count(); }

// Core's merge reports its own progress from 0 to 1; in this job it is one stage of several, so
// its fractions are mapped into [from, to] (everything else passes as it is).
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
  void note(const NoteEvent& n) override { inner_.note(n); }

 private:
  EventSink& inner_;
  double from_, to_;
};

Metrics metrics(const eval::Metrics& m) { return {m.accuracy, m.loss}; }

}  // namespace

MergeJobResult run_merge(const MergeJobOptions& o, EventSink& sink, const CancelToken* cancel) {
  const auto t0 = clock::now();
  const c10::Device device = resolve_device(o.device);
  require(o.models.size() >= 2, "merge needs at least 2 models, got " + std::to_string(o.models.size()));
  require(o.data.given(), "merge needs --data (accuracy, barriers, BatchNorm statistics)");
  require(o.split == "test" || o.split == "train", "split must be test or train, got '" + o.split + "'");
  align::MergeOptions mo;
  mo.align = o.align;
  mo.target = align::parse_merge_target(o.to);
  // Checked before anything is loaded: a wrong count should not cost a run.
  mo.weights = align::merge_weights(o.weights, o.models.size());
  mo.universe_steps = o.universe_steps;
  mo.repair = o.repair;
  mo.repair_options.samples = o.repair_samples;
  mo.repair_options.seed = o.align.seed;
  check_output_path(o.out, "--out", /*safetensors=*/true);

  data::Splits splits = load_data(o.data, 0);
  nn::ModelSet set = nn::load_model_set(o.models, o.arch, nn::model_io(splits.train), o.key, o.residual);
  for (const std::string& n : set.notes) sink.note({n, true});
  const nn::Architecture& arch = *set.arch;
  check_data_fits(arch, splits.train, o.data);
  if (o.repair) eval::require_repair_supported(arch);
  nn::move_to(set, device);
  data::to_device(splits, device);
  sink.note({"merging " + std::to_string(o.models.size()) + " models (" + arch.name() + ") with " + o.align.method +
             ", to " + o.to + (o.repair ? ", REPAIR" : "")});
  const data::Dataset& eval_set = o.split == "train" ? splits.train : splits.test;
  const data::Dataset* bn = arch.has_batchnorm() ? &splits.train : nullptr;

  MergeReport rep;
  const int n = static_cast<int>(o.models.size());
  auto report = [&](const std::string& stage, double fraction) {
    const double s = since(t0);
    sink.progress({stage, fraction, s, fraction > 0 ? s * (1 - fraction) / fraction : 0.0});
  };
  eval::BarrierMatrixOptions bo;
  bo.points = std::max(3, o.points);
  bo.split = o.split;
  bo.seed = o.align.seed;
  const int pairs = n * (n - 1) / 2;
  // Each measured pair goes to the sink at once, and moves the progress bar.
  auto cells = [&](const char* matrix, const char* stage, double from, double span) {
    return [&sink, &report, n, pairs, matrix, stage, from, span, done = 0](int i, int j, double barrier) mutable {
      sink.barrier({matrix, i, j, n, barrier});
      report(stage, from + span * double(++done) / pairs);
    };
  };
  if (o.barriers)
    rep.before = eval::pairwise_barriers(arch, set.models, nullptr, eval_set, bn, bo, cancel,
                                         cells("before", "barriers before alignment", 0.0, 0.3));
  StageSink merging(sink, o.barriers ? 0.3 : 0.0, o.barriers ? 0.5 : 0.9);
  const align::MergeResult r = align::merge(arch, set.models, &splits.train, mo, &merging, cancel);
  report("merged", o.barriers ? 0.5 : 0.9);
  const align::PairwisePermutations frame = align::pairwise_from_frame(r.perms);
  if (o.barriers)
    rep.after = eval::pairwise_barriers(arch, set.models, &frame, eval_set, bn, bo, cancel,
                                        cells("after", "barriers after alignment", 0.5, 0.4));

  // References: every endpoint, their ensemble, and the plain average without alignment.
  const align::MergeEvaluation ev =
      align::evaluate_merge(arch, set.models, r, o.repair, splits.train, eval_set, o.align.seed, cancel);
  for (const eval::Metrics& m : ev.endpoints) rep.endpoints.push_back(metrics(m));
  rep.best = ev.best;
  rep.merged = metrics(ev.merged);
  rep.merged_without_repair = metrics(ev.merged_plain);
  rep.naive_average = metrics(ev.naive_average);
  rep.ensemble = metrics(ev.ensemble);

  // Independent pairwise alignments (the star's pairs with the first reused) and how far they
  // are from cycle-consistent; the merge's own maps share one frame.
  rep.cycle_pairwise = rep.cycle_merge = std::numeric_limits<double>::quiet_NaN();
  if (n >= 3) {
    rep.cycle_merge = align::cycle_error(frame);
    if (o.cycle_check) {
      const auto c0 = clock::now();
      rep.cycle_pairwise = align::cycle_error(align::pairwise_alignments(arch, set.models, &splits.train, mo.align, &r.star));
      rep.cycle_seconds = since(c0);
    }
  }
  report("done", 1.0);

  auto model = std::make_shared<MergedModel>();
  model->sources = o.models;
  model->arch = arch.name();
  model->method = o.align.method;
  model->to = o.to;
  model->repair = o.repair;
  model->first_file = std::move(set.first_file);
  model->first_names = std::move(set.first_names);
  model->merged = r.merged;
  for (auto& t : model->merged) t.tensor = t.tensor.cpu();
  if (!o.out.empty()) write_merged(*model, o.out);

  rep.arch = arch.name();
  rep.method = o.align.method;
  rep.cost = align::to_string(o.align.cost);
  rep.to = o.to;
  rep.split = o.split;
  rep.device = device_name(device);
  rep.out = o.out;
  rep.models = o.models;
  rep.weights = r.weights;
  rep.repair = o.repair;
  rep.points = o.barriers ? bo.points : 0;
  rep.objective_start = r.objective_start;
  rep.objective = r.objective;
  rep.universe_steps = r.universe_steps;
  rep.seconds = r.seconds;
  rep.total_seconds = since(t0);
  return {std::move(rep), std::move(model)};
}

void write_merged(const MergedModel& m, const std::string& path) {
  std::string sources;
  for (const auto& s : m.sources) sources += (sources.empty() ? "" : ",") + s;
  io::write_safetensors(path, nn::as_stored(m.first_file, m.first_names, m.merged),
                        {{"arch", m.arch}, {"merged_from", sources}, {"method", m.method}, {"to", m.to},
                         {"repair", m.repair ? "true" : "false"}});
}

}  // namespace rebasin::jobs
