#include "jobs/reports.h"

#include "common/parse.h"

#include <cmath>
#include <limits>

namespace rebasin::jobs {
namespace {

nlohmann::json numbers(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(number_or_null(x));
  return a;
}

std::vector<double> numbers_from(const nlohmann::json& j) {
  std::vector<double> v;
  for (const auto& x : j) v.push_back(number_from_json(x));
  return v;
}

nlohmann::json metrics_json(const Metrics& m) {
  return {{"accuracy", number_or_null(m.accuracy)}, {"loss", number_or_null(m.loss)}};
}

const nlohmann::json& null_json();
const nlohmann::json& at_or_null(const nlohmann::json& j, const char* key);

Metrics metrics_from(const nlohmann::json& j) {
  return {number_from_json(at_or_null(j, "accuracy")), number_from_json(at_or_null(j, "loss"))};
}

nlohmann::json square(const std::vector<double>& m, std::size_t n) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < n; ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (std::size_t j = 0; j < n; ++j) row.push_back(number_or_null(m[i * n + j]));
    out.push_back(row);
  }
  return out;
}

std::vector<double> flatten(const nlohmann::json& rows) {
  std::vector<double> out;
  for (const auto& row : rows)
    for (const auto& v : row) out.push_back(number_from_json(v));
  return out;
}

const nlohmann::json& null_json() {
  static const nlohmann::json j;
  return j;
}

// j[key] when j is an object holding it, else null: reports from older versions or other tools
// may lack a field.
const nlohmann::json& at_or_null(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) ? j.at(key) : null_json();
}

}  // namespace

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

