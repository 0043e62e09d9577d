#include "jobs/evaluate_pair.h"

#include "common/error.h"
#include "eval/interpolation.h"
#include "eval/repair.h"
#include "jobs/curve_report.h"

namespace rebasin::jobs {

PairData load_pair_data(const ModelsInput& models, const DataInput& data, const c10::Device& device, EventSink& sink) {
  PairData p;
  nn::ModelIO io;
  if (data.given()) {
    // Seed 0: the data set's own order, whatever the job's seed (as every command reads it).
    p.splits = load_data(data, 0);
    p.data = true;
    io = nn::model_io(p.splits.train);
  }
  p.model->a_path = models.a;
  p.model->b_path = models.b;
  p.model->pair = load_models(models, io);
  for (const std::string& n : p.model->pair.notes) sink.note({n, true});
  if (p.data) check_data_fits(*p.model->pair.arch, p.splits.train, data);
  // After the checks: data that does not fit at all is one error line, not warnings first.
  for (const std::string& w : recorded_data_warnings(p.model->pair, data)) sink.note({w, true});
  nn::move_to(p.model->pair, device);
  if (p.data) data::to_device(p.splits, device);
  return p;
}

PairEvaluation evaluate_pair(const AlignedModel& m, const data::Splits& splits, const EvalOptions& o,
                             std::uint64_t seed, EventSink& sink, const CancelToken* cancel) {
  require(o.split == "test" || o.split == "train", "split must be test or train, got '" + o.split + "'");
  require(o.points >= 2 && o.points <= 1001, "points must be between 2 and 1001");
  const nn::Architecture& arch = *m.pair.arch;
  const data::Dataset& eval_set = o.split == "train" ? splits.train : splits.test;
  const data::Dataset* bn = arch.has_batchnorm() && o.bn_reset ? &splits.train : nullptr;
  PairEvaluation e;
  e.curves["naive"] = curve_report(
      eval::interpolation_curve(arch, m.pair.a, m.pair.b, eval_set, bn, o.points, &sink, "naive", cancel, o.split, seed));
  e.curves["aligned"] = curve_report(
      eval::interpolation_curve(arch, m.pair.a, m.aligned, eval_set, bn, o.points, &sink, m.label, cancel, o.split, seed));
  if (o.repair) {
    eval::require_repair_supported(arch);
    e.curves["repaired"] = curve_report(eval::repaired_curve(arch, m.pair.a, m.aligned, splits.train, eval_set, o.points,
                                                             &sink, m.label + "+repair", cancel, o.split, seed));
  }
  if (o.landscape_grid > 0)
    eval::loss_landscape(arch, m.pair.a, m.pair.b, m.aligned, eval_set, bn, o.landscape_grid, &sink, cancel, seed);
  return e;
}

}  // namespace rebasin::jobs
