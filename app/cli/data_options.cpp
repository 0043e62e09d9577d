#include "data_options.h"

#include <cmath>
#include <sstream>

#include "common/error.h"
#include "common/parse.h"
#include "data/transforms.h"
#include "train/train.h"

namespace rebasin::cli {

void add_data_options(CLI::App* cmd, DataCliOptions& opts, bool required, bool with_input) {
  auto* d = cmd->add_option("--data", opts.data,
                            "Data set: mnist, fashion-mnist, digits, cifar10:PATH, poly1|poly2|poly3, text:fortunes[:T] or text:PATH[:T] (characters, windows of T = 64)");
  if (required) d->required();
  cmd->add_option("--normalize", opts.normalize,
                  "Normalise inputs as (x - MEAN) / STD after scaling pixels to [0,1], e.g. "
                  "0.1307,0.3081 (must match how the models were trained; default: none)");
  cmd->add_option("--data-dir", opts.data_dir,
                  "Folder holding the installed data sets (default: $REBASIN_DATA_DIR, then the "
                  "places scripts/setup.sh installs to)");
  if (with_input)
    cmd->add_option("--input", opts.input,
                    "Resize the data's images to C,H,W for the models (bilinear; one channel replicated to C), "
                    "e.g. 3,32,32 for a model traced at that shape given MNIST (default: as stored)");
}

data::DataOptions to_data_options(const DataCliOptions& opts, std::uint64_t seed) {
  data::DataOptions d;
  d.data_dir = opts.data_dir;
  d.seed = seed;
  if (!opts.normalize.empty()) {
    const auto comma = opts.normalize.find(',');
    double mean = 0, std = 0;
    bool ok = comma != std::string::npos;
    if (ok) {
      try {
        std::size_t u1 = 0, u2 = 0;
        const std::string a = opts.normalize.substr(0, comma), b = opts.normalize.substr(comma + 1);
        mean = std::stod(a, &u1);
        std = std::stod(b, &u2);
        ok = u1 == a.size() && u2 == b.size();
      } catch (const std::exception&) {
        ok = false;
      }
    }
    require(ok && std::isfinite(mean) && std::isfinite(std) && std > 0,
            "--normalize expects MEAN,STD with STD > 0 (e.g. 0.1307,0.3081), got '" + opts.normalize + "'");
    d.normalize = std::make_pair(mean, std);
  }
  return d;
}

data::Splits load_cli_data(const DataCliOptions& opts, std::uint64_t seed) {
  std::vector<std::int64_t> shape;
  if (!opts.input.empty()) {
    std::stringstream ss(opts.input);
    for (std::string item; std::getline(ss, item, ',');) {
      const auto v = parse_int(item, 1, 4096);
      require(v.has_value(), "--input expects C,H,W with positive integers, got '" + opts.input + "'");
      shape.push_back(*v);
    }
    require(shape.size() == 3, "--input expects C,H,W with positive integers, got '" + opts.input + "'");
  }
  data::Splits s = data::load_dataset(opts.data, to_data_options(opts, seed));
  if (!shape.empty())
    for (data::Dataset* set : {&s.train, &s.test}) set->inputs = data::resize_images(set->inputs, shape[0], shape[1], shape[2]);
  return s;
}

void check_cli_data_fits(const nn::Architecture& arch, const data::Dataset& set, const DataCliOptions& opts) {
  try {
    train::check_data_fits(arch, set);
  } catch (const UserError& e) {
    const auto& want = arch.io().input_shape;
    const bool shapes_differ = set.inputs.dim() == 4 && want.size() == 3 &&
                               (set.inputs.size(1) != want[0] || set.inputs.size(2) != want[1] || set.inputs.size(3) != want[2]);
    if (!opts.input.empty() || !shapes_differ) throw;
    throw UserError(std::string(e.what()) + "; --input " + std::to_string(want[0]) + "," + std::to_string(want[1]) +
                    "," + std::to_string(want[2]) + " resizes the data to the model's input");
  }
}

}  // namespace rebasin::cli