double number_from_json(const nlohmann::json& j) {
  return j.is_number() ? j.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

nlohmann::json CurveReport::to_json() const {
  return {{"lambdas", lambdas}, {"loss", numbers(loss)}, {"accuracy", numbers(accuracy)}, {"barrier", number_or_null(barrier)}};
}

CurveReport CurveReport::from_json(const nlohmann::json& j) {
  CurveReport c;
  c.lambdas = j.at("lambdas").get<std::vector<double>>();
  c.loss = numbers_from(j.at("loss"));
  c.accuracy = numbers_from(j.at("accuracy"));
  c.barrier = number_from_json(at_or_null(j, "barrier"));
  return c;
}

double AlignReport::barrier(const std::string& role) const {
  const auto it = curves.find(role);
  return it == curves.end() ? std::numeric_limits<double>::quiet_NaN() : it->second.barrier;
}

nlohmann::json AlignReport::to_json() const {
  nlohmann::json groups_j = nlohmann::json::array();
  for (const GroupReport& g : groups) {
    nlohmann::json j = {{"name", g.name}, {"size", g.size}, {"moved_fraction", g.moved_fraction}};
    if (g.heads > 1) j["heads"] = g.heads;
    groups_j.push_back(j);
  }
  nlohmann::json barrier_j = {{"naive", nullptr}, {"aligned", nullptr}};
  nlohmann::json curves_j = nullptr;
  for (const auto& [role, c] : curves) {
    barrier_j[role] = number_or_null(c.barrier);
    curves_j[role] = c.to_json();
  }
  nlohmann::json j = {{"task", "align"},
                      {"arch", arch},
                      {"method", method},
                      {"cost", cost},
                      {"label", label},
                      {"device", device},
                      {"seconds", seconds},
                      {"steps", steps},
                      {"chosen_step", chosen_step},
                      {"final_cost", number_or_null(final_cost)},
                      {"barrier", barrier_j},
                      {"split", split.empty() ? nlohmann::json(nullptr) : nlohmann::json(split)},
                      {"groups", groups_j},
                      {"curves", curves_j}};
  if (landscape_grid > 0) j["landscape_grid"] = landscape_grid;
  return j;
}

AlignReport AlignReport::from_json(const nlohmann::json& j) {
  AlignReport r;
  r.arch = j.value("arch", "");
  r.method = j.value("method", "");
  r.cost = j.value("cost", "");
  r.label = j.value("label", r.method);
  r.device = j.value("device", "");
  r.seconds = j.value("seconds", 0.0);
  r.steps = j.value("steps", 0);
  r.chosen_step = j.value("chosen_step", r.steps);
  r.final_cost = number_from_json(at_or_null(j, "final_cost"));
  if (at_or_null(j, "split").is_string()) r.split = j["split"].get<std::string>();
  for (const auto& g : j.value("groups", nlohmann::json::array()))
    r.groups.push_back({g.at("name").get<std::string>(), g.at("size").get<std::int64_t>(), g.value("heads", std::int64_t(1)),
                        g.value("moved_fraction", 0.0)});
  if (at_or_null(j, "curves").is_object())
    for (const auto& [role, c] : j["curves"].items()) r.curves[role] = CurveReport::from_json(c);
  r.landscape_grid = j.value("landscape_grid", 0);
  return r;
}

nlohmann::json LineReport::to_json() const {
  return {{"arch", arch},
          {"split", split},
          {"curve", curve},
          {"points", points},
          {"bn_reset", bn_reset},
          {"repair", repair},
          {"lambdas", line.lambdas},
          {"loss", numbers(line.loss)},
          {"accuracy", numbers(line.accuracy)},
          {"barrier", number_or_null(line.barrier)},
          {"area", number_or_null(area)}};
}

LineReport LineReport::from_json(const nlohmann::json& j) {
  LineReport r;
  r.arch = j.value("arch", "");
  r.split = j.value("split", "");
  r.curve = j.value("curve", "");
  r.points = j.value("points", 0);
  r.bn_reset = j.value("bn_reset", false);
  r.repair = j.value("repair", false);
  r.line = CurveReport::from_json(j);  // the curve's fields sit at the top level
  r.area = number_from_json(at_or_null(j, "area"));
  return r;
}

nlohmann::json LandscapeReport::to_json() const {
  auto xy = [](const std::pair<double, double>& p) { return nlohmann::json::array({p.first, p.second}); };
  nlohmann::json loss_j = nlohmann::json::array(), acc_j = nlohmann::json::array();
  for (std::size_t r = 0; r < loss.size(); ++r) {
    loss_j.push_back(numbers(loss[r]));
    acc_j.push_back(numbers(accuracy[r]));
  }
  return {{"arch", arch}, {"split", split}, {"bn_reset", bn_reset}, {"grid", grid},   {"xs", xs},
          {"ys", ys},     {"loss", loss_j}, {"accuracy", acc_j},
          {"points", {{"A", xy(points[0])}, {"B", xy(points[1])}, {"B_aligned", xy(points[2])}}}};
}

LandscapeReport LandscapeReport::from_json(const nlohmann::json& j) {
  LandscapeReport r;
  r.arch = j.value("arch", "");
  r.split = j.value("split", "");
  r.bn_reset = j.value("bn_reset", false);
  r.grid = j.value("grid", 0);
  r.xs = j.at("xs").get<std::vector<double>>();
  r.ys = j.at("ys").get<std::vector<double>>();
  for (const auto& row : j.at("loss")) r.loss.push_back(numbers_from(row));
  for (const auto& row : at_or_null(j, "accuracy")) r.accuracy.push_back(numbers_from(row));
  const char* keys[] = {"A", "B", "B_aligned"};
  for (int k = 0; k < 3; ++k) {
    const nlohmann::json& p = at_or_null(at_or_null(j, "points"), keys[k]);
    if (p.is_array() && p.size() == 2) r.points[k] = {number_from_json(p[0]), number_from_json(p[1])};
  }
  return r;
}

nlohmann::json MergeReport::to_json() const {
  nlohmann::json endpoints_j = nlohmann::json::array();
  double acc_sum = 0, loss_sum = 0;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    endpoints_j.push_back({{"path", i < models.size() ? models[i] : ""},
                           {"accuracy", number_or_null(endpoints[i].accuracy)},
                           {"loss", number_or_null(endpoints[i].loss)}});
    acc_sum += endpoints[i].accuracy;
    loss_sum += endpoints[i].loss;
  }
  const double count = static_cast<double>(std::max<std::size_t>(endpoints.size(), 1));
  const Metrics best_m = best < endpoints.size() ? endpoints[best] : Metrics{NAN, NAN};
  nlohmann::json barriers_j = nullptr;
  if (!before.empty())
    barriers_j = {{"points", points}, {"split", split}, {"before", square(before, models.size())},
                  {"after", square(after, models.size())}};
  return {{"task", "merge"},
          {"arch", arch},
          {"models", models},
          {"method", method},
          {"cost", cost},
          {"to", to},
          {"weights", weights},
          {"repair", repair},
          {"split", split},
          {"merged", metrics_json(merged)},
          {"merged_without_repair", repair ? metrics_json(merged_without_repair) : nlohmann::json(nullptr)},
          {"naive_average", metrics_json(naive_average)},
          {"endpoints", endpoints_j},
          {"average_of_endpoints", {{"accuracy", number_or_null(acc_sum / count)}, {"loss", number_or_null(loss_sum / count)}}},
          {"best_single",
           {{"index", best},
            {"path", best < models.size() ? models[best] : ""},
            {"accuracy", number_or_null(best_m.accuracy)},
            {"loss", number_or_null(best_m.loss)}}},
          {"ensemble", metrics_json(ensemble)},
          {"cycle_error", {{"pairwise", number_or_null(cycle_pairwise)}, {"merge", number_or_null(cycle_merge)}}},
          {"barriers", barriers_j},
          {"objective", {{"start", number_or_null(objective_start)}, {"final", number_or_null(objective)}}},
          {"universe_steps", universe_steps},
          {"seconds", seconds},
          {"cycle_seconds", cycle_seconds},
          {"total_seconds", total_seconds},
          {"device", device},
          {"out", out}};
}

