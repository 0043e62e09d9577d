#include "atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <streambuf>
#include <vector>

#include "common/error.h"

namespace rebasin::io {
namespace {

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Forwards a std::ostream to an AtomicFile in 64 KiB chunks, so stream writers need no copy of
// the whole output in memory.
class AtomicBuf : public std::streambuf {
 public:
  explicit AtomicBuf(AtomicFile& f) : file_(f), buf_(1 << 16) { setp(buf_.data(), buf_.data() + buf_.size()); }
  void flush_all() { sync(); }

 protected:
  int_type overflow(int_type ch) override {
    sync();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  int sync() override {
    file_.write(pbase(), static_cast<std::size_t>(pptr() - pbase()));
    setp(buf_.data(), buf_.data() + buf_.size());
    return 0;
  }

 private:
  AtomicFile& file_;
  std::vector<char> buf_;
};

}  // namespace

AtomicFile::AtomicFile(const std::string& path) : path_(path) {
  require(!path.empty(), "cannot write a file with an empty name");
  struct stat st {};
  require(!(::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)),
          "cannot write " + path + ": it is a directory");
  // Same directory as the target, so rename() is atomic (never crosses a file system).
  std::string templ = path + ".tmp-XXXXXX";
  std::vector<char> name(templ.begin(), templ.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  require(fd_ >= 0, "cannot write " + path + ": " + std::strerror(errno));
  temp_ = name.data();
  // mkstemp makes 0600; a new output file gets the usual 0644, a replaced one keeps its mode.
  const mode_t mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
  ::fchmod(fd_, mode);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::fail(const std::string& what) {
  const std::string reason = std::strerror(errno);
  throw UserError("cannot write " + path_ + ": " + what + ": " + reason);
}

void AtomicFile::write(const void* data, std::size_t size) {
  require(fd_ >= 0 && !committed_, "cannot write " + path_ + ": the file is already closed");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write failed");
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void AtomicFile::commit() {
  require(fd_ >= 0 && !committed_, "cannot write " + path_ + ": the file is already closed");
  if (::fsync(fd_) != 0) fail("fsync failed");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("close failed");
  if (::rename(temp_.c_str(), path_.c_str()) != 0) fail("rename failed");
  committed_ = true;
  // The rename itself is durable only once the directory entry is on disk.
  const int dir = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  AtomicFile f(path);
  f.write(bytes.data(), bytes.size());
  f.commit();
}

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& produce) {
  AtomicFile f(path);
  AtomicBuf buf(f);
  std::ostream os(&buf);
  // Without this a failed write inside the stream would be swallowed and a truncated file
  // committed: the ostream rethrows the AtomicFile error instead.
  os.exceptions(std::ios::badbit | std::ios::failbit);
  produce(os);
  os.flush();
  buf.flush_all();
  f.commit();
}

}  // namespace rebasin::io
