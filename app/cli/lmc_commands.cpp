#include "lmc_commands.h"

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>

#include "cli_common.h"
#include "common/events.h"
#include "data_options.h"
#include "jobs/lmc_job.h"

namespace rebasin::cli {
namespace {

struct LmcCliOptions {
  CommonOptions common;
  jobs::LineJobOptions line;  // models, data, --perm, split, points, --repair, --csv
  bool no_bn_reset = false;
  int grid = 21;
};

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

// Progress lines on stderr: stdout stays free for the result (JSON or table).
class StderrSink : public EventSink {
 public:
  void curve(const CurvePoint& p) override {
    std::ostringstream s;
    s << "lambda " << std::fixed << std::setprecision(3) << p.lambda << ": " << p.split << " loss "
      << std::setprecision(4) << p.loss;
    if (std::isfinite(p.accuracy)) s << ", accuracy " << std::setprecision(2) << 100.0 * p.accuracy << "%";
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
  std::string pending_;
};

jobs::LineJobOptions line_options(const LmcCliOptions& o) {
  jobs::LineJobOptions j = o.line;
  j.bn_reset = !o.no_bn_reset;
  j.device = o.common.device;
  j.seed = o.common.seed;
  return j;
}

// Warnings on stderr; the curve and landscape progress lines of StderrSink (no accuracy for
// regression data: NaN).
class LmcSink : public StderrSink {
 public:
  void note(const NoteEvent& e) override {
    if (e.warning) std::cerr << "rebasin: note: " << e.text << std::endl;
  }
};

void run_interpolate(const LmcCliOptions& o) {
  apply_common_options(o.common);
  LmcSink sink;
  const jobs::LineReport r = jobs::run_interpolate(line_options(o), sink);
  if (o.common.json) {
    emit(r.to_json(), o.common);
    return;
  }
  const jobs::CurveReport& c = r.line;
  std::cout << "lambda    " << r.split << "_loss     accuracy\n" << std::fixed;
  for (std::size_t i = 0; i < c.lambdas.size(); ++i) {
    std::cout << std::setprecision(3) << c.lambdas[i] << "    " << std::setprecision(6) << c.loss[i];
    if (std::isfinite(c.accuracy[i])) std::cout << "    " << std::setprecision(2) << 100.0 * c.accuracy[i] << "%";
    std::cout << "\n";
  }
  std::cout << std::setprecision(6) << "barrier: " << c.barrier << "\narea: " << r.area << std::endl;
}

void run_landscape(const LmcCliOptions& o) {
  apply_common_options(o.common);
  jobs::LandscapeJobOptions j;
  const jobs::LineJobOptions line = line_options(o);
  j.models = line.models;
  j.data = line.data;
  j.perm = line.perm;
  j.split = line.split;
  j.bn_reset = line.bn_reset;
  j.grid = o.grid;
  j.device = line.device;
  j.seed = line.seed;
  j.csv = line.csv;
  LmcSink sink;
  const jobs::LandscapeReport l = jobs::run_landscape(j, sink);
  if (o.common.json) {
    emit(l.to_json(), o.common);
    return;
  }
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& row : l.loss)
    for (double v : row) lo = std::min(lo, v), hi = std::max(hi, v);
  // Readable summary; the grid itself goes to --csv or --json.
  emit({{"arch", l.arch}, {"grid", l.grid}, {"points", l.to_json()["points"]}, {"loss_min", jobs::number_or_null(lo)},
        {"loss_max", jobs::number_or_null(hi)},
        {"csv", j.csv.empty() ? "(none; use --csv FILE or --json for the grid)" : j.csv}},
       o.common);
}

void add_shared_options(CLI::App* cmd, LmcCliOptions& o, bool perm_required) {
  jobs::LineJobOptions& l = o.line;
  cmd->add_option("A", l.models.a, "Model A (safetensors, .pt/.pth/.ckpt or TorchScript)")->required();
  cmd->add_option("B", l.models.b, "Model B, the same architecture")->required();
  cmd->add_option("--arch", l.models.arch, arch_help("a TorchScript model's path, or auto (detected from the tensors)"))->capture_default_str();
  add_residual_option(cmd, l.models.residual);
  cmd->add_option("--key", l.models.key, "torch.save checkpoints: take the state dict under this top-level key (e.g. ema)");
  auto* perm = cmd->add_option("--perm", l.perm, "Permutations of B (JSON, as align --perm-out writes)");
  if (perm_required) perm->required();
  add_data_options(cmd, l.data, true, /*with_input=*/true);
  cmd->add_option("--split", l.split, "Split to measure on")
      ->check(CLI::IsMember({"test", "train"}))
      ->capture_default_str();
  cmd->add_flag("--no-bn-reset", o.no_bn_reset,
                "Keep interpolated BatchNorm statistics instead of recomputing them on 2000 "
                "training samples at every point (faster, but the curve then overstates the loss)");
  cmd->add_option("--csv", l.csv, "Also write the numbers as CSV (atomically)");
  add_common_options(cmd, o.common);
}

}  // namespace

void add_lmc_commands(CLI::App& app) {
  auto ip = std::make_shared<LmcCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "interpolate", "Loss and accuracy along the line from A to (aligned) B, and its barrier");
  add_shared_options(cmd, *ip, false);
  cmd->add_option("--points", ip->line.points, "Lambdas evenly spaced on [0, 1]")
      ->check(CLI::Range(2, 10001))
      ->capture_default_str();
  cmd->add_flag("--repair", ip->line.repair,
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
