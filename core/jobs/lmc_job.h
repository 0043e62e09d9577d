// The linear-mode-connectivity jobs on a given pair: the curve along the line from A to B
// (permuted by a permutation file when one is given), and the loss landscape over the plane
// through A, B and permuted B. Both write their numbers as CSV when asked (atomically) and
// report one JSON form (the CLI's `interpolate --json` and `landscape --json`).
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "common/cancel.h"
#include "common/events.h"
#include "jobs/reports.h"
#include "jobs/inputs.h"

namespace rebasin::jobs {

struct LineJobOptions {
  ModelsInput models;
  DataInput data;
  std::string perm;           // permutations of B (JSON, as align --perm-out writes); empty: B as it is
  std::string split = "test";
  int points = 25;
  bool bn_reset = true;       // recompute BatchNorm statistics at every point (models with BatchNorm)
  bool repair = false;        // REPAIR every point instead
  std::string device = "auto";
  std::uint64_t seed = 0;
  std::string csv;            // also the numbers as CSV (empty: not written)
};

LineReport run_interpolate(const LineJobOptions& options, EventSink& sink, const CancelToken* cancel = nullptr);

struct LandscapeJobOptions {
  ModelsInput models;
  DataInput data;
  std::string perm;  // required: the permutations that give the plane its third point
  std::string split = "test";
  bool bn_reset = true;
  int grid = 21;
  std::string device = "auto";
  std::uint64_t seed = 0;
  std::string csv;
};

LandscapeReport run_landscape(const LandscapeJobOptions& options, EventSink& sink, const CancelToken* cancel = nullptr);

}  // namespace rebasin::jobs
