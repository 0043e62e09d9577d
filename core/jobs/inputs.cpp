#include "jobs/inputs.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "common/error.h"
#include "common/parse.h"
#include "data/transforms.h"
#include "train/train.h"

namespace rebasin::jobs {

data::DataOptions data_options(const DataInput& in, std::uint64_t seed) {
  data::DataOptions d;
  d.data_dir = in.data_dir;
  d.seed = seed;
  if (!in.normalize.empty()) {
    const auto comma = in.normalize.find(',');
    double mean = 0, std = 0;
    bool ok = comma != std::string::npos;
    if (ok) {
      try {
        std::size_t u1 = 0, u2 = 0;
        const std::string a = in.normalize.substr(0, comma), b = in.normalize.substr(comma + 1);
        mean = std::stod(a, &u1);
        std = std::stod(b, &u2);
        ok = u1 == a.size() && u2 == b.size();
      } catch (const std::exception&) {
        ok = false;
      }
    }
    require(ok && std::isfinite(mean) && std::isfinite(std) && std > 0,
            "--normalize expects MEAN,STD with STD > 0 (e.g. 0.1307,0.3081), got '" + in.normalize + "'");
    d.normalize = std::make_pair(mean, std);
  }
  return d;
}

data::Splits load_data(const DataInput& in, std::uint64_t seed) {
  std::vector<std::int64_t> shape;
  if (!in.input.empty()) {
    std::stringstream ss(in.input);
    for (std::string item; std::getline(ss, item, ',');) {
      const auto v = parse_int(item, 1, 4096);
      require(v.has_value(), "--input expects C,H,W with positive integers, got '" + in.input + "'");
      shape.push_back(*v);
    }
    require(shape.size() == 3, "--input expects C,H,W with positive integers, got '" + in.input + "'");
  }
  data::Splits s = data::load_dataset(in.data, data_options(in, seed));
  if (!shape.empty())
    for (data::Dataset* set : {&s.train, &s.test}) set->inputs = data::resize_images(set->inputs, shape[0], shape[1], shape[2]);
  return s;
}

void check_data_fits(const nn::Architecture& arch, const data::Dataset& set, const DataInput& in) {
  try {
    train::check_data_fits(arch, set);
  } catch (const UserError& e) {
    const auto& want = arch.io().input_shape;
    const bool shapes_differ = set.inputs.dim() == 4 && want.size() == 3 &&
                               (set.inputs.size(1) != want[0] || set.inputs.size(2) != want[1] || set.inputs.size(3) != want[2]);
    if (!in.input.empty() || !shapes_differ) throw;
    throw UserError(std::string(e.what()) + "; --input " + std::to_string(want[0]) + "," + std::to_string(want[1]) +
                    "," + std::to_string(want[2]) + " resizes the data to the model's input");
  }
}

std::vector<std::string> recorded_data_warnings(const nn::ModelPair& pair, const DataInput& in) {
  std::vector<std::string> out;
  if (!in.given()) return out;
  for (const auto& [which, recorded] : {std::pair<const char*, const std::string&>{"A", pair.a_data}, {"B", pair.b_data}})
    if (!recorded.empty() && recorded != in.data)
      out.push_back(std::string("model ") + which + " was trained on " + recorded + " (its metadata) but the data is " +
                    in.data + ": its accuracy and the barriers measure another task; choose --data " + recorded);
  return out;
}

std::vector<std::string> recorded_accuracy_warnings(const nn::ModelPair& pair, const DataInput& in,
                                                    const std::string& split, double a_accuracy, double b_accuracy) {
  std::vector<std::string> out;
  if (split != "test" || !in.given()) return out;
  const struct {
    const char* which;
    const std::string &data, &recorded;
    double measured;
  } models[] = {{"A", pair.a_data, pair.a_accuracy, a_accuracy}, {"B", pair.b_data, pair.b_accuracy, b_accuracy}};
  for (const auto& m : models) {
    const std::optional<double> recorded = parse_number(m.recorded);
    if (m.data != in.data || !recorded || !std::isfinite(m.measured) || std::abs(*recorded - m.measured) <= 0.02)
      continue;
    char line[320];
    std::snprintf(line, sizeof line,
                  "model %s: measured test accuracy %.2f%% differs from the %.2f%% recorded when it was trained: "
                  "it is not read as it was trained (check --normalize, --input, --key and the architecture)",
                  m.which, 100 * m.measured, 100 * *recorded);
    out.push_back(line);
  }
  return out;
}

nn::ModelPair load_models(const ModelsInput& in, const nn::ModelIO& io) {
  require(!in.a.empty() && !in.b.empty(), "open model A and model B first");
  return nn::load_model_pair(in.a, in.b, in.arch, io, in.key, in.residual);
}

void check_output_path(const std::string& path, const std::string& flag, bool safetensors) {
  if (path.empty()) return;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  require(std::filesystem::is_directory(dir, ec), flag + ": folder '" + dir.string() + "' does not exist");
  require(!std::filesystem::is_directory(path, ec), flag + ": '" + path + "' is a folder");
  const std::string ext = ".safetensors";
  require(!safetensors || (path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0),
          flag + " must name a .safetensors file, got '" + path + "'");
}

}  // namespace rebasin::jobs
