#include "jobs/train_job.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "common/device.h"
#include "common/error.h"
#include "io/safetensors.h"
#include "nn/model_pair.h"

namespace rebasin::jobs {
namespace {

std::string format_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

}  // namespace

TrainReport run_train(const TrainJobOptions& o, EventSink& sink, const CancelToken* cancel) {
  require(!o.out.empty(), "--out is required");
  check_output_path(o.out, "--out", /*safetensors=*/true);
  train::TrainOptions t = o.train;
  t.device = resolve_device(o.device);
  t.seed = o.seed;
  // Data first: its shape decides VGG/ResNet inputs and outputs. The data seed is fixed so
  // models trained with different seeds see the same generated sets.
  const data::Splits splits = load_data(o.data, 0);
  const auto arch = nn::make_architecture(o.arch, nn::model_io(splits.train));
  check_data_fits(*arch, splits.train, o.data);
  sink.note({"training " + arch->name() + " (" + std::to_string(arch->spec().parameter_count()) + " parameters) on " +
             o.data.data + ": " + std::to_string(splits.train.size()) + " train, " + std::to_string(splits.test.size()) +
             " test samples, " + std::to_string(t.epochs) + " epochs"});
  const bool regression = splits.train.is_regression();
  const train::TrainResult r = train::train(*arch, splits, t, [&](const train::EpochReport& e) {
    std::ostringstream line;
    line << "epoch " << e.epoch << "/" << e.epochs << ": train loss " << e.train_loss << ", test loss " << e.test.loss;
    if (!regression) line << ", test accuracy " << 100.0 * e.test.accuracy << "%";
    line << ", " << format_seconds(e.seconds) << " elapsed, ETA " << format_seconds(e.eta_seconds);
    sink.note({line.str()});
    sink.progress({"train", double(e.epoch) / e.epochs, e.seconds, e.eta_seconds});
  }, cancel);
  std::map<std::string, std::string> meta = {{"arch", arch->name()},
                                             {"data", o.data.data},
                                             {"seed", std::to_string(o.seed)},
                                             {"epochs", std::to_string(t.epochs)},
                                             {"test_loss", std::to_string(r.test.loss)},
                                             {"command", o.command_line}};
  if (!regression) meta["test_accuracy"] = std::to_string(r.test.accuracy);
  if (!o.data.normalize.empty()) meta["normalize"] = o.data.normalize;
  io::write_safetensors(o.out, r.params, meta);

  TrainReport rep;
  rep.arch = arch->name();
  rep.data = o.data.data;
  rep.out = o.out;
  rep.epochs = t.epochs;
  rep.seed = o.seed;
  rep.parameters = arch->spec().parameter_count();
  rep.test_loss = r.test.loss;
  rep.test_accuracy = regression ? NAN : r.test.accuracy;
  rep.seconds = r.seconds;
  for (const auto& e : r.epochs)
    rep.history.push_back({e.epoch, e.train_loss, e.test.loss, regression ? NAN : e.test.accuracy, e.seconds});
  return rep;
}

}  // namespace rebasin::jobs
