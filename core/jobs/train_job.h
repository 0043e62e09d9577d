// The train job: a built-in architecture trained on a data set and saved as safetensors with
// how it was made in its metadata (arch, data, seed, epochs, test metrics, the command). One
// line per epoch goes to the sink as a note, with a progress event.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "common/cancel.h"
#include "common/events.h"
#include "jobs/inputs.h"
#include "jobs/reports.h"
#include "train/train.h"

namespace rebasin::jobs {

struct TrainJobOptions {
  std::string arch;
  DataInput data;
  train::TrainOptions train;  // epochs, batch size, lr, weight decay (seed and device from below)
  std::uint64_t seed = 0;
  std::string device = "auto";
  std::string out;            // required: the trained model (.safetensors)
  std::string command_line;   // recorded in the file's metadata
};

TrainReport run_train(const TrainJobOptions& options, EventSink& sink, const CancelToken* cancel = nullptr);

}  // namespace rebasin::jobs
