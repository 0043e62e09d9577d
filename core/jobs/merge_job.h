// The merge job, whole: N models of one architecture loaded with their data, brought into one
// frame (align::merge: star or universe) and averaged; around it the references (every model,
// the naive average, the ensemble), the cycle error of independent pairwise alignments, and
// optionally every pair's loss barrier before alignment and in the merge's frame, each cell sent
// through the EventSink as it is measured. The CLI's `merge` and the studio's merge task run it.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "align/merge.h"
#include "common/cancel.h"
#include "common/events.h"
#include "io/checkpoint.h"
#include "jobs/inputs.h"
#include "jobs/reports.h"

namespace rebasin::jobs {

struct MergeJobOptions {
  std::vector<std::string> models;  // two or more; the first is the reference and names the output
  std::string arch = "auto", key, residual;
  DataInput data;
  align::AlignOptions align;  // the pairwise method (the caller's default: weight)
  std::string to = "first";   // first | universe | universe-sinkhorn
  std::vector<double> weights;  // one per model; empty: equal
  int universe_steps = 100;
  bool repair = false;
  std::int64_t repair_samples = 2000;
  bool barriers = false;      // every pair's barrier before alignment and in the merge's frame
  int points = 9;             // lambdas per pair for the barriers
  std::string split = "test";  // where the references and barriers are measured
  bool cycle_check = true;    // independent pairwise alignments behind cycle_error.pairwise (N >= 3)
  std::string device = "auto";
  std::string out;            // the merged model (safetensors under the first model's names); empty: not written
};

// The merged model with what its export needs.
struct MergedModel {
  std::vector<std::string> sources;
  std::string arch, method, to;
  bool repair = false;
  io::Checkpoint first_file;
  std::vector<std::string> first_names;
  NamedTensors merged;
};

struct MergeJobResult {
  MergeReport report;
  std::shared_ptr<MergedModel> model;
};

// Progress: barriers before 0-30%, the merge 30-50%, barriers after 50-90% (without barriers:
// the merge 0-90%), the references to 100%. UserError for bad input, Cancelled when cancelled.
MergeJobResult run_merge(const MergeJobOptions& options, EventSink& sink, const CancelToken* cancel = nullptr);

// The merged model under the first model's tensor names (safetensors, atomic).
void write_merged(const MergedModel& m, const std::string& path);

}  // namespace rebasin::jobs
