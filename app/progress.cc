#include "progress.h"

#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>

#include "core/log.h"

namespace app {

namespace {

std::atomic<bool> g_shown{false};

void put(const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(STDERR_FILENO, s.data() + off, s.size() - off);
    if (n <= 0) return;
    off += size_t(n);
  }
}

void clear_line() {
  if (g_shown.exchange(false)) put("\r\033[K");
}

}  // namespace

std::string progress_text(uint64_t done, uint64_t total, double elapsed_s) {
  const double pps = elapsed_s > 0 ? double(done) / elapsed_s : 0;
  char b[160];
  int n;
  if (total) {
    n = std::snprintf(b, sizeof b, "loom: %" PRIu64 " of %" PRIu64 " records (%.1f%%), ", done, total,
                      100.0 * double(done) / double(total));
  } else {
    n = std::snprintf(b, sizeof b, "loom: %" PRIu64 " records, ", done);
  }
  n += std::snprintf(b + n, sizeof b - size_t(n), "%.2f Mpackets/s", pps / 1e6);
  if (total && done < total && pps > 0)
    std::snprintf(b + n, sizeof b - size_t(n), ", %.1f s left", double(total - done) / pps);
  else if (total && done >= total)
    std::snprintf(b + n, sizeof b - size_t(n), ", done in %.2f s", elapsed_s);
  return b;
}

Progress::Progress(bool on) : on_(on) {
  if (on_) core::set_log_line_hook(clear_line);
}

Progress::~Progress() {
  if (on_) {
    core::set_log_line_hook(nullptr);
    clear_line();
  }
}

void Progress::update(uint64_t done, uint64_t total, double elapsed_s) {
  if (!on_) return;
  put("\r\033[K" + progress_text(done, total, elapsed_s));
  g_shown = true;
}

void Progress::finish(uint64_t done, uint64_t total, double elapsed_s) {
  if (!on_) return;
  put("\r\033[K" + progress_text(done, total, elapsed_s) + "\n");
  g_shown = false;
}

}  // namespace app
