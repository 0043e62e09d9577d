// The continual-learning job: a stream of tasks learned one after another (re-basin or a
// baseline), a TaskEvent after each task; the accuracy matrix optionally written as CSV.
#pragma once

#include <string>

#include "common/cancel.h"
#include "common/events.h"
#include "continual/continual.h"
#include "jobs/reports.h"

namespace rebasin::jobs {

struct ContinualJobOptions {
  continual::ContinualOptions run;  // device and seed are set from below
  std::uint64_t seed = 0;
  std::string device = "auto";
  std::string csv;  // also the accuracy matrix as CSV (atomically); empty: not written
};

ContinualReport run_continual(const ContinualJobOptions& options, EventSink& sink, const CancelToken* cancel = nullptr);

}  // namespace rebasin::jobs
