#include "data_options.h"

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

}  // namespace rebasin::cli
