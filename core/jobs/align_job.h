// The align job, whole: models and data resolved (inputs.h), B aligned to A by a method of the
// registry, the naive / aligned (/ REPAIRed) curves and optionally the landscape measured, the
// aligned checkpoint and the permutations written. The CLI's `align` and the studio's align
// task both run exactly this, so the same settings give the same report; every step, plan,
// curve point and landscape row goes through the EventSink.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "align/align.h"
#include "common/cancel.h"
#include "common/events.h"
#include "jobs/reports.h"
#include "jobs/inputs.h"
#include "nn/model_pair.h"

namespace rebasin::jobs {

// How the pair is evaluated along the line (align and interpolate).
struct EvalOptions {
  std::string split = "test";  // the split the curves are measured on
  int points = 25;             // lambdas on [0, 1]
  bool bn_reset = true;        // recompute BatchNorm statistics at every point (models with BatchNorm)
  bool repair = false;         // also the aligned line with REPAIR at every point
  int landscape_grid = 0;      // > 0: the loss over the plane through A, B and aligned B
};

struct AlignJobOptions {
  ModelsInput models;
  DataInput data;
  align::AlignOptions align;  // method (a registry name), cost, ..., seed
  EvalOptions eval;
  std::string device = "auto";  // cpu | cuda | auto
  std::string out;              // aligned B (safetensors under B's names); empty: not written
  std::string perm_out;         // the permutations (JSON); empty: not written
};

// Aligned B with what is needed to export it or to reuse it (interpolate).
struct AlignedModel {
  std::string a_path, b_path, label;
  nn::ModelPair pair;
  std::vector<at::Tensor> perms;
  NamedTensors aligned;
};

struct AlignJobResult {
  AlignReport report;
  std::shared_ptr<AlignedModel> model;
};

// Throws UserError for bad input (before anything is computed where it can be checked), and
// Cancelled when `cancel` fires.
AlignJobResult run_align(const AlignJobOptions& options, EventSink& sink, const CancelToken* cancel = nullptr);

// An alignment found earlier (a reopened session's), rebuilt from its models and permutations
// (row i -> unit perms[g][i] of B, one list per group) so that every export works again.
// UserError when the models are gone or the lists do not fit their groups.
std::shared_ptr<AlignedModel> aligned_from_permutations(const ModelsInput& models, const DataInput& data,
                                                        const std::vector<std::vector<std::int64_t>>& perms,
                                                        const std::string& label);

// Per group: name, size, heads and the fraction of units the permutation moves.
std::vector<GroupReport> group_reports(const nn::PermutationSpec& spec, const std::vector<at::Tensor>& perms);

// Exports (atomic writes): aligned B under B's tensor names; the permutations as JSON;
// (1 - lambda) A + lambda aligned B under B's names.
void write_aligned(const AlignedModel& m, const std::string& path);
void write_permutations(const AlignedModel& m, const std::string& path);
void write_interpolated(const AlignedModel& m, double lambda, const std::string& path);

}  // namespace rebasin::jobs
