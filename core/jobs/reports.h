// What every job reports, as plain values with one JSON form each (to_json / from_json): the
// CLI's --json prints it, the studio's summaries, exports and sessions hold it, rebasin-plot
// reads it. No torch here: rebasin-plot (Qt only) links these alone (rebasin_reports).
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rebasin::jobs {

// NaN and infinities as null (JSON has no NaN); back as NaN.
nlohmann::json number_or_null(double v);
double number_from_json(const nlohmann::json& j);

// A loss/accuracy curve along lambda (accuracy NaN for regression data).
struct CurveReport {
  std::vector<double> lambdas, loss, accuracy;
  double barrier = 0.0;
  nlohmann::json to_json() const;
  static CurveReport from_json(const nlohmann::json& j);
};

// One permutation group's outcome.
struct GroupReport {
  std::string name;
  std::int64_t size = 0, heads = 1;
  double moved_fraction = 0;  // units the permutation moves
};

struct AlignReport {
  std::string arch, method, cost, label, device;
  double seconds = 0, final_cost = 0;  // seconds: the alignment itself
  int steps = 0;
  int chosen_step = 0;  // the step the returned permutations are from (steps when not optimised)
  std::vector<GroupReport> groups;
  // With data: the split and the curves by role ("naive", "aligned", "repaired").
  std::string split;
  std::map<std::string, CurveReport> curves;
  int landscape_grid = 0;

  double barrier(const std::string& role) const;  // NaN when that curve was not measured
  nlohmann::json to_json() const;
  static AlignReport from_json(const nlohmann::json& j);
};

// One curve along the line from A to (permuted) B: `rebasin interpolate`.
struct LineReport {
  std::string arch, split, curve;  // curve: "naive", "aligned" (with a permutation file), "+repair"
  int points = 0;
  bool bn_reset = false, repair = false;
  CurveReport line;
  double area = 0;
  nlohmann::json to_json() const;
  static LineReport from_json(const nlohmann::json& j);
};

struct LandscapeReport {
  std::string arch, split;
  bool bn_reset = false;
  int grid = 0;
  std::vector<double> xs, ys;
  std::vector<std::vector<double>> loss, accuracy;    // [row][col]
  std::array<std::pair<double, double>, 3> points{};  // A, B, permuted B
  nlohmann::json to_json() const;
  static LandscapeReport from_json(const nlohmann::json& j);
};

struct Metrics {
  double accuracy = 0, loss = 0;
};

struct MergeReport {
  std::string arch, method, cost, to, split, device, out;
  std::vector<std::string> models;
  std::vector<double> weights;
  bool repair = false;
  Metrics merged, merged_without_repair, naive_average, ensemble;
  std::vector<Metrics> endpoints;
  std::size_t best = 0;
  double cycle_pairwise = 0, cycle_merge = 0;  // NaN: not measured
  int points = 0;                              // of the barriers (0: not measured)
  std::vector<double> before, after;           // N x N row-major barrier matrices (empty: not measured)
  double objective_start = 0, objective = 0;
  int universe_steps = 0;
  double seconds = 0, cycle_seconds = 0, total_seconds = 0;  // seconds: alignment and averaging
  nlohmann::json to_json() const;
  static MergeReport from_json(const nlohmann::json& j);
};

// rebasin recover: a hidden permutation found again, per group.
struct RecoveryGroup {
  std::string name;
  std::int64_t size = 0;
  double recovered_fraction = 0;
};

struct RecoverReport {
  std::string arch, method, cost, device;
  double recovered_fraction = 0, seconds = 0;
  int steps = 0;
  std::vector<RecoveryGroup> groups;
  // The permutations found, per group (not in the JSON: the studio's demo report compares them
  // with the plans it drew).
  std::vector<std::vector<std::int64_t>> permutations;
  nlohmann::json to_json() const;
  static RecoverReport from_json(const nlohmann::json& j);
};

// rebasin continual: the accuracy of every task after each task, and its summaries.
struct ContinualReport {
  std::string stream, method, scenario, csv;  // scenario: split streams only
  std::vector<std::string> task_names;
  std::uint64_t seed = 0;
  int epochs = 0;
  std::int64_t batch_size = 0, train_per_task = 0;
  bool normalize = true;
  std::vector<std::vector<double>> accuracy_matrix;  // [after task][task]
  double average_accuracy = 0, forgetting = 0, backward_transfer = 0, seconds = 0;
  // rebasin-il only
  bool rebasin_il = false;
  double alpha = 0, train_alpha = 0, train_mix_average_accuracy = 0;
  std::vector<std::vector<double>> train_mix_accuracy_matrix;
  nlohmann::json to_json() const;
  static ContinualReport from_json(const nlohmann::json& j);
};

// rebasin info and the studio's Models dock: what a checkpoint holds and which architecture
// reads it, with its permutation groups (and, for a TorchScript graph, what derivation found).
struct TensorInfo {
  std::string name, dtype;
  std::vector<std::int64_t> shape;
};

struct InspectGroup {
  std::string name, heads_shared_with;  // heads_shared_with: the linked group whose head order it takes
  std::int64_t size = 0, heads = 1;
  std::vector<std::string> params;      // the tensors it permutes
};

struct DroppedInfo {
  std::string name, reason;
  std::int64_t size = 0;
  std::vector<std::string> params;
};

struct InspectReport {
  std::string file, format, nesting, note;  // note: which entry of a nested checkpoint was taken
  std::vector<std::string> entries;
  std::vector<TensorInfo> tensors;
  std::int64_t parameters = 0;              // entries of the floating-point tensors
  // What `rebasin train` recorded in the file's metadata (empty when not recorded).
  std::string trained_data, trained_accuracy;
  std::string architecture;                 // the built-in ARCH that reads it ("" for none or a graph)
  bool graph = false;                       // read through a TorchScript graph (derived groups)
  std::vector<InspectGroup> groups;         // the architecture's groups (empty when none reads it)
  // A graph's derivation: the input it was specialised to, the groups dropped and why, the
  // buffers held fixed, and the seconds it took.
  std::vector<std::int64_t> input_shape;
  std::string input_dtype;
  std::vector<DroppedInfo> dropped;
  std::vector<std::string> constant_buffers;
  double seconds = 0;
  nlohmann::json to_json() const;
};

struct EpochLine {
  int epoch = 0;
  double train_loss = 0, test_loss = 0, test_accuracy = 0, seconds = 0;
};

struct TrainReport {
  std::string arch, data, out;
  int epochs = 0;
  std::uint64_t seed = 0;
  std::int64_t parameters = 0;
  double test_loss = 0, test_accuracy = 0;  // accuracy NaN for regression
  double seconds = 0;
  std::vector<EpochLine> history;
  nlohmann::json to_json() const;
};

}  // namespace rebasin::jobs
