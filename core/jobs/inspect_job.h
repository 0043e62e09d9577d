// The inspect job: a checkpoint's tensors, the architecture that reads it and its permutation
// groups, by one rule for `rebasin info` and the studio's Models dock: the ARCH chosen, else
// the one the file records (falling back to detection when it no longer fits), else a
// TorchScript file's own graph, else --arch auto's detection.
#pragma once

#include <string>

#include "jobs/reports.h"

namespace rebasin::jobs {

struct InspectOptions {
  std::string file, key;
  std::string arch = "auto";  // a built-in ARCH or a TorchScript file of the same model, or auto
};

// UserError for a file that cannot be read, or an ARCH chosen that does not read it.
InspectReport run_inspect(const InspectOptions& options);

}  // namespace rebasin::jobs
