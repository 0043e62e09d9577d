// One entry point for every checkpoint format Rebasin Studio reads. The format is recognised
// from the bytes (zip magic, safetensors header), never from the file name.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/named_tensor.h"

namespace rebasin::io {

struct Checkpoint {
  std::string format;   // "safetensors" | "pytorch" (zip or legacy torch.save) | "torchscript"
  std::string nesting;  // "" or the key the state dict was found under ("state_dict", "model", ...)
  NamedTensors tensors; // in file order, CPU, contiguous
  std::vector<std::string> entries;  // when nested: the file's top-level keys (incl. `nesting`)
  std::map<std::string, std::string> metadata;  // safetensors' __metadata__ (e.g. the ARCH rebasin train wrote)
};

// UserError (one line naming the file) for a missing path, a directory, an empty, text,
// truncated or otherwise unreadable file, and for a pickle naming a Python global outside the
// unpickler's allowed set. `key` (torch.save files only) takes the state dict under that
// top-level key instead of the one found by default ("ema" beside "model").
Checkpoint load_checkpoint(const std::string& path, const std::string& key = {});

// One line saying which entry of a nested checkpoint was taken and what else the file holds;
// "" when the state dict is the file's top level.
std::string nesting_note(const std::string& path, const Checkpoint& ck);

}  // namespace rebasin::io
