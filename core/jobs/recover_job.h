// The recover job: a random model of an architecture (seeded), a hidden random permutation of it,
// and a method's attempt to find it again - the test a method must pass before it is trusted.
#pragma once

#include <string>

#include "align/align.h"
#include "common/cancel.h"
#include "common/events.h"
#include "jobs/reports.h"

namespace rebasin::jobs {

struct RecoverJobOptions {
  std::string arch, residual;  // residual: built-in transformers, shared | identity (empty: default)
  std::string input;           // "C,H,W" for convolutional architectures (empty: 3,32,32)
  std::int64_t outputs = 10;
  align::AlignOptions align;   // its seed seeds the model and the hidden permutation
  std::string device = "auto";
};

RecoverReport run_recover(const RecoverJobOptions& options, EventSink& sink, const CancelToken* cancel = nullptr);

}  // namespace rebasin::jobs
