#include "ctl/pcap_count.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ctl {

std::optional<uint64_t> count_pcap_records(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st;
  if (::fstat(fd, &st) != 0 || st.st_size < 24) {
    ::close(fd);
    return std::nullopt;
  }
  const size_t size = size_t(st.st_size);
  // mmap, not read(): only the record headers are touched, a few bytes per
  // packet, so the kernel pages in what the walk needs.
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return std::nullopt;
  const auto* p = static_cast<const unsigned char*>(map);
  const uint32_t magic = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
                         uint32_t(p[3]) << 24;
  std::optional<uint64_t> result;
  bool swapped = false;
  if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du || magic == 0xd4c3b2a1u ||
      magic == 0x4d3cb2a1u) {
    swapped = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
    auto rd32 = [swapped](const unsigned char* q) {
      return swapped ? uint32_t(q[0]) << 24 | uint32_t(q[1]) << 16 | uint32_t(q[2]) << 8 | q[3]
                     : uint32_t(q[0]) | uint32_t(q[1]) << 8 | uint32_t(q[2]) << 16 |
                           uint32_t(q[3]) << 24;
    };
    uint64_t n = 0;
    size_t pos = 24;
    while (pos + 16 <= size) {
      const uint64_t next = pos + 16 + uint64_t(rd32(p + pos + 8));
      if (next > size) break;
      n++;
      pos = size_t(next);
    }
    result = n;
  }
  ::munmap(map, size);
  return result;
}

}  // namespace ctl
