// What deriving a TorchScript model's spec found, for `rebasin info` and the studio (no torch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rebasin::nn::graph {

// A group that is not used, and why (the op that pinned it, or the verification that failed).
struct DroppedGroup {
  std::string name;
  std::int64_t size = 0;
  std::vector<std::string> params;  // the tensors it touches
  std::string reason;
};

struct GraphReport {
  std::string file;
  std::vector<std::int64_t> input_shape;  // one sample
  bool token_input = false;               // int64 ids below `vocab` (else float)
  std::int64_t vocab = 0;
  std::vector<DroppedGroup> dropped;
  // Buffers the model never updates (masks, position ids, RoPE frequencies): never permuted,
  // and taken from the archive when a state dict does not carry them.
  std::vector<std::string> constant_buffers;
  double seconds = 0;                     // deriving and verifying the spec
};

}  // namespace rebasin::nn::graph
