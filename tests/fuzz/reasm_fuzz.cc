// libFuzzer target for TCP reassembly: a script of segments, SYNs, FINs,
// ACKs, timer checks and uncaptured ranges over four streams (two
// connections, both directions) that share one worker's memcap and node
// pool, with tiny limits so that holes, pruning, collapsing and reclaiming
// are all reachable.
//   byte 0: limits: bits 0-1 max OFO segments per stream (2, 8, 32, 1024),
//           bits 2-3 memcap (8, 32, 128 KiB, 1 MiB), bit 4 no handshake
//           pickup of one segment, bits 5-7 node pool (8 << n)
//   then 4-byte ops: op (bits 0-2 what: data, data, SYN, FIN, ACK,
//           timers, uncaptured, flush; bits 3-4 which stream; bit 5
//           conflicting bytes; bits 6-7 time step), a 16-bit signed
//           sequence offset from the stream's base (near 2^32, so wrap and
//           old data are reachable), a length byte (0-191 bytes, above
//           that 24-byte steps up to 1536)
// Payload bytes are a function of their sequence number, so delivered
// data can be checked byte by byte: in order, never twice, never made up
// (streams that were sent a conflicting copy skip the check; the first
// copy wins there by policy).
// Checks: no crash or sanitizer report; per-stream bounds hold after every
// op; after flush nothing is held and every mbuf is back in its pool.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "eal_once.h"
#include "reasm/reasm.h"

namespace {

constexpr unsigned kPoolMbufs = 4096;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "reasm_fuzz: %s\n", what);
  std::abort();
}

uint8_t byte_at(uint32_t seq) noexcept { return uint8_t((seq * 2654435761u) >> 24); }

struct Stream {
  reasm::HalfStream h;
  uint32_t base;
  bool tainted = false;    // a conflicting copy was sent: content unchecked
  uint64_t seen = 0;       // bytes the consumer got
  uint64_t gap_seen = 0;
};

struct Ctx {
  Stream s[4];
};

/* Reads what the last call delivered and hands it back. A stream's data
 * spans without a hole between end at its next_seq, so their bytes can be
 * checked against where they belong. */
void consume(reasm::Reassembler& r, Ctx& ctx) {
  uint64_t batch[4] = {}, holes[4] = {};
  for (const reasm::Span& sp : r.delivered()) {
    Stream& st = *static_cast<Stream*>(sp.owner);
    const size_t i = size_t(&st - ctx.s);
    if (sp.hole) {
      st.gap_seen += sp.len;
      holes[i]++;
    } else {
      st.seen += sp.len;
    }
    batch[i] += sp.len;
  }
  uint32_t at[4];
  for (int i = 0; i < 4; i++) at[i] = ctx.s[i].h.next_seq - uint32_t(batch[i]);
  for (const reasm::Span& sp : r.delivered()) {
    Stream& st = *static_cast<Stream*>(sp.owner);
    const size_t i = size_t(&st - ctx.s);
    if (sp.hole || st.tainted || holes[i]) continue;
    reasm::each_piece(sp, [&](const uint8_t* p, uint32_t n) {
      for (uint32_t b = 0; b < n; b++)
        if (p[b] != byte_at(at[i] + b)) fail("delivered a byte that was never sent there");
      at[i] += n;
    });
  }
  r.done();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  rte_mempool* pool = loomfuzz::pool(kPoolMbufs);
  static const uint32_t kSegs[] = {2, 8, 32, 1024};
  static const uint64_t kMem[] = {8 << 10, 32 << 10, 128 << 10, 1 << 20};
  reasm::Limits lim;
  lim.max_ofo_segments = kSegs[data[0] & 3];
  lim.memcap_bytes = kMem[(data[0] >> 2) & 3];
  lim.max_ofo_bytes = 64 << 10;
  lim.gap_timeout_ns = 1000;
  lim.ack_gap_timeout_ns = 100;
  lim.pickup_segments = (data[0] & 16) ? 1 : 4;
  const uint32_t nodes = 8u << ((data[0] >> 5) & 7);
  reasm::Stats stats;
  Ctx ctx;
  for (int i = 0; i < 4; i++) {
    std::memset(static_cast<void*>(&ctx.s[i].h), 0, sizeof ctx.s[i].h);
    ctx.s[i].base = 0xFFFFF000u + uint32_t(i) * 0x10000u;  // near the wrap
  }
  const unsigned avail0 = rte_mempool_avail_count(pool);
  {
    reasm::Reassembler r(lim, nodes, &stats);
    uint64_t now = 1;
    uint8_t buf[2048];
    for (size_t i = 1; i + 4 <= size; i += 4) {
      const uint8_t op = data[i];
      Stream& st = ctx.s[(op >> 3) & 3];
      const int dir = (op >> 3) & 1;
      const uint32_t seq = st.base + uint32_t(int32_t(int16_t(data[i + 1] | data[i + 2] << 8)));
      const uint32_t len = data[i + 3] < 192 ? data[i + 3] : (data[i + 3] - 191u) * 24;  // up to 1536
      now += uint64_t(op >> 6) * 40;
      switch (op & 7) {
        case 0:
        case 1: {  // a data segment (the most common op)
          if (len == 0) break;
          rte_mbuf* m = rte_pktmbuf_alloc(pool);
          if (!m) break;
          const uint32_t hdr = 54;  // the payload sits behind headers, as in a frame
          char* p = rte_pktmbuf_append(m, uint16_t(hdr + len));
          if (!p) {
            rte_pktmbuf_free(m);
            break;
          }
          std::memset(p, 0xEE, hdr);
          const bool conflict = op & 32;
          for (uint32_t b = 0; b < len; b++) buf[b] = uint8_t(byte_at(seq + b) ^ (conflict ? 0x5A : 0));
          std::memcpy(p + hdr, buf, len);
          st.tainted |= conflict;
          r.data(st.h, &st, dir, m, hdr, seq, len, now);
          rte_pktmbuf_free(m);  // ours; the reassembler took its own reference if it holds it
          break;
        }
        case 2: r.syn(st.h, seq); break;
        case 3: r.fin(st.h, &st, dir, seq, now); break;
        case 4: r.ack(st.h, &st, dir, seq, now); break;
        case 5: r.check_timers(st.h, &st, dir, now); break;
        case 6: r.uncaptured(st.h, &st, dir, seq, len); break;
        case 7: r.flush(st.h, &st, dir); break;
      }
      consume(r, ctx);
      if (st.h.ofo_n > lim.max_ofo_segments + lim.pickup_segments) fail("more segments held than allowed");
      if (st.h.ofo_bytes > lim.max_ofo_bytes) fail("more bytes held than allowed");
      if (st.seen != st.h.delivered || st.gap_seen != st.h.gap_bytes) fail("counts differ from what was handed over");
    }
    for (int s = 0; s < 4; s++) {
      r.flush(ctx.s[s].h, &ctx.s[s], s & 1);
      consume(r, ctx);
      if (ctx.s[s].h.ofo_n || ctx.s[s].h.ofo_bytes) fail("flush left data held");
    }
    if (stats.ofo_mbufs_in_use.get() != 0 || stats.ofo_bytes_in_use.get() != 0) fail("gauges not back to 0");
  }
  if (rte_mempool_avail_count(pool) != avail0) fail("an mbuf reference leaked");
  return 0;
}
