#include "lmc_commands.h"

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>

#include "cli_common.h"
#include "common/error.h"
#include "common/events.h"
#include "data_options.h"
#include "nn/model_pair.h"
#include "eval/interpolation.h"
#include "eval/repair.h"
#include "io/atomic_file.h"
#include "io/checkpoint.h"
#include "nn/mapping.h"
#include "nn/permutation_file.h"
#include "nn/permute.h"
#include "train/train.h"

namespace rebasin::cli {
namespace {

struct LmcCliOptions {
  CommonOptions common;
  DataCliOptions data;
  std::string a, b, arch = "auto", key, perm, split = "test", csv, residual;
  bool no_bn_reset = false, repair = false;
  int points = 25;
  int grid = 21;
};

// Both models mapped onto one architecture, B permuted when --perm is given, on the device.
struct LoadedModels {
  std::unique_ptr<nn::Architecture> arch;
  NamedTensors a, b, b_aligned;
  data::Splits splits;
  bool bn_reset = false;
};

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

// Progress lines on stderr: stdout stays free for the result (JSON or table).
class StderrSink : public EventSink {
 public:
  explicit StderrSink(bool regression) : regression_(regression) {}
  void curve(const CurvePoint& p) override {
    std::ostringstream s;
    s << "lambda " << std::fixed << std::setprecision(3) << p.lambda << ": " << p.split << " loss "
      << std::setprecision(4) << p.loss;
    if (!regression_) s << ", accuracy " << std::setprecision(2) << 100.0 * p.accuracy << "%";
    pending_ = s.str();
  }
  void landscape(const LandscapeRow& r) override {
    pending_ = "row " + std::to_string(r.row + 1) + "/" + std::to_string(r.rows);
  }
  void progress(const ProgressEvent& e) override {
    std::cerr << pending_ << " (" << seconds_text(e.seconds) << " elapsed, ETA "
              << seconds_text(e.eta_seconds) << ")" << std::endl;
  }

