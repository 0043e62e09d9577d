// One entry point for every checkpoint format Rebasin Studio reads. The format is recognised
// from the bytes (zip magic, safetensors header), never from the file name.
#pragma once

#include <string>

#include "common/named_tensor.h"

namespace rebasin::io {

struct Checkpoint {
  std::string format;   // "safetensors" | "pytorch" | "torchscript"
  std::string nesting;  // "" or the key the state dict was found under ("state_dict", "model", ...)
  NamedTensors tensors; // in file order, CPU, contiguous
};

// UserError (one line naming the file) for a missing path, a directory, an empty, text,
// truncated or otherwise unreadable file.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace rebasin::io
