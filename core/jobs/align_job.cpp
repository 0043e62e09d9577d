#include "jobs/align_job.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "common/device.h"
#include "common/error.h"
#include "eval/interpolation.h"
#include "eval/repair.h"
#include "io/safetensors.h"
#include "jobs/curve_report.h"
#include "jobs/evaluate_pair.h"
#include "nn/permutation_file.h"
#include "nn/permute.h"
#include "ot/permutation.h"

namespace rebasin::jobs {

std::vector<GroupReport> group_reports(const nn::PermutationSpec& spec, const std::vector<at::Tensor>& perms) {
  std::vector<GroupReport> out;
  for (std::size_t g = 0; g < perms.size(); ++g) {
    const nn::Group& gr = spec.groups()[g];
    const double moved = (perms[g].cpu() != at::arange(gr.size, at::kLong)).sum().item<double>() / double(gr.size);
    out.push_back({gr.name, gr.size, gr.blocks, moved});
  }
  return out;
}

AlignJobResult run_align(const AlignJobOptions& o, EventSink& sink, const CancelToken* cancel) {
  const c10::Device device = resolve_device(o.device);
  const align::MethodEntry& method = align::find_method(o.align.method);
  const std::string cost = align::to_string(o.align.cost);
  check_output_path(o.out, "--out", /*safetensors=*/true);
  check_output_path(o.perm_out, "--perm-out");
  require(!align::method_needs_data(method.name, cost) || o.data.given(),
          "--method " + method.name + (method.uses_cost ? " --cost " + cost : "") + " needs --data");
  require(!o.eval.repair || o.data.given(), "--repair needs --data");
  require(o.eval.landscape_grid == 0 || o.data.given(), "the landscape needs --data");

  PairData p = load_pair_data(o.models, o.data, device, sink);
  if (o.eval.repair) eval::require_repair_supported(*p.model->pair.arch);
  AlignedModel& m = *p.model;
  const nn::Architecture& arch = *m.pair.arch;
  sink.note({"aligning " + o.models.b + " to " + o.models.a + " (" + arch.name() + ", " +
             std::to_string(arch.spec().groups().size()) + " groups) with " + method.name +
             (method.uses_cost ? " (" + cost + ")" : "")});
  const align::AlignResult r = align::align(arch, m.pair.a, m.pair.b, p.data ? &p.splits.train : nullptr, o.align,
                                            &sink, cancel);
  m.perms = r.perms;
  m.label = align::method_label(method.name, cost);
  m.aligned = nn::permute(arch.spec(), m.pair.b, r.perms);

  AlignJobResult out;
  AlignReport& rep = out.report;
  rep.arch = arch.name();
  rep.method = method.name;
  rep.cost = cost;
  rep.label = m.label;
  rep.device = device_name(device);
  rep.seconds = r.seconds;
  rep.steps = r.steps;
  rep.chosen_step = r.chosen_step;
  rep.final_cost = r.cost;
  rep.groups = group_reports(arch.spec(), r.perms);
  if (p.data) {
    PairEvaluation e = evaluate_pair(m, p.splits, o.eval, o.align.seed, sink, cancel);
    const CurveReport& naive = e.curves.at("naive");
    for (const std::string& w : recorded_accuracy_warnings(m.pair, o.data, o.eval.split, naive.accuracy.front(),
                                                           naive.accuracy.back()))
      sink.note({w, true});
    rep.split = o.eval.split;
    rep.curves = std::move(e.curves);
    rep.landscape_grid = o.eval.landscape_grid;
  }
  if (!o.out.empty()) write_aligned(m, o.out);
  if (!o.perm_out.empty()) write_permutations(m, o.perm_out);
  out.model = std::move(p.model);
  return out;
}

std::shared_ptr<AlignedModel> aligned_from_permutations(const ModelsInput& models, const DataInput& data,
                                                        const std::vector<std::vector<std::int64_t>>& perms,
                                                        const std::string& label) {
  EventSink quiet;
  PairData p = load_pair_data(models, data, c10::kCPU, quiet);
  AlignedModel& m = *p.model;
  const auto& groups = m.pair.arch->spec().groups();
  require(perms.size() == groups.size(), "the saved alignment has " + std::to_string(perms.size()) +
                                             " permutations, the models have " + std::to_string(groups.size()) +
                                             " groups: they changed since it was saved");
  for (std::size_t g = 0; g < groups.size(); ++g) {
    at::Tensor t = at::tensor(at::ArrayRef<std::int64_t>(perms[g]), at::kLong);
    ot::check_permutation(t, groups[g].size);
    m.perms.push_back(t);
  }
  m.label = label;
  m.aligned = nn::permute(m.pair.arch->spec(), m.pair.b, m.perms);
  return std::move(p.model);
}

void write_aligned(const AlignedModel& m, const std::string& path) {
  io::write_safetensors(path, nn::as_stored(m.pair, m.aligned), {{"aligned_to", m.a_path}, {"method", m.label}});
}

void write_permutations(const AlignedModel& m, const std::string& path) {
  nn::write_permutations(path, m.pair.arch->name(), m.pair.arch->spec(), m.perms);
}

void write_interpolated(const AlignedModel& m, double lambda, const std::string& path) {
  require(lambda >= 0 && lambda <= 1, "lambda must be between 0 and 1");
  const NamedTensors mixed = eval::interpolate(m.pair.a, m.aligned, lambda);
  io::write_safetensors(path, nn::as_stored(m.pair, mixed),
                        {{"interpolated", std::to_string(lambda)}, {"a", m.a_path}, {"b_aligned_by", m.label}});
}

}  // namespace rebasin::jobs