MergeReport MergeReport::from_json(const nlohmann::json& j) {
  MergeReport r;
  r.arch = j.value("arch", "");
  r.method = j.value("method", "");
  r.cost = j.value("cost", "");
  r.to = j.value("to", "");
  r.split = j.value("split", "test");
  r.device = j.value("device", "");
  r.out = j.value("out", "");
  r.models = j.value("models", std::vector<std::string>{});
  r.weights = j.value("weights", std::vector<double>{});
  r.repair = j.value("repair", false);
  r.merged = metrics_from(at_or_null(j, "merged"));
  r.merged_without_repair = r.repair ? metrics_from(at_or_null(j, "merged_without_repair")) : r.merged;
  r.naive_average = metrics_from(at_or_null(j, "naive_average"));
  r.ensemble = metrics_from(at_or_null(j, "ensemble"));
  for (const auto& e : j.value("endpoints", nlohmann::json::array())) r.endpoints.push_back(metrics_from(e));
  const nlohmann::json& best = at_or_null(at_or_null(j, "best_single"), "index");
  r.best = best.is_number_unsigned() ? best.get<std::size_t>() : 0;
  r.cycle_pairwise = number_from_json(at_or_null(at_or_null(j, "cycle_error"), "pairwise"));
  r.cycle_merge = number_from_json(at_or_null(at_or_null(j, "cycle_error"), "merge"));
  const nlohmann::json& b = at_or_null(j, "barriers");
  if (b.is_object()) {
    r.points = b.value("points", 0);
    r.before = flatten(b.at("before"));
    r.after = flatten(b.at("after"));
  }
  r.objective_start = number_from_json(at_or_null(at_or_null(j, "objective"), "start"));
  r.objective = number_from_json(at_or_null(at_or_null(j, "objective"), "final"));
  r.universe_steps = j.value("universe_steps", 0);
  r.seconds = j.value("seconds", 0.0);
  r.cycle_seconds = j.value("cycle_seconds", 0.0);
  r.total_seconds = j.value("total_seconds", 0.0);
  return r;
}

nlohmann::json TrainReport::to_json() const {
  const bool regression = std::isnan(test_accuracy);
  nlohmann::json h = nlohmann::json::array();
  for (const auto& e : history) {
    nlohmann::json j = {{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"test_loss", e.test_loss}, {"seconds", e.seconds}};
    if (!regression) j["test_accuracy"] = e.test_accuracy;
    h.push_back(j);
  }
  return {{"arch", arch},
          {"data", data},
          {"epochs", epochs},
          {"seed", seed},
          {"parameters", parameters},
          {"test_loss", test_loss},
          {"test_accuracy", number_or_null(test_accuracy)},
          {"seconds", seconds},
          {"seconds_per_epoch", seconds / std::max(epochs, 1)},
          {"out", out},
          {"history", h}};
}

nlohmann::json RecoverReport::to_json() const {
  nlohmann::json g = nlohmann::json::array();
  for (const RecoveryGroup& x : groups) g.push_back({{"name", x.name}, {"size", x.size}, {"recovered_fraction", x.recovered_fraction}});
  return {{"task", "recover"}, {"arch", arch},     {"method", method}, {"cost", cost},
          {"device", device},  {"recovered_fraction", recovered_fraction}, {"groups", g},
          {"steps", steps},    {"seconds", seconds}};
}

RecoverReport RecoverReport::from_json(const nlohmann::json& j) {
  RecoverReport r;
  r.arch = j.value("arch", "");
  r.method = j.value("method", "");
  r.cost = j.value("cost", "");
  r.device = j.value("device", "");
  r.recovered_fraction = number_from_json(at_or_null(j, "recovered_fraction"));
  r.steps = j.value("steps", 0);
  r.seconds = j.value("seconds", 0.0);
  for (const auto& g : at_or_null(j, "groups"))
    r.groups.push_back({g.value("name", ""), g.value("size", std::int64_t(0)), number_from_json(at_or_null(g, "recovered_fraction"))});
  return r;
}

