#include "sink/file.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

namespace sink {

namespace {

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
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

bool File::open() { return f_ || open_part(); }

bool File::open_part() {
  const std::string p = part_path(part_.load(std::memory_order_relaxed));
  if (opt_.gzip) {
    gzFile g = gzopen(p.c_str(), "wb1");
    if (g) gzbuffer(g, 1 << 20);
    f_ = g;
  } else {
    // 1 MiB buffer: a record is 300-700 bytes of JSON, so one write(2) per
    // ~2000 records; cut at record ends, so a full disk tears none.
    f_ = plain_.open(p) ? &plain_ : nullptr;
  }
  if (!f_) return false;
  stats_->parts.fetch_add(1, std::memory_order_relaxed);
  part_bytes_ = part_records_ = 0;
  opened_ns_ = steady_ns();
  if (!opt_.header.empty() && !put(opt_.header.data(), opt_.header.size(), false)) {
    stats_->write_errors.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

bool File::put(const void* p, size_t n, bool counted) {
  part_bytes_ += n;
  if (opt_.gzip) return gzwrite(static_cast<gzFile>(f_), p, unsigned(n)) == int(n);
  const uint64_t errors = plain_.write_errors();
  count_lost(plain_.append(p, n, counted));
  return plain_.write_errors() == errors;
}

void File::count_lost(uint64_t n) {
  if (n == 0) return;
  stats_->lines.fetch_sub(n, std::memory_order_relaxed);
  stats_->lost.fetch_add(n, std::memory_order_relaxed);
}

bool File::close_part() {
  if (!f_) return true;
  bool ok;
  if (opt_.gzip) {
    gzFile g = static_cast<gzFile>(f_);
    // gzclose writes the trailer; the data is then in the kernel, so
    // reopen the path to fsync it.
    ok = gzclose(g) == Z_OK;
    const int fd = ::open(part_path(part_.load()).c_str(), O_WRONLY);
    ok &= fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
  } else {
    uint64_t lost = 0;
    ok = plain_.close(&lost);
    count_lost(lost);
  }
  f_ = nullptr;
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
      stats_->lost.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  if (!f_) {
    stats_->write_errors.fetch_add(1, std::memory_order_relaxed);
    stats_->lost.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Counted before put(): a flush inside it may drop this record too.
  stats_->lines.fetch_add(1, std::memory_order_relaxed);
  stats_->bytes.fetch_add(record.size(), std::memory_order_relaxed);
  if (!put(record.data(), record.size())) stats_->write_errors.fetch_add(1, std::memory_order_relaxed);
  part_records_++;
}

bool File::close() {
  const bool ok = close_part();
  // The caller reports errno: make it the earlier write's (ENOSPC, say).
  if (ok && stats_->write_errors.load() && plain_.last_errno()) errno = plain_.last_errno();
  return ok && stats_->write_errors.load() == 0;
}

}  // namespace sink
