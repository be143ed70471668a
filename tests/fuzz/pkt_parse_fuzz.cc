// libFuzzer target for the packet parser with decapsulation: every link
// type, tunnel depth and snap-length setting, on a frame whose headers may
// be cut anywhere (the first segment shorter than the frame).
//   byte 0: link type (index into the decoded ones)
//   byte 1: bits 0-2 tunnel depth, bit 3 the capture's snap length is the
//           frame's length, bit 4 the capture has cut records, bit 5 one
//           more VXLAN/GENEVE port (8472 / 6082)
//   byte 2: first-segment length as a fraction of the frame (0: all of it)
//   then the frame.
// Checks: no crash or sanitizer report, and what the stage relies on: the
// offsets a kind promises lie in order within the frame, the payload ends
// within the captured bytes, and the flow key can be made.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "flow/flow.h"
#include "pkt/parse.h"

namespace {

constexpr uint16_t kLinks[] = {0, 1, 9, 12, 14, 50, 101, 104, 108, 113, 228, 229, 276};

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "pkt_parse_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3 || size > 65535 + 3) return 0;
  pkt::Decap d;
  d.link = kLinks[data[0] % (sizeof kLinks / sizeof kLinks[0])];
  d.max_depth = data[1] & 7;
  if (data[1] & 32) {
    d.vxlan_ports[d.n_vxlan++] = 8472;
    d.geneve_ports[d.n_geneve++] = 6082;
  }
  const uint32_t len = uint32_t(size - 3);
  if (data[1] & 8) d.snaplen = len;
  d.cut_records = data[1] & 16;
  const uint32_t seg = data[2] ? uint32_t(uint64_t(len) * data[2] / 255) : len;
  // A buffer of exactly the first segment, so that ASan sees any read
  // past what the caller said is contiguous.
  std::unique_ptr<uint8_t[]> frame(new uint8_t[seg ? seg : 1]);
  std::memcpy(frame.get(), data + 3, seg);
  pkt::Parsed p;
  pkt::Malformed why = pkt::Malformed::kCount;
  const pkt::Kind k = pkt::parse(frame.get(), seg, len, p, &why, d);
  if (k == pkt::Kind::kMalformed && size_t(why) >= pkt::kNumMalformed) fail("malformed without a reason");
  if (p.ip_version != 0 && p.ip_version != 4 && p.ip_version != 6) fail("ip version");
  // The layer refused for depth is counted in depth: one past the limit,
  // and only with that reason.
  if (p.depth > d.max_depth + 1 ||
      (p.depth > d.max_depth && !(k == pkt::Kind::kMalformed && why == pkt::Malformed::tunnel_too_deep)))
    fail("deeper than allowed");
  if (k == pkt::Kind::kTcp) {
    if (!(p.l3_off < p.l4_off && p.l4_off < p.payload_off)) fail("offsets out of order");
    if (p.payload_off > seg) fail("TCP header past the first segment");
    if (uint64_t(p.payload_off) + p.payload_len > len) fail("payload past the captured bytes");
    flow::Key key;
    flow::make_key(p, key);
    pkt::Tally t;
    t.add(k, p, why);
  }
  return 0;
}
