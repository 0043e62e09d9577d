// Atomic file writes: bytes go to a temp file in the target's directory, are fsynced, then
// renamed over the target. A failed or interrupted write leaves the old file (or nothing), never
// a partial one. Every writer in Rebasin Studio goes through here.
#pragma once

#include <cstddef>
#include <functional>
#include <ostream>
#include <string>

namespace rebasin::io {

class AtomicFile {
 public:
  // Creates the temp file; UserError when the directory is missing or not writable.
  explicit AtomicFile(const std::string& path);
  // Removes the temp file unless commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size);
  // fsync + rename over the target + fsync of the directory. UserError on failure.
  void commit();
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }

 private:
  void fail(const std::string& what);
  std::string path_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

void write_file_atomically(const std::string& path, const std::string& bytes);
// For writers that produce a stream (JSON, CSV): `produce` writes to the stream; an exception
// from it aborts the write and is rethrown.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& produce);

}  // namespace rebasin::io
