#include "jobs/recover_job.h"

#include <ATen/ATen.h>

#include <sstream>

#include "align/recover.h"
#include "common/device.h"
#include "common/error.h"
#include "common/parse.h"
#include "nn/architecture.h"

namespace rebasin::jobs {

RecoverReport run_recover(const RecoverJobOptions& o, EventSink& sink, const CancelToken* cancel) {
  const c10::Device device = resolve_device(o.device);
  nn::ModelIO io;
  io.outputs = o.outputs;
  if (!o.input.empty()) {
    io.input_shape.clear();
    std::stringstream ss(o.input);
    for (std::string item; std::getline(ss, item, ',');) {
      const auto v = parse_int(item, 1, 4096);
      require(v.has_value(), "--input expects C,H,W with positive integers, got '" + o.input + "'");
      io.input_shape.push_back(*v);
    }
  }
  const auto arch = nn::make_architecture(o.residual.empty() ? o.arch : nn::with_residual(o.arch, o.residual), io);
  const align::RecoverResult r = align::recover(*arch, o.align, o.align.seed, &sink, cancel, device);
  RecoverReport rep;
  rep.arch = arch->name();
  rep.method = o.align.method;
  rep.cost = align::to_string(o.align.cost);
  rep.device = device_name(device);
  rep.recovered_fraction = r.recovered_fraction;
  rep.steps = r.steps;
  rep.seconds = r.seconds;
  for (const auto& g : r.groups) rep.groups.push_back({g.name, g.size, g.recovered_fraction});
  for (const at::Tensor& p : r.perms) {
    const at::Tensor c = p.to(at::kCPU, at::kLong).contiguous();
    rep.permutations.emplace_back(c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel());
  }
  return rep;
}

}  // namespace rebasin::jobs
