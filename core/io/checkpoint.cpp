#include "checkpoint.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "common/error.h"
#include "safetensors.h"
#include "torch_archive.h"

namespace rebasin::io {
namespace {

bool looks_like_text(const unsigned char* p, std::size_t n) {
  return std::all_of(p, p + n, [](unsigned char c) { return c >= 0x20 || c == '\n' || c == '\r' || c == '\t'; });
}

}  // namespace

Checkpoint load_checkpoint(const std::string& path) {
  struct stat st {};
  require(::stat(path.c_str(), &st) == 0, path + ": no such file");
  require(!S_ISDIR(st.st_mode), path + ": is a directory, not a checkpoint file");
  require(S_ISREG(st.st_mode), path + ": not a regular file");
  require(st.st_size > 0, path + ": empty file");

  unsigned char head[64] = {};
  std::ifstream in(path, std::ios::binary);
  require(in.good(), path + ": cannot open file");
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const auto n = static_cast<std::size_t>(in.gcount());
  in.close();

  Checkpoint ck;
  if (n >= 4 && std::memcmp(head, "PK", 2) == 0 && (head[2] == 3 || head[2] == 5)) {
    // The readers validate before LibTorch sees anything; should a hostile file still reach a
    // LibTorch check (TorchScript's own loader is not ours), it stays a one-line user error.
    try {
      if (is_torchscript(list_zip_records(path))) {
        ck.format = "torchscript";
        ck.tensors = read_torchscript(path);
      } else {
        ck.format = "pytorch";
        StateDict sd = read_torch_archive(path);
        ck.nesting = std::move(sd.nesting);
        ck.tensors = std::move(sd.tensors);
      }
    } catch (const c10::Error& e) {
      const std::string what = e.what_without_backtrace();
      throw UserError(path + ": malformed archive (" + what.substr(0, what.find('\n')) + ")");
    }
    return ck;
  }
  // A JSON object right after the 8-byte length: safetensors, even when the length is wrong,
  // so a truncated file gets the reader's precise message.
  if (n >= 9 && head[8] == '{') {
    ck.format = "safetensors";
    ck.tensors = read_safetensors(path).tensors;
    return ck;
  }
  require(!(n >= 2 && head[0] == 0x80 && head[1] <= 5),
          path + ": legacy torch.save format (before PyTorch 1.6) is not supported; re-save it "
                 "with a current PyTorch");
  require(!looks_like_text(head, n), path + ": a text file, not a checkpoint");
  throw UserError(path + ": unrecognised format (expected safetensors, a torch.save .pt/.pth/.ckpt "
                         "archive or TorchScript)");
}

}  // namespace rebasin::io
