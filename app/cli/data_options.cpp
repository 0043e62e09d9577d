#include "data_options.h"

#include <cmath>

#include "common/error.h"

namespace rebasin::cli {

void add_data_options(CLI::App* cmd, DataCliOptions& opts, bool required) {
  auto* d = cmd->add_option("--data", opts.data,
                            "Data set: mnist, fashion-mnist, digits, cifar10:PATH, poly1|poly2|poly3");
  if (required) d->required();
  cmd->add_option("--normalize", opts.normalize,
                  "Normalise inputs as (x - MEAN) / STD after scaling pixels to [0,1], e.g. "
                  "0.1307,0.3081 (must match how the models were trained; default: none)");
  cmd->add_option("--data-dir", opts.data_dir,
                  "Folder holding the installed data sets (default: $REBASIN_DATA_DIR, then the "
                  "places scripts/setup.sh installs to)");
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

}  // namespace rebasin::cli
