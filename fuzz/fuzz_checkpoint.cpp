// libFuzzer target for the checkpoint readers that parse untrusted bytes themselves: safetensors
// and torch.save files (zip directory scan or the legacy pickle chain + unpickler + tensor views). Every input must
// either load or raise rebasin::UserError; any other exception, crash or sanitizer report is a
// bug. TorchScript loading is LibTorch's own code and is not fuzzed here. See fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "io/safetensors.h"
#include "io/torch_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    rebasin::io::parse_safetensors(data, size, "fuzz");
  } catch (const rebasin::UserError&) {
  }
  try {
    rebasin::io::parse_torch_archive(data, size, "fuzz");
  } catch (const rebasin::UserError&) {
  }
  try {
    rebasin::io::parse_legacy_torch(data, size, "fuzz");
  } catch (const rebasin::UserError&) {
  }
  return 0;
}
