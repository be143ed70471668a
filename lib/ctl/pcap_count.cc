#include "ctl/pcap_count.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace ctl {

std::optional<uint64_t> count_pcap_records(const std::string& path, const std::atomic<bool>* stop) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0) return std::nullopt;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  const uint64_t size = uint64_t(st.st_size);
  // Big sequential reads, not mmap(): every page holds a record header or
  // more, so a mapping would fault in the whole file (and count it in
  // Loom's RSS); a read is a copy from the page cache the PMD reads next.
  std::vector<unsigned char> buf(1u << 20);
  size_t have = 0;    // bytes in buf
  uint64_t off = 0;   // file offset of buf[0]
  bool failed = false;  // a read error or a stop: no count, rather than a short one
  auto fill = [&]() {
    if (stop && stop->load(std::memory_order_relaxed)) {
      failed = true;
      return false;
    }
    ssize_t r;
    do {
      r = ::pread(fd, buf.data() + have, buf.size() - have, off_t(off + have));
    } while (r < 0 && errno == EINTR);
    if (r < 0) failed = true;
    if (r > 0) have += size_t(r);
    return r > 0;
  };
  while (have < 24 && fill()) {
  }
  if (have < 24 || failed) {
    ::close(fd);
    return std::nullopt;
  }
  const unsigned char* p = buf.data();
  const uint32_t magic = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
                         uint32_t(p[3]) << 24;
  if (magic != 0xa1b2c3d4u && magic != 0xa1b23c4du && magic != 0xd4c3b2a1u && magic != 0x4d3cb2a1u) {
    ::close(fd);
    return std::nullopt;
  }
  const bool swapped = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
  auto rd32 = [swapped](const unsigned char* q) {
    return swapped ? uint32_t(q[0]) << 24 | uint32_t(q[1]) << 16 | uint32_t(q[2]) << 8 | q[3]
                   : uint32_t(q[0]) | uint32_t(q[1]) << 8 | uint32_t(q[2]) << 16 |
                         uint32_t(q[3]) << 24;
  };
  uint64_t n = 0;
  uint64_t pos = 24;  // file offset of the next record header
  for (;;) {
    // Keep the next header in the buffer: slide it to the front and read on.
    if (pos + 16 > off + have) {
      if (pos < off + have) {
        const size_t keep = size_t(off + have - pos);
        std::copy(buf.begin() + long(pos - off), buf.begin() + long(have), buf.begin());
        have = keep;
      } else {
        have = 0;
      }
      off = pos;
      while (have < 16 && fill()) {
      }
      if (have < 16) break;
    }
    const uint64_t next = pos + 16 + rd32(buf.data() + (pos - off) + 8);
    if (next > size) break;  // a truncated last record: libpcap skips it too
    n++;
    pos = next;
  }
  ::close(fd);
  if (failed) return std::nullopt;
  return n;
}

}  // namespace ctl
