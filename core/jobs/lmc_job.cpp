#include "jobs/lmc_job.h"

#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "common/device.h"
#include "common/error.h"
#include "eval/interpolation.h"
#include "eval/repair.h"
#include "io/atomic_file.h"
#include "jobs/curve_report.h"
#include "nn/model_pair.h"
#include "nn/permutation_file.h"
#include "nn/permute.h"

namespace rebasin::jobs {
namespace {

// Both models on one architecture, B permuted by the permutation file when one is given, all on
// the device; the data set alongside (its seed fixed, as in train: the sets the models saw).
struct LoadedLine {
  nn::ModelPair pair;
  NamedTensors b_permuted;
  data::Splits splits;
};

LoadedLine load_line(const ModelsInput& models, const DataInput& data, const std::string& perm,
                     const std::string& device_spec, const std::string& csv, EventSink& sink) {
  const c10::Device device = resolve_device(device_spec);
  check_output_path(csv, "--csv");
  require(data.given(), "this job needs --data");
  LoadedLine m;
  m.splits = load_data(data, 0);
  m.pair = load_models(models, nn::model_io(m.splits.train));
  for (const std::string& n : m.pair.notes) sink.note({n, true});
  check_data_fits(*m.pair.arch, m.splits.train, data);
  m.b_permuted = perm.empty() ? m.pair.b : nn::permute(m.pair.arch->spec(), m.pair.b, nn::read_permutations(perm, m.pair.arch->spec()));
  // After every check: input that cannot run is one error line, not warnings first.
  for (const std::string& w : recorded_data_warnings(m.pair, data)) sink.note({w, true});
  for (NamedTensors* set : {&m.pair.a, &m.pair.b, &m.b_permuted})
    for (auto& t : *set) t.tensor = t.tensor.to(device);
  return m;
}

std::string csv_number(double v) {
  if (!std::isfinite(v)) return "";  // regression accuracy: an empty field, as pandas reads NaN
  std::ostringstream s;
  s << std::setprecision(std::numeric_limits<double>::max_digits10) << v;
  return s.str();
}

}  // namespace

LineReport run_interpolate(const LineJobOptions& o, EventSink& sink, const CancelToken* cancel) {
  require(o.points >= 2, "points must be at least 2");
  LoadedLine m = load_line(o.models, o.data, o.perm, o.device, o.csv, sink);
  const nn::Architecture& arch = *m.pair.arch;
  const data::Dataset& eval_set = o.split == "train" ? m.splits.train : m.splits.test;
  const bool bn_reset = arch.has_batchnorm() && o.bn_reset;
  LineReport r;
  r.arch = arch.name();
  r.split = o.split;
  r.points = o.points;
  r.repair = o.repair;
  r.bn_reset = bn_reset || o.repair;
  r.curve = o.perm.empty() ? "naive" : "aligned";
  eval::Curve c;
  if (o.repair) {
    eval::require_repair_supported(arch);
    r.curve += "+repair";
    c = eval::repaired_curve(arch, m.pair.a, m.b_permuted, m.splits.train, eval_set, o.points, &sink, r.curve, cancel,
                             o.split, o.seed);
  } else {
    c = eval::interpolation_curve(arch, m.pair.a, m.b_permuted, eval_set, bn_reset ? &m.splits.train : nullptr, o.points,
                                  &sink, r.curve, cancel, o.split, o.seed);
  }
  r.line = curve_report(c);
  r.area = c.area;
  // The naive line's ends are the models themselves (REPAIR rescales them: not comparable).
  if (o.perm.empty() && !o.repair && !c.accuracy.empty())
    for (const std::string& w : recorded_accuracy_warnings(m.pair, o.data, o.split, c.accuracy.front(), c.accuracy.back()))
      sink.note({w, true});
  if (!o.csv.empty())
    io::write_file_atomically(o.csv, [&](std::ostream& out) {
      out << "lambda,loss,accuracy\n";
      for (std::size_t i = 0; i < c.lambdas.size(); ++i)
        out << csv_number(c.lambdas[i]) << ',' << csv_number(c.loss[i]) << ',' << csv_number(c.accuracy[i]) << '\n';
    });
  return r;
}

LandscapeReport run_landscape(const LandscapeJobOptions& o, EventSink& sink, const CancelToken* cancel) {
  require(!o.perm.empty(), "--perm is required");
  LoadedLine m = load_line(o.models, o.data, o.perm, o.device, o.csv, sink);
  const nn::Architecture& arch = *m.pair.arch;
  const data::Dataset& eval_set = o.split == "train" ? m.splits.train : m.splits.test;
  const bool bn_reset = arch.has_batchnorm() && o.bn_reset;
  const eval::Landscape l = eval::loss_landscape(arch, m.pair.a, m.pair.b, m.b_permuted, eval_set,
                                                 bn_reset ? &m.splits.train : nullptr, o.grid, &sink, cancel, o.seed);
  if (!o.csv.empty())
    io::write_file_atomically(o.csv, [&](std::ostream& out) {
      out << "x,y,loss,accuracy\n";
      for (int r = 0; r < l.grid; ++r)
        for (int c = 0; c < l.grid; ++c)
          out << csv_number(l.xs[c]) << ',' << csv_number(l.ys[r]) << ',' << csv_number(l.loss[r][c]) << ','
              << csv_number(l.accuracy[r][c]) << '\n';
    });
  LandscapeReport r;
  r.arch = arch.name();
  r.split = o.split;
  r.bn_reset = bn_reset;
  r.grid = l.grid;
  r.xs = l.xs;
  r.ys = l.ys;
  r.loss = l.loss;
  r.accuracy = l.accuracy;
  r.points = l.points;
  return r;
}

}  // namespace rebasin::jobs
