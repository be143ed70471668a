#include "ctl/pcap_count.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "pkt/parse.h"

namespace ctl {

std::string PcapDamage::str(const std::string& path) const {
  return "the capture " + path + " is damaged: record " + std::to_string(record) +
         " (file offset " + std::to_string(offset) + ") claims " + std::to_string(caplen) +
         " captured bytes, over libpcap's limit of " + std::to_string(kPcapMaxCaplen) +
         "; only the " + std::to_string(record - 1) + " record(s) before it can be trusted (cut it "
         "there: editcap -r " + path + " OUT.pcap 1-" + std::to_string(record - 1) + ")";
}

std::optional<uint64_t> count_pcap_records(const std::string& path, const std::atomic<bool>* stop,
                                           PcapDamage* damage) {
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
    const uint32_t caplen = rd32(buf.data() + (pos - off) + 8);
    if (caplen > kPcapMaxCaplen) {
      if (damage) *damage = PcapDamage{true, n + 1, pos, caplen};
      break;
    }
    const uint64_t next = pos + 16 + caplen;
    if (next > size) break;  // a truncated last record: libpcap skips it too
    n++;
    pos = next;
  }
  ::close(fd);
  if (failed) return std::nullopt;
  return n;
}

namespace {

std::string decoded_list() {
  std::string s;
  for (uint32_t lt : {0u, 1u, 9u, 12u, 14u, 50u, 101u, 104u, 108u, 113u, 228u, 229u, 276u}) {
    if (!s.empty()) s += ", ";
    s += std::to_string(lt) + " (" + pkt::link_name(lt) + ")";
  }
  return s;
}

uint32_t checked(const std::string& path, uint32_t lt) {
  if (pkt::link_supported(lt)) return lt;
  throw std::runtime_error("the capture " + path + " has link type " + std::to_string(lt) +
                           ", which Loom does not decode; it decodes " + decoded_list());
}

}  // namespace

uint32_t capture_link_type(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return pkt::kLinkEthernet;
  struct Closer {
    FILE* f;
    ~Closer() { std::fclose(f); }
  } closer{f};
  unsigned char h[24];
  if (std::fread(h, 1, sizeof h, f) != sizeof h) return pkt::kLinkEthernet;
  auto le32 = [](const unsigned char* q) {
    return uint32_t(q[0]) | uint32_t(q[1]) << 8 | uint32_t(q[2]) << 16 | uint32_t(q[3]) << 24;
  };
  const uint32_t magic = le32(h);
  if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du)
    return checked(path, le32(h + 20) & 0xFFFF);  // the upper bits: FCS length, if any
  if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u)
    return checked(path, (uint32_t(h[20]) << 24 | uint32_t(h[21]) << 16 | uint32_t(h[22]) << 8 | h[23]) & 0xFFFF);
  if (magic != 0x0A0D0D0Au) return pkt::kLinkEthernet;
  // pcapng: a sequence of sections, each a Section Header Block whose
  // byte-order magic sets the order of the blocks after it.
  long pos = 0;
  bool swapped = false, any = false;
  uint32_t first = 0;
  for (;;) {
    unsigned char b[16];
    if (std::fseek(f, pos, SEEK_SET) != 0 || std::fread(b, 1, 12, f) != 12) break;
    uint32_t type = le32(b);
    if (type == 0x0A0D0D0Au) {
      const uint32_t bom = le32(b + 8);
      if (bom == 0x1A2B3C4Du) swapped = false;
      else if (bom == 0x4D3C2B1Au) swapped = true;
      else break;
    }
    auto rd = [&](const unsigned char* q) {
      const uint32_t v = le32(q);
      return swapped ? __builtin_bswap32(v) : v;
    };
    const uint32_t len = rd(b + 4);
    if (len < 12 || len % 4) break;  // a damaged file: libpcap stops there too
    if (rd(b) == 1) {  // Interface Description Block: link type, then reserved
      const uint32_t lt = swapped ? uint32_t(b[8]) << 8 | b[9] : uint32_t(b[8]) | uint32_t(b[9]) << 8;
      if (!any) {
        first = lt;
        any = true;
      } else if (lt != first) {
        throw std::runtime_error("the capture " + path + " has interfaces of link types " +
                                 std::to_string(first) + " and " + std::to_string(lt) +
                                 "; libpcap (net_pcap) reads one link type per file: split it, "
                                 "e.g. by interface with tshark -Y frame.interface_id");
      }
    }
    pos += long(len);
  }
  return any ? checked(path, first) : uint32_t(pkt::kLinkEthernet);
}

