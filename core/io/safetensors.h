// safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then
// the raw little-endian tensor bytes. The reader validates everything before allocating; the
// writer is atomic.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "common/named_tensor.h"

namespace rebasin::io {

struct SafetensorsContents {
  NamedTensors tensors;  // in data order (the order the writer laid them out)
  std::map<std::string, std::string> metadata;
};

// Reads a whole safetensors file. UserError (one line naming the file) for anything malformed.
SafetensorsContents read_safetensors(const std::string& path);

// The same from memory (tests, fuzzing); `label` names the source in error messages.
SafetensorsContents parse_safetensors(const void* data, std::size_t size, const std::string& label);

// Writes tensors (any device, any layout) contiguous and little-endian, atomically. Names must be
// unique and non-empty; dtypes: F16 BF16 F32 F64 I64 I32 I16 I8 U8 BOOL.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// The safetensors dtype code ("F32", "BF16", "I64", ...) of a scalar type; "" if it has none.
std::string dtype_code(at::ScalarType type);

// True when the first bytes look like a safetensors header (length in range, then '{').
bool looks_like_safetensors(const unsigned char* head, std::size_t head_size, std::uint64_t file_size);

}  // namespace rebasin::io
