// The steps the align and interpolate jobs share: loading the pair with its data on the
// device, and measuring the naive and the aligned line (and REPAIR's, and the landscape).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "jobs/align_job.h"

namespace rebasin::jobs {

struct PairData {
  std::shared_ptr<AlignedModel> model = std::make_shared<AlignedModel>();  // pair loaded, nothing aligned yet
  data::Splits splits;
  bool data = false;
};

// Data first (the models' input and output sizes may come from it), then both models, checked
// against the data, all moved to `device`. The pair's notes go to the sink (warnings).
PairData load_pair_data(const ModelsInput& models, const DataInput& data, const c10::Device& device, EventSink& sink);

struct PairEvaluation {
  std::map<std::string, CurveReport> curves;  // "naive", "aligned" (, "repaired")
};

// Curves of A -> B ("naive") and A -> aligned B ("aligned", and "repaired" with eval.repair) on
// eval.split; their events carry the names "naive", m.label and m.label + "+repair". Then the
// landscape when eval.landscape_grid > 0.
PairEvaluation evaluate_pair(const AlignedModel& m, const data::Splits& splits, const EvalOptions& eval,
                             std::uint64_t seed, EventSink& sink, const CancelToken* cancel);

}  // namespace rebasin::jobs