bool capture_has_cut_records(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  struct Closer {
    FILE* f;
    ~Closer() { std::fclose(f); }
  } closer{f};
  auto le32 = [](const unsigned char* q) {
    return uint32_t(q[0]) | uint32_t(q[1]) << 8 | uint32_t(q[2]) << 16 | uint32_t(q[3]) << 24;
  };
  unsigned char h[24];
  if (std::fread(h, 1, sizeof h, f) != sizeof h) return false;
  const uint32_t magic = le32(h);
  const bool pcap_le = magic == 0xa1b2c3d4u || magic == 0xa1b23c4du;
  const bool pcap_be = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
  constexpr int kRecords = 100000;
  if (pcap_le || pcap_be) {
    auto rd = [&](const unsigned char* q) { return pcap_be ? __builtin_bswap32(le32(q)) : le32(q); };
    unsigned char r[16];
    for (int i = 0; i < kRecords && std::fread(r, 1, 16, f) == 16; i++) {
      const uint32_t incl = rd(r + 8), orig = rd(r + 12);
      if (incl < orig) return true;
      if (incl > (1u << 26) || std::fseek(f, long(incl), SEEK_CUR) != 0) break;
    }
    return false;
  }
  if (magic != 0x0A0D0D0Au) return false;
  long pos = 0;
  bool swapped = false;
  unsigned char b[28];
  for (int i = 0; i < kRecords; i++) {
    if (std::fseek(f, pos, SEEK_SET) != 0 || std::fread(b, 1, 12, f) != 12) break;
    if (le32(b) == 0x0A0D0D0Au) swapped = le32(b + 8) == 0x4D3C2B1Au;
    auto rd = [&](const unsigned char* q) { return swapped ? __builtin_bswap32(le32(q)) : le32(q); };
    const uint32_t len = rd(b + 4);
    if (len < 12 || len % 4) break;
    if (rd(b) == 6 && len >= 32) {  // Enhanced Packet Block: captured, then original length
      if (std::fseek(f, pos, SEEK_SET) != 0 || std::fread(b, 1, 28, f) != 28) break;
      if (rd(b + 20) < rd(b + 24)) return true;
    }
    pos += long(len);
  }
  return false;
}

uint32_t capture_snaplen(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return 0;
  unsigned char h[32];
  const size_t n = std::fread(h, 1, sizeof h, f);
  std::fclose(f);
  auto le32 = [](const unsigned char* q) {
    return uint32_t(q[0]) | uint32_t(q[1]) << 8 | uint32_t(q[2]) << 16 | uint32_t(q[3]) << 24;
  };
  if (n < 24) return 0;
  const uint32_t magic = le32(h);
  if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) return le32(h + 16);
  if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u) return __builtin_bswap32(le32(h + 16));
  if (magic != 0x0A0D0D0Au) return 0;
  // pcapng: the Section Header Block, then (usually) the first Interface
  // Description Block, whose snap length follows its link type.
  FILE* g = std::fopen(path.c_str(), "rb");
  if (!g) return 0;
  unsigned char b[16];
  uint32_t snap = 0;
  const uint32_t bom = le32(h + 8);
  const bool swapped = bom == 0x4D3C2B1Au;
  auto rd = [&](const unsigned char* q) { return swapped ? __builtin_bswap32(le32(q)) : le32(q); };
  const long shb = long(rd(h + 4));
  if (shb >= 28 && std::fseek(g, shb, SEEK_SET) == 0 && std::fread(b, 1, 16, g) == 16 && rd(b) == 1)
    snap = rd(b + 12);
  std::fclose(g);
  return snap;
}

}  // namespace ctl
