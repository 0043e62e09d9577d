// The event stream every job reports through: plain value types (no tensors, no Qt), so a GUI
// worker can copy them across threads and a CLI can print them. Sinks override what they need;
// the default implementations ignore events.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace rebasin {

struct ProgressEvent {
  std::string stage;         // e.g. "align", "interpolate"
  double fraction = 0.0;     // 0..1
  double seconds = 0.0;      // elapsed
  double eta_seconds = 0.0;  // estimated time left
};

// One optimisation step of an alignment method.
struct StepEvent {
  int step = 0, steps = 0;
  double cost = 0.0;  // the method's objective at this step (soft plans for Sinkhorn)
  double hard_cost = std::numeric_limits<double>::quiet_NaN();  // with the hard permutations
  double seconds = 0.0;
};

// A (downsampled) soft transport plan of one permutation group, with its hard assignment.
struct PlanSnapshot {
  int step = 0;
  int group = 0;
  std::string name;
  std::int64_t size = 0;               // n of the n x n plan
  std::int64_t shown = 0;              // side of `values` after block-averaging (<= max shown)
  std::vector<float> values;           // shown x shown, row-major
  std::vector<std::int64_t> assignment;  // size entries: row i -> column assignment[i]
  // The hard assignment is always that of the same iterate as the plan. `result`: the run's
  // final snapshot - the permutation it returns (step: the step it was chosen at).
  bool result = false;
  // size > shown: the plan with its columns in assignment order (column k is column
  // assignment[k]) at full resolution, then block-averaged - the assignment lies exactly on the
  // diagonal at any size. Empty when size <= shown (reordering the values is exact then).
  std::vector<float> reordered;
  // Head-structured groups (attention heads; spec blocks > 1) of h heads of d units, exact
  // whatever `shown` is: the h x h head plan (block sums / d: rows sum to 1 like the plan's),
  // the head assignment (A's head i -> B's head head_assignment[i], from `assignment`), and for
  // every head i the d x d inner plan of the pair (i, head_assignment[i]) (the block scaled to
  // rows summing to 1), h x d x d row-major. Empty for plain groups.
  std::int64_t heads = 1;
  std::vector<float> head_values;
  std::vector<std::int64_t> head_assignment;
  std::vector<float> inner_values;
};

// One point of a loss/accuracy curve against lambda (interpolation).
struct CurvePoint {
  std::string curve;  // e.g. "naive", "sinkhorn-l2"
  std::string split;  // "train" or "test"
  double lambda = 0.0, loss = 0.0, accuracy = 0.0;
};

// One finished row of a loss landscape grid.
struct LandscapeRow {
  int row = 0, rows = 0;
  std::vector<double> loss, accuracy;  // one per grid column
  // The grid's plane coordinates and the three models' positions (A, B, aligned B), repeated
  // in every row so a viewer can draw the first row without waiting for the result.
  std::vector<double> xs, ys;
  std::vector<std::pair<double, double>> marks;
};

// One row of a continual-learning accuracy matrix: after training on task `task` (0-based),
// the accuracy on every task's test set (tasks not yet seen included: forward transfer).
struct TaskEvent {
  int task = 0, tasks = 0;
  std::vector<double> accuracy;  // `tasks` entries, 0..1
  double seconds = 0.0;          // elapsed since the stream started
};

// One cell of a merge's pairwise barrier matrices: the loss barrier between models i and j
// (of `models`), "before" alignment or "after" it (in the merge's frame).
struct BarrierCell {
  std::string matrix;
  int i = 0, j = 0, models = 0;
  double barrier = 0.0;
};

// A line for the user: a note on the input (warning: e.g. a nested checkpoint, a recorded
// architecture overridden) or what the job is about to do.
struct NoteEvent {
  std::string text;
  bool warning = false;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void progress(const ProgressEvent&) {}
  virtual void step(const StepEvent&) {}
  virtual void plan(const PlanSnapshot&) {}
  virtual void curve(const CurvePoint&) {}
  virtual void landscape(const LandscapeRow&) {}
  virtual void task(const TaskEvent&) {}
  virtual void note(const NoteEvent&) {}
  virtual void barrier(const BarrierCell&) {}
};

}  // namespace rebasin
