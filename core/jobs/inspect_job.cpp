#include "jobs/inspect_job.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "nn/graph/graph_architecture.h"
#include "nn/mapping.h"
#include "nn/model_pair.h"

namespace rebasin::jobs {
namespace {

std::vector<InspectGroup> groups_of(const nn::PermutationSpec& spec) {
  std::vector<InspectGroup> out;
  for (std::size_t g = 0; g < spec.groups().size(); ++g) {
    const nn::Group& gr = spec.groups()[g];
    InspectGroup i;
    i.name = gr.name;
    i.size = gr.size;
    i.heads = gr.blocks;
    if (gr.blocks > 1 && gr.link >= 0) i.heads_shared_with = spec.groups()[gr.link].name;
    for (const auto& ps : spec.params())
      for (const auto& axis : ps.axes)
        for (const auto& tie : axis)
          if (tie.group == static_cast<int>(g) && (i.params.empty() || i.params.back() != ps.name)) i.params.push_back(ps.name);
    out.push_back(std::move(i));
  }
  return out;
}

}  // namespace

InspectReport run_inspect(const InspectOptions& o) {
  const io::Checkpoint ck = io::load_checkpoint(o.file, o.key);
  InspectReport r;
  r.file = o.file;
  r.format = ck.format;
  r.nesting = ck.nesting;
  r.note = io::nesting_note(o.file, ck);
  r.entries = ck.entries;
  for (const auto& [name, t] : ck.tensors) {
    r.tensors.push_back({name, io::dtype_code(t.scalar_type()), t.sizes().vec()});
    if (at::isFloatingType(t.scalar_type())) r.parameters += t.numel();
  }
  if (auto it = ck.metadata.find("data"); it != ck.metadata.end()) r.trained_data = it->second;
  if (auto it = ck.metadata.find("test_accuracy"); it != ck.metadata.end()) r.trained_accuracy = it->second;
  const bool chosen = !o.arch.empty() && o.arch != "auto";
  std::string arch = chosen ? o.arch : nn::recorded_arch(ck, "auto");
  if (!chosen && ck.format == "torchscript") arch = o.file;  // a TorchScript model is its own architecture
  std::unique_ptr<nn::Architecture> mapped;
  if (arch != "auto") {
    try {
      mapped = nn::map_checkpoint(ck.tensors, arch).arch;
    } catch (const UserError&) {
      if (chosen) throw;  // the user's choice does not read it: say so
      arch = "auto";      // a recorded ARCH that no longer fits: detect instead
    }
  }
  if (!mapped) {
    // --arch auto's detection, mapped once (detect_architecture would map it and drop the result).
    try {
      mapped = nn::map_checkpoint(ck.tensors, "auto").arch;
    } catch (const UserError&) {
      // none or several fit: no architecture to report
    }
  }
  if (!mapped) return r;
  r.groups = groups_of(mapped->spec());
  if (const nn::graph::GraphReport* g = nn::graph::graph_report(*mapped)) {
    r.graph = true;
    r.input_shape = g->input_shape;
    r.input_dtype = g->token_input ? "int64" : "float32";
    for (const auto& d : g->dropped) r.dropped.push_back({d.name, d.reason, d.size, d.params});
    r.constant_buffers = g->constant_buffers;
    r.seconds = g->seconds;
  } else {
    r.architecture = mapped->name();
  }
  return r;
}

}  // namespace rebasin::jobs