 private:
  bool regression_;
  std::string pending_;
};

LoadedModels load_models(const LmcCliOptions& o, bool need_perm) {
  const c10::Device device = apply_common_options(o.common);
  check_output_path(o.csv, "--csv");
  LoadedModels m;
  // The data seed is fixed (as in train): generated sets must be the ones the models saw.
  m.splits = load_cli_data(o.data, 0);
  const nn::ModelIO io = nn::model_io(m.splits.train);
  nn::ModelPair pair = nn::load_model_pair(o.a, o.b, o.arch, io, o.key, o.residual);
  for (const std::string& note : pair.notes) std::cerr << "rebasin: note: " << note << std::endl;
  m.arch = std::move(pair.arch);
  m.a = std::move(pair.a);
  m.b = std::move(pair.b);
  check_cli_data_fits(*m.arch, m.splits.train, o.data);
  require(!need_perm || !o.perm.empty(), "--perm is required");
  m.b_aligned = m.b;
  if (!o.perm.empty())
    m.b_aligned = nn::permute(m.arch->spec(), m.b, nn::read_permutations(o.perm, m.arch->spec()));
  for (NamedTensors* set : {&m.a, &m.b, &m.b_aligned})
    for (auto& t : *set) t.tensor = t.tensor.to(device);
  m.bn_reset = m.arch->has_batchnorm() && !o.no_bn_reset;
  return m;
}

const data::Dataset& eval_split(const LoadedModels& m, const std::string& split) {
  return split == "train" ? m.splits.train : m.splits.test;
}

nlohmann::json number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json numbers(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(number(x));
  return a;
}

std::string csv_number(double v) {
  if (!std::isfinite(v)) return "";  // regression accuracy: an empty field, as pandas reads NaN
  std::ostringstream s;
  s << std::setprecision(std::numeric_limits<double>::max_digits10) << v;
  return s.str();
}

void run_interpolate(const LmcCliOptions& o) {
  const LoadedModels m = load_models(o, false);
  const data::Dataset& eval_set = eval_split(m, o.split);
  StderrSink sink(eval_set.is_regression());
  const std::string name = o.perm.empty() ? "naive" : "aligned";
  eval::Curve c;
  if (o.repair) {
    eval::require_repair_supported(*m.arch);
    c = eval::repaired_curve(*m.arch, m.a, m.b_aligned, m.splits.train, eval_set, o.points, &sink, name + "+repair",
                             nullptr, o.split, o.common.seed);
  } else {
    c = eval::interpolation_curve(*m.arch, m.a, m.b_aligned, eval_set, m.bn_reset ? &m.splits.train : nullptr,
                                  o.points, &sink, name, nullptr, o.split, o.common.seed);
  }
  if (!o.csv.empty())
    io::write_file_atomically(o.csv, [&](std::ostream& out) {
      out << "lambda,loss,accuracy\n";
      for (std::size_t i = 0; i < c.lambdas.size(); ++i)
        out << csv_number(c.lambdas[i]) << ',' << csv_number(c.loss[i]) << ','
            << csv_number(c.accuracy[i]) << '\n';
    });
  const nlohmann::json result = {{"arch", m.arch->name()},   {"split", o.split},
                                 {"points", o.points},       {"bn_reset", m.bn_reset || o.repair},
                                 {"repair", o.repair},
                                 {"lambdas", c.lambdas},     {"loss", numbers(c.loss)},
                                 {"accuracy", numbers(c.accuracy)}, {"barrier", number(c.barrier)},
                                 {"area", number(c.area)}};
  if (o.common.json) {
    emit(result, o.common);
    return;
  }
  std::cout << "lambda    " << o.split << "_loss     accuracy\n" << std::fixed;
  for (std::size_t i = 0; i < c.lambdas.size(); ++i) {
    std::cout << std::setprecision(3) << c.lambdas[i] << "    " << std::setprecision(6) << c.loss[i];
    if (!eval_set.is_regression()) std::cout << "    " << std::setprecision(2) << 100.0 * c.accuracy[i] << "%";
    std::cout << "\n";
  }
  std::cout << std::setprecision(6) << "barrier: " << c.barrier << "\narea: " << c.area << std::endl;
}

void run_landscape(const LmcCliOptions& o) {
  const LoadedModels m = load_models(o, true);
  const data::Dataset& eval_set = eval_split(m, o.split);
  StderrSink sink(eval_set.is_regression());
  const eval::Landscape l = eval::loss_landscape(*m.arch, m.a, m.b, m.b_aligned, eval_set,
                                                 m.bn_reset ? &m.splits.train : nullptr, o.grid,
                                                 &sink, nullptr, o.common.seed);
  if (!o.csv.empty())
    io::write_file_atomically(o.csv, [&](std::ostream& out) {
      out << "x,y,loss,accuracy\n";
      for (int r = 0; r < l.grid; ++r)
        for (int c = 0; c < l.grid; ++c)
          out << csv_number(l.xs[c]) << ',' << csv_number(l.ys[r]) << ',' << csv_number(l.loss[r][c])
              << ',' << csv_number(l.accuracy[r][c]) << '\n';
    });
  auto xy = [](const std::pair<double, double>& p) { return nlohmann::json::array({p.first, p.second}); };
  const nlohmann::json points = {{"A", xy(l.points[0])}, {"B", xy(l.points[1])}, {"B_aligned", xy(l.points[2])}};
  nlohmann::json loss = nlohmann::json::array(), accuracy = nlohmann::json::array();
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int r = 0; r < l.grid; ++r) {
    loss.push_back(numbers(l.loss[r]));
    accuracy.push_back(numbers(l.accuracy[r]));
    for (double v : l.loss[r]) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  if (o.common.json) {
    emit({{"arch", m.arch->name()}, {"split", o.split}, {"bn_reset", m.bn_reset}, {"grid", l.grid},
          {"xs", l.xs}, {"ys", l.ys}, {"loss", loss}, {"accuracy", accuracy}, {"points", points}},
         o.common);
    return;
  }
  // Readable summary; the grid itself goes to --csv or --json.
  emit({{"arch", m.arch->name()}, {"grid", l.grid}, {"points", points}, {"loss_min", number(lo)},
        {"loss_max", number(hi)}, {"csv", o.csv.empty() ? "(none; use --csv FILE or --json for the grid)" : o.csv}},
       o.common);
}

void add_shared_options(CLI::App* cmd, LmcCliOptions& o, bool perm_required) {
  cmd->add_option("A", o.a, "Model A (safetensors, .pt/.pth/.ckpt or TorchScript)")->required();
  cmd->add_option("B", o.b, "Model B, the same architecture")->required();
  cmd->add_option("--arch", o.arch, "Architecture, e.g. mlp:784,512,512,10, tv:resnet18, a TorchScript model's path, or auto (detected from the tensors)")->capture_default_str();
  add_residual_option(cmd, o.residual);
  cmd->add_option("--key", o.key, "torch.save checkpoints: take the state dict under this top-level key (e.g. ema)");
  auto* perm = cmd->add_option("--perm", o.perm, "Permutations of B (JSON, as align --perm-out writes)");
  if (perm_required) perm->required();
  add_data_options(cmd, o.data, true, /*with_input=*/true);
  cmd->add_option("--split", o.split, "Split to measure on")
      ->check(CLI::IsMember({"test", "train"}))
      ->capture_default_str();
  cmd->add_flag("--no-bn-reset", o.no_bn_reset,
                "Keep interpolated BatchNorm statistics instead of recomputing them on 2000 "
                "training samples at every point (faster, but the curve then overstates the loss)");
  cmd->add_option("--csv", o.csv, "Also write the numbers as CSV (atomically)");
  add_common_options(cmd, o.common);
}

}  // namespace

void add_lmc_commands(CLI::App& app) {
  auto ip = std::make_shared<LmcCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "interpolate", "Loss and accuracy along the line from A to (aligned) B, and its barrier");
  add_shared_options(cmd, *ip, false);
  cmd->add_option("--points", ip->points, "Lambdas evenly spaced on [0, 1]")
      ->check(CLI::Range(2, 10001))
      ->capture_default_str();
  cmd->add_flag("--repair", ip->repair,
                "REPAIR every point: rescale each unit's statistics to the interpolation of A's and B's, "
                "measured on 2000 training samples (MLP, VGG and CIFAR ResNet built-ins)");
  cmd->callback([ip] { run_interpolate(*ip); });

  auto lp = std::make_shared<LmcCliOptions>();
  CLI::App* land = app.add_subcommand(
      "landscape", "Loss over the plane through A, B and aligned B, on a grid (JSON or CSV)");
  add_shared_options(land, *lp, true);
  land->add_option("--grid", lp->grid, "Grid points per side")->check(CLI::Range(3, 201))->capture_default_str();
  land->callback([lp] { run_landscape(*lp); });
}

}  // namespace rebasin::cli
