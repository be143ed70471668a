#include "sink/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <chrono>

namespace sink {

namespace {

// A record is 300-700 bytes of JSON: one write(2) per ~2000 records.
constexpr size_t kBuffer = 1 << 20;

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

}  // namespace

File::File(std::string path, FileOptions opt, OutputStats* stats)
    : path_(std::move(path)), opt_(std::move(opt)), stats_(stats) {}

File::~File() { close(); }

std::string File::part_path(uint64_t part) const {
  std::string p = path_;
  if (opt_.rotate_bytes || opt_.rotate_seconds) {
    // Before the extension, as goreplay numbers its parts.
    const size_t slash = p.rfind('/');
    size_t dot = p.rfind('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) dot = p.size();
    p.insert(dot, "_" + std::to_string(part));
  }
  if (opt_.gzip) p += ".gz";
  return p;
}

bool File::open() {
  if (fd_ >= 0) return true;
  if (opt_.rotate_bytes || opt_.rotate_seconds) {
    // Appending to a directory an earlier run wrote: its parts stay as
    // they are (closed, complete) and this run starts the next one.
    uint64_t n = 0;
    while (exists(part_path(n))) n++;
    part_.store(n, std::memory_order_relaxed);
  }
  return open_part();
}

bool File::open_part() {
  const std::string p = part_path(part_.load(std::memory_order_relaxed));
  // O_APPEND: a file that is still there (reopen without a rename, or the
  // "append" policy) is continued, never truncated.
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  struct stat st;
  const uint64_t size = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? uint64_t(st.st_size) : 0;
  if (opt_.gzip) {
    // zlib owns a duplicate; ours stays open to fsync the part at close,
    // even when logrotate has renamed it meanwhile.
    const int zfd = ::dup(fd);
    gzFile g = zfd >= 0 ? gzdopen(zfd, "ab1") : nullptr;  // a new member after any earlier one
    if (!g) {
      if (zfd >= 0) ::close(zfd);
      ::close(fd);
      return false;
    }
    gzbuffer(g, 1 << 20);
    gz_ = g;
  } else {
    buf_.reserve(kBuffer);
  }
  fd_ = fd;
  on_disk_ = size;
  stats_->parts.fetch_add(1, std::memory_order_relaxed);
  part_bytes_ = size;
  part_records_ = 0;
  opened_ns_ = steady_ns();
  if (!opt_.header.empty() && size == 0 && !put(opt_.header.data(), opt_.header.size()))
    stats_->write_errors.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool File::drain() {
  size_t off = 0;
  while (off < buf_.size()) {
    const ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Disk full, file size limit or I/O error: cut the file back to the
      // last whole record that reached it (a FIFO cannot be cut, and needs
      // not: it has no end to leave), and count the records lost.
      const int e = errno;
      size_t whole = 0, kept = 0;
      while (kept < ends_.size() && ends_[kept] <= off) whole = ends_[kept++];
      if (off > whole) (void)::ftruncate(fd_, off_t(on_disk_ + whole));
      on_disk_ += whole;
      stats_->write_errors.fetch_add(ends_.size() - kept, std::memory_order_relaxed);
      buf_.clear();
      ends_.clear();
      errno = e;
      return false;
    }
    off += size_t(n);
  }
  on_disk_ += buf_.size();
  buf_.clear();
  ends_.clear();
  return true;
}

bool File::put(const void* p, size_t n) {
  part_bytes_ += n;
  if (gz_) return gzwrite(static_cast<gzFile>(gz_), p, unsigned(n)) == int(n);
  if (buf_.size() + n > kBuffer && !drain()) {
    stats_->write_errors.fetch_add(1, std::memory_order_relaxed);  // this record too
    return false;
  }
  buf_.append(static_cast<const char*>(p), n);
  ends_.push_back(buf_.size());
  return buf_.size() < kBuffer || drain();
}

bool File::flush() {
  if (gz_) {
    // A sync flush of nothing still writes an empty block: only when new.
    if (part_bytes_ == flushed_bytes_) return true;
    flushed_bytes_ = part_bytes_;
    return gzflush(static_cast<gzFile>(gz_), Z_SYNC_FLUSH) == Z_OK;
  }
  if (fd_ < 0 || buf_.empty()) return true;
  return drain();
}

bool File::close_part() {
  bool ok = true;
  if (fd_ < 0) return true;
  if (gz_) {
    // gzclose writes the trailer and closes zlib's descriptor.
    ok = gzclose(static_cast<gzFile>(gz_)) == Z_OK;
    gz_ = nullptr;
  } else {
    ok = drain();
  }
  {
    // fsync has nothing to do on a pipe or FIFO (EINVAL): not an error.
    ok &= ::fsync(fd_) == 0 || errno == EINVAL;
    ok &= ::close(fd_) == 0;
    fd_ = -1;
  }
  return ok;
}

void File::write(const std::string& record) {
  if (record.empty()) return;
  const bool full = opt_.rotate_bytes && part_records_ &&
                    part_bytes_ + record.size() > opt_.rotate_bytes;
  const bool old = opt_.rotate_seconds && part_records_ &&
                   steady_ns() - opened_ns_ >= int64_t(opt_.rotate_seconds) * 1000000000;
  if (full || old) {
    if (!close_part()) stats_->write_errors.fetch_add(1, std::memory_order_relaxed);
    part_.fetch_add(1, std::memory_order_relaxed);
    if (!open_part()) {
      stats_->write_errors.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  if (fd_ < 0) {
    stats_->write_errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // A plain file counts what a failed write lost itself (drain()).
  if (!put(record.data(), record.size())) {
    if (gz_) stats_->write_errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  part_records_++;
  stats_->lines.fetch_add(1, std::memory_order_relaxed);
  stats_->bytes.fetch_add(record.size(), std::memory_order_relaxed);
}

bool File::reopen() {
  if (fd_ < 0) return false;
  bool ok = close_part();
  // The part's record count restarts, so an age or size limit does not
  // open an empty part right after a reopen.
  ok &= open_part();
  if (!ok) stats_->write_errors.fetch_add(1, std::memory_order_relaxed);
  stats_->reopens.fetch_add(1, std::memory_order_relaxed);
  return ok;
}

bool File::close() {
  const bool ok = close_part();
  return ok && stats_->write_errors.load() == 0;
}

}  // namespace sink
