// PyTorch checkpoints in the zip format: torch.save archives (<prefix>/data.pkl + the raw
// storages <prefix>/data/<key>) read with our own safe unpickler; legacy torch.save files
// (PyTorch before 1.6: a chain of pickles, then the raw storages) read by the same unpickler;
// and TorchScript archives
// (torch.jit.save) loaded through LibTorch. The zip's directory is validated before LibTorch's
// reader touches it, so no record size from the file is trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/named_tensor.h"

namespace rebasin::io {

struct ZipRecord {
  std::string name;             // full name inside the zip, e.g. "model/data/0"
  std::uint64_t data_offset = 0;  // where the stored bytes start in the file
  std::uint64_t size = 0;          // bytes in the file (compressed size when compressed)
  bool compressed = false;         // deflated (TorchScript code); never read by us
};

struct StateDict {
  std::string nesting;  // "" (top level), "state_dict", "model", ...: where the tensors were found
  NamedTensors tensors;  // in the dict's order, contiguous copies
  std::vector<std::string> entries;  // when nested: every top-level key of the file (the one taken too)
};

// The records of a zip archive, after checking the central directory (every record lies inside
// the file). UserError otherwise.
std::vector<ZipRecord> list_zip_records(const void* data, std::size_t size, const std::string& label);
std::vector<ZipRecord> list_zip_records(const std::string& path);

// True when the records are a TorchScript archive (code/ or constants.pkl next to data.pkl).
bool is_torchscript(const std::vector<ZipRecord>& records);

// A torch.save archive: finds the state dict (top level, or nested under "state_dict", "model",
// ..., or the only top-level entry that is one; Lightning .ckpt files included) and returns its
// tensors. A non-empty `key` takes the state dict under that top-level key instead ("ema").
StateDict read_torch_archive(const std::string& path, const std::string& key = {});
StateDict parse_torch_archive(const void* data, std::size_t size, const std::string& label,
                              const std::string& key = {});

// True when the bytes start with the legacy format's first pickle (torch.save's magic number).
bool is_legacy_torch(const void* data, std::size_t size);
// A legacy torch.save file (_use_new_zipfile_serialization=False): the same state dict search.
StateDict read_legacy_torch(const std::string& path, const std::string& key = {});
StateDict parse_legacy_torch(const void* data, std::size_t size, const std::string& label,
                             const std::string& key = {});

// A TorchScript archive: its parameters and buffers, module by module (state_dict order).
NamedTensors read_torchscript(const std::string& path);

}  // namespace rebasin::io
