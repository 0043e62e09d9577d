// Ordinary supervised training of a built-in architecture (`rebasin train`): the models that
// re-basin then aligns. Deterministic for a seed (initialisation and batch order).
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/named_tensor.h"
#include "data/dataset.h"
#include "eval/evaluate.h"
#include "nn/architecture.h"

namespace rebasin::train {

struct TrainOptions {
  int epochs = 5;
  std::int64_t batch_size = 128;
  double lr = 1e-3;  // AdamW
  double weight_decay = 0.0;
  std::uint64_t seed = 0;
  c10::Device device = c10::Device(c10::kCPU);
};

struct EpochReport {
  int epoch = 0, epochs = 0;
  double train_loss = 0;  // mean over the epoch's batches
  eval::Metrics test;
  double seconds = 0;      // elapsed since the start
  double eta_seconds = 0;  // estimated time left
};

struct TrainResult {
  NamedTensors params;
  std::vector<EpochReport> epochs;
  eval::Metrics test;
  double seconds = 0;
};

// Throws UserError unless the set's inputs and classes fit the architecture.
void check_data_fits(const nn::Architecture& arch, const data::Dataset& set);

// Trains from arch.init(seed). on_epoch runs after each epoch; cancel is checked every batch
// (throws Cancelled). Throws UserError when the data does not fit the model.
TrainResult train(const nn::Architecture& arch, const data::Splits& data, const TrainOptions& options,
                  const std::function<void(const EpochReport&)>& on_epoch = {},
                  const CancelToken* cancel = nullptr);

}  // namespace rebasin::train
