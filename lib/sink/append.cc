#include "sink/append.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sink {

namespace {
constexpr uint32_t kCounted = 1u << 31;
}

bool Appender::open(const std::string& path) {
  close();
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return false;
  // A pipe or FIFO holds 64 KiB: its reader gets records at that pace, not
  // a megabyte at a time (and a stalled reader stalls the sink as soon).
  struct stat st;
  if (::fstat(fd_, &st) == 0 && !S_ISREG(st.st_mode)) cap_ = std::min<size_t>(cap_, 64u << 10);
  buf_.reserve(cap_);
  return true;
}

uint64_t Appender::append(const void* p, size_t n, bool counted) {
  uint64_t lost = 0;
  if (!buf_.empty() && buf_.size() + n > cap_) lost = flush();
  buf_.append(static_cast<const char*>(p), n);
  ends_.push_back(uint32_t(buf_.size()) | (counted ? kCounted : 0));
  // A record larger than the whole buffer goes out at once.
  if (buf_.size() >= cap_) lost += flush();
  return lost;
}

uint64_t Appender::flush() {
  if (buf_.empty() || fd_ < 0) return 0;
  size_t done = 0;
  while (done < buf_.size()) {
    const ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
    if (n > 0) {
      done += size_t(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  uint64_t lost = 0;
  if (done < buf_.size()) {
    write_errors_++;
    const int saved = errno;
    last_errno_ = saved;
    // Keep the records that are whole in the file; cut the torn one off.
    size_t whole = 0;
    for (uint32_t e : ends_) {
      const size_t end = e & ~kCounted;
      if (end <= done)
        whole = end;
      else if (e & kCounted)
        lost++;
    }
    if (whole < done) {
      const off_t at = ::lseek(fd_, 0, SEEK_CUR);
      if (at >= 0 && ::ftruncate(fd_, at - off_t(done - whole)) == 0)
        ::lseek(fd_, at - off_t(done - whole), SEEK_SET);
    }
    errno = saved;
  }
  buf_.clear();
  ends_.clear();
  return lost;
}

bool Appender::close(uint64_t* lost) {
  if (fd_ < 0) {
    if (lost) *lost = 0;
    return true;
  }
  const uint64_t errors_before = write_errors_;
  const uint64_t l = flush();
  if (lost) *lost = l;
  bool ok = write_errors_ == errors_before;
  // fsync has nothing to do on a pipe or FIFO (EINVAL): not an error.
  ok &= ::fsync(fd_) == 0 || errno == EINVAL;
  ok &= ::close(fd_) == 0;
  fd_ = -1;
  return ok;
}

}  // namespace sink