nlohmann::json ContinualReport::to_json() const {
  nlohmann::json j = {{"task", "continual"},
                      {"stream", stream},
                      {"method", method},
                      {"tasks", accuracy_matrix.size()},
                      {"task_names", task_names},
                      {"seed", seed},
                      {"epochs", epochs},
                      {"batch_size", batch_size},
                      {"train_per_task", train_per_task},
                      {"normalize", normalize},
                      {"accuracy_matrix", accuracy_matrix},
                      {"average_accuracy", average_accuracy},
                      {"forgetting", forgetting},
                      {"backward_transfer", backward_transfer},
                      {"seconds", seconds}};
  if (!scenario.empty()) j["scenario"] = scenario;
  if (rebasin_il) {
    j["alpha"] = alpha;
    j["train_alpha"] = train_alpha;
    j["train_mix_accuracy_matrix"] = train_mix_accuracy_matrix;
    j["train_mix_average_accuracy"] = train_mix_average_accuracy;
  }
  if (!csv.empty()) j["csv"] = csv;
  return j;
}

ContinualReport ContinualReport::from_json(const nlohmann::json& j) {
  ContinualReport r;
  r.stream = j.value("stream", "");
  r.method = j.value("method", "");
  r.scenario = j.value("scenario", "");
  r.csv = j.value("csv", "");
  r.task_names = j.value("task_names", std::vector<std::string>{});
  r.seed = j.value("seed", std::uint64_t(0));
  r.epochs = j.value("epochs", 0);
  r.batch_size = j.value("batch_size", std::int64_t(0));
  r.train_per_task = j.value("train_per_task", std::int64_t(0));
  r.normalize = j.value("normalize", true);
  for (const auto& row : at_or_null(j, "accuracy_matrix")) r.accuracy_matrix.push_back(numbers_from(row));
  r.average_accuracy = number_from_json(at_or_null(j, "average_accuracy"));
  r.forgetting = number_from_json(at_or_null(j, "forgetting"));
  r.backward_transfer = number_from_json(at_or_null(j, "backward_transfer"));
  r.seconds = j.value("seconds", 0.0);
  r.rebasin_il = j.contains("train_alpha");
  r.alpha = j.value("alpha", 0.0);
  r.train_alpha = j.value("train_alpha", 0.0);
  for (const auto& row : at_or_null(j, "train_mix_accuracy_matrix")) r.train_mix_accuracy_matrix.push_back(numbers_from(row));
  r.train_mix_average_accuracy = number_from_json(at_or_null(j, "train_mix_average_accuracy"));
  return r;
}

nlohmann::json InspectReport::to_json() const {
  nlohmann::json tensors_j = nlohmann::json::array();
  for (const TensorInfo& t : tensors) tensors_j.push_back({{"name", t.name}, {"shape", t.shape}, {"dtype", t.dtype}});
  auto group_json = [](const InspectGroup& g) {
    nlohmann::json j = {{"name", g.name}, {"size", g.size}, {"params", g.params}};
    if (g.heads > 1) {
      j["heads"] = g.heads;
      j["head_size"] = g.size / g.heads;
      if (!g.heads_shared_with.empty()) j["heads_shared_with"] = g.heads_shared_with;
    }
    return j;
  };
  nlohmann::json groups_j = nlohmann::json::array();
  for (const InspectGroup& g : groups) groups_j.push_back(group_json(g));
  // Metadata is text: a recorded accuracy that is not a number is reported as null.
  const std::optional<double> accuracy = parse_number(trained_accuracy);
  const nlohmann::json accuracy_j = accuracy ? nlohmann::json(*accuracy) : nlohmann::json(nullptr);
  nlohmann::json graph_j = nullptr;
  if (graph) {
    nlohmann::json dropped_j = nlohmann::json::array();
    for (const DroppedInfo& d : dropped)
      dropped_j.push_back({{"name", d.name}, {"size", d.size}, {"params", d.params}, {"reason", d.reason}});
    graph_j = {{"input", {{"shape", input_shape}, {"dtype", input_dtype}}},
               {"groups", groups_j},
               {"dropped", dropped_j},
               {"constant_buffers", constant_buffers},
               {"seconds", seconds}};
  }
  return {{"task", "inspect"},
          {"format", format},
          {"nesting", nesting},
          {"entries", entries},
          {"tensors", tensors_j},
          {"parameters", parameters},
          {"trained", trained_data.empty() ? nlohmann::json(nullptr)
                                           : nlohmann::json{{"data", trained_data}, {"test_accuracy", accuracy_j}}},
          {"architecture", architecture.empty() ? nlohmann::json(nullptr) : nlohmann::json(architecture)},
          {"groups", groups_j},
          {"graph", graph_j}};
}

}  // namespace rebasin::jobs
