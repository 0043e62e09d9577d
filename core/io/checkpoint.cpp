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

std::string nesting_note(const std::string& path, const Checkpoint& ck) {
  if (ck.nesting.empty()) return {};
  std::string others;
  std::size_t n = 0;
  for (const std::string& e : ck.entries) {
    if (e == ck.nesting) continue;
    if (++n > 8) {
      others += ", ...";
      break;
    }
    others += (others.empty() ? "" : ", ") + e;
  }
  return path + ": took the state dict under '" + ck.nesting + "'" +
         (others.empty() ? std::string() : " (the file also holds " + others + "; --key NAME takes another)");
}

Checkpoint load_checkpoint(const std::string& path, const std::string& key) {
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
        require(key.empty(), path + ": --key applies to torch.save files; this is a TorchScript archive");
        ck.format = "torchscript";
        ck.tensors = read_torchscript(path);
      } else {
        ck.format = "pytorch";
        StateDict sd = read_torch_archive(path, key);
        ck.nesting = std::move(sd.nesting);
        ck.tensors = std::move(sd.tensors);
        ck.entries = std::move(sd.entries);
      }
    } catch (const c10::Error& e) {
      const std::string what = e.what_without_backtrace();
      throw UserError(path + ": malformed archive (" + what.substr(0, what.find('\n')) + ")");
    }
    return ck;
  }
  require(key.empty() || (n >= 2 && head[0] == 0x80),
          path + ": --key applies to torch.save files; this one holds a single state dict");
  // A JSON object right after the 8-byte length: safetensors, even when the length is wrong,
  // so a truncated file gets the reader's precise message.
  if (n >= 9 && head[8] == '{') {
    ck.format = "safetensors";
    SafetensorsContents contents = read_safetensors(path);
    ck.tensors = std::move(contents.tensors);
    ck.metadata = std::move(contents.metadata);
    return ck;
  }
  if (n >= 2 && head[0] == 0x80 && head[1] <= 5) {
    // A pickle: the legacy torch.save format (before PyTorch 1.6), or a pickle that is not one.
    require(is_legacy_torch(head, n), path + ": a Python pickle without torch.save's magic number, not a checkpoint");
    ck.format = "pytorch";
    StateDict sd = read_legacy_torch(path, key);
    ck.nesting = std::move(sd.nesting);
    ck.tensors = std::move(sd.tensors);
    ck.entries = std::move(sd.entries);
    return ck;
  }
  require(!looks_like_text(head, n), path + ": a text file, not a checkpoint");
  throw UserError(path + ": unrecognised format (expected safetensors, a torch.save .pt/.pth/.ckpt "
                         "archive or TorchScript)");
}

}  // namespace rebasin::io
