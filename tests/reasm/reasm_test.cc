// Reassembly: segment order x overlap x sequence wrap x caps, checked
// against the byte stream the segments were cut from.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "../eal_env.h"
#include "reasm/reasm.h"

namespace {

using reasm::HalfStream;
using reasm::Limits;
using reasm::Reassembler;

struct Sink {
  std::string bytes;               // what was delivered, in order
  std::vector<uint32_t> gaps;      // gap events, in order
  std::vector<size_t> gap_at;      // delivered length when each gap came
};

// A reassembler whose every call is followed by reading what it delivered
// into a Sink (and handing the list back), as the stage does.
class Fed : public Reassembler {
 public:
  Fed(const Limits& lim, uint32_t nodes, Sink& sink, reasm::Stats* st, uint32_t chunks = 0)
      : Reassembler(lim, nodes, st, chunks), sink_(sink) {}
  void data(HalfStream& h, void* o, int d, rte_mbuf* m, uint32_t off, uint32_t seq, uint32_t len,
            uint64_t t) {
    Reassembler::data(h, o, d, m, off, seq, len, t);
    take();
  }
  void uncaptured(HalfStream& h, void* o, int d, uint32_t seq, uint32_t len) {
    Reassembler::uncaptured(h, o, d, seq, len);
    take();
  }
  void fin(HalfStream& h, void* o, int d, uint32_t seq, uint64_t t) {
    Reassembler::fin(h, o, d, seq, t);
    take();
  }
  void ack(HalfStream& h, void* o, int d, uint32_t a, uint64_t t) {
    Reassembler::ack(h, o, d, a, t);
    take();
  }
  void check_timers(HalfStream& h, void* o, int d, uint64_t t) {
    Reassembler::check_timers(h, o, d, t);
    take();
  }
  void flush(HalfStream& h, void* o, int d) {
    Reassembler::flush(h, o, d);
    take();
  }

 private:
  void take() {
    for (const reasm::Span& sp : delivered()) {
      if (sp.hole) {
        sink_.gaps.push_back(sp.len);
        sink_.gap_at.push_back(sink_.bytes.size());
      } else {
        reasm::each_piece(sp, [&](const uint8_t* p, uint32_t n) {
          sink_.bytes.append(reinterpret_cast<const char*>(p), n);
        });
      }
    }
    done();
  }
  Sink& sink_;
};

std::string stream_of(size_t n, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = char('a' + rng() % 26);
  return s;
}

struct Seg {
  uint32_t off;  // offset in the stream
  uint32_t len;
};

std::vector<Seg> cut(size_t total, uint32_t mss) {
  std::vector<Seg> v;
  for (uint32_t o = 0; o < total; o += mss) v.push_back({o, std::min<uint32_t>(mss, uint32_t(total - o))});
  return v;
}

class ReasmTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(loomtest::test_pool(), nullptr) << "EAL did not start"; }

  // Feeds `segs` of `data` (stream offset 0 == isn + 1) with one mbuf each.
  void feed(Fed& r, HalfStream& h, const std::string& data, const std::vector<Seg>& segs,
            uint32_t isn, uint64_t t0 = 0, uint64_t step = 1000) {
    uint64_t t = t0;
    for (const Seg& s : segs) {
      rte_mbuf* m = loomtest::mbuf_of(reinterpret_cast<const uint8_t*>(data.data()) + s.off,
                                      uint16_t(s.len));
      ASSERT_NE(m, nullptr);
      r.data(h, nullptr, 0, m, 0, isn + 1 + s.off, s.len, t);
      rte_pktmbuf_free(m);  // the reassembler holds its own reference if it keeps it
      t += step;
    }
  }

  unsigned avail() { return rte_mempool_avail_count(loomtest::test_pool()); }
};

enum class Order { kInOrder, kReverse, kShuffled, kAdjacentSwaps };

struct OrderCase {
  const char* name;
  Order order;
  bool duplicates;
  uint32_t isn;
};

class ReasmOrder : public ReasmTest, public ::testing::WithParamInterface<OrderCase> {};

TEST_P(ReasmOrder, DeliversEveryByteOnceInOrder) {
  const OrderCase& c = GetParam();
  const unsigned before = avail();
  reasm::Stats st;
  Sink sink;
  Limits lim;
  Fed r(lim, 4096, sink, &st);
  HalfStream h;
  ASSERT_TRUE(r.syn(h, c.isn));
  const std::string data = stream_of(200000, c.isn);
  auto segs = cut(data.size(), 1448);
  std::mt19937 rng(c.isn);
  switch (c.order) {
    case Order::kInOrder: break;
    case Order::kReverse: std::reverse(segs.begin(), segs.end()); break;
    case Order::kShuffled: std::shuffle(segs.begin(), segs.end(), rng); break;
    case Order::kAdjacentSwaps:
      for (size_t i = 0; i + 1 < segs.size(); i += 3) std::swap(segs[i], segs[i + 1]);
      break;
  }
  if (c.duplicates) {
    auto copy = segs;
    for (size_t i = 0; i < copy.size(); i += 5) segs.insert(segs.begin() + long(std::min(segs.size(), i + 2)), copy[i]);
  }
  feed(r, h, data, segs, c.isn);
  EXPECT_EQ(sink.bytes.size(), data.size());
  EXPECT_TRUE(sink.bytes == data) << "delivered bytes differ from the stream";
  EXPECT_TRUE(sink.gaps.empty());
  EXPECT_EQ(h.delivered, data.size());
  EXPECT_EQ(h.next_seq, c.isn + 1 + uint32_t(data.size()));
  EXPECT_EQ(st.ofo_mbufs_in_use.get(), 0u);
  EXPECT_EQ(st.overlap_conflicts.get(), 0u);
  if (c.duplicates) {
    EXPECT_GT(st.retransmits.get(), 0u);
  }
  if (c.order != Order::kInOrder) {
    EXPECT_GT(st.ofo_queued.get(), 0u);
  }
  EXPECT_EQ(avail(), before) << "mbuf references leaked";
}

INSTANTIATE_TEST_SUITE_P(
    Orders, ReasmOrder,
    ::testing::Values(OrderCase{"in_order", Order::kInOrder, false, 1000},
                      OrderCase{"reverse", Order::kReverse, false, 1000},
                      OrderCase{"shuffled", Order::kShuffled, false, 77},
                      OrderCase{"swaps", Order::kAdjacentSwaps, false, 5},
                      OrderCase{"in_order_dups", Order::kInOrder, true, 9},
                      OrderCase{"shuffled_dups", Order::kShuffled, true, 11},
                      // The stream crosses 2^32 after ~50 KB.
                      OrderCase{"wrap_in_order", Order::kInOrder, false, 0xFFFF0000u},
                      OrderCase{"wrap_shuffled", Order::kShuffled, true, 0xFFFF3000u},
                      OrderCase{"wrap_reverse", Order::kReverse, false, 0xFFFFFFFFu}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(ReasmTest, OverlapFirstCopyWinsAndConflictIsCounted) {
  reasm::Stats st;
  Sink sink;
  Fed r(Limits{}, 64, sink, &st);
  HalfStream h;
  r.syn(h, 100);
  std::string data = stream_of(3000);
  std::string other = data;
  for (size_t i = 1500; i < 2000; i++) other[i] = 'Z';
  // Held out of order first: [1000, 2000) original bytes.
  feed(r, h, data, {{1000, 1000}}, 100);
  // A different copy overlapping it: [1500, 2500) with changed bytes in
  // [1500, 2000) and new bytes [2000, 2500).
  feed(r, h, other, {{1500, 1000}}, 100);
  feed(r, h, data, {{0, 1000}}, 100);
  EXPECT_EQ(st.overlap_conflicts.get(), 1u);
  EXPECT_EQ(sink.bytes, data.substr(0, 2500)) << "the first copy must win";
  // An overlap with identical bytes is not a conflict.
  feed(r, h, data, {{2600, 200}}, 100);
  feed(r, h, data, {{2600, 300}}, 100);
  EXPECT_EQ(st.overlap_conflicts.get(), 1u);
}

TEST_F(ReasmTest, SegmentCapDeclaresHoleWithoutZeroFill) {
  reasm::Stats st;
  Sink sink;
  Limits lim;
  lim.max_ofo_segments = 4;
  Fed r(lim, 64, sink, &st);
  HalfStream h;
  r.syn(h, 5000);
  // Segments too large to collapse into a shared chunk: one node each.
  const std::string data = stream_of(20 * 600);
  auto segs = cut(data.size(), 600);
  // Segment 0 never arrives; 1..19 do.
  std::vector<Seg> tail(segs.begin() + 1, segs.end());
  feed(r, h, data, tail, 5000);
  ASSERT_EQ(sink.gaps.size(), 1u);
  EXPECT_EQ(sink.gaps[0], 600u);
  EXPECT_EQ(sink.gap_at[0], 0u);
  EXPECT_EQ(sink.bytes, data.substr(600)) << "bytes after the hole, none invented";
  EXPECT_EQ(h.gap_bytes, 600u);
  EXPECT_GT(st.ofo_pruned.get(), 0u);
  // The late original is old news now.
  feed(r, h, data, {segs[0]}, 5000);
  EXPECT_EQ(sink.bytes.size(), data.size() - 600);
}

TEST_F(ReasmTest, ByteCapDeclaresHole) {
  reasm::Stats st;
  Sink sink;
  Limits lim;
  lim.max_ofo_bytes = 1500;
  Fed r(lim, 64, sink, &st);
  HalfStream h;
  r.syn(h, 0);
  const std::string data = stream_of(1000 * 10);
  auto segs = cut(data.size(), 1000);
  feed(r, h, data, {segs[1], segs[2]}, 0);  // 2000 bytes > 1500: hole declared
  ASSERT_EQ(sink.gaps.size(), 1u);
  EXPECT_EQ(sink.gaps[0], 1000u);
  EXPECT_EQ(sink.bytes, data.substr(1000, 2000));
}

TEST_F(ReasmTest, HoleTimesOutOnPacketTime) {
  reasm::Stats st;
  Sink sink;
  Limits lim;
  lim.gap_timeout_ns = 1'000'000;  // 1 ms
  Fed r(lim, 64, sink, &st);
  HalfStream h;
  r.syn(h, 0);
  const std::string data = stream_of(500);
  auto segs = cut(data.size(), 100);
  feed(r, h, data, {segs[2]}, 0, 0);
  EXPECT_TRUE(sink.gaps.empty());
  feed(r, h, data, {segs[3]}, 0, 500'000);       // 0.5 ms later: still waiting
  EXPECT_TRUE(sink.gaps.empty());
  feed(r, h, data, {segs[4]}, 0, 2'000'000);     // 2 ms: the hole is declared
  ASSERT_EQ(sink.gaps.size(), 1u);
  EXPECT_EQ(sink.gaps[0], 200u);
  EXPECT_EQ(sink.bytes, data.substr(200));
}

TEST_F(ReasmTest, AckBeyondHoleDeclaresItOnlyAfterTheDelay) {
  reasm::Stats st;
  Sink sink;
  Limits lim;
  lim.ack_gap_timeout_ns = 5'000'000;
  Fed r(lim, 64, sink, &st);
  HalfStream h;
  r.syn(h, 0);
  const std::string data = stream_of(300);
  auto segs = cut(data.size(), 100);
  feed(r, h, data, {segs[0]}, 0);
  // The peer acknowledges all 300 bytes: 200 were never seen (tap loss).
  r.ack(h, nullptr, 0, 301, 1'000'000);
  EXPECT_TRUE(sink.gaps.empty()) << "one ACK is not proof: it may overtake its data";
  // The data shows up after all, within the delay: no gap.
  feed(r, h, data, {segs[1]}, 0, 2'000'000);
  r.ack(h, nullptr, 0, 301, 3'000'000);
  EXPECT_TRUE(sink.gaps.empty());
  r.ack(h, nullptr, 0, 301, 9'000'000);
  ASSERT_EQ(sink.gaps.size(), 1u);
  EXPECT_EQ(sink.gaps[0], 100u);
  EXPECT_EQ(h.next_seq, 301u);
}

TEST_F(ReasmTest, FinBeforeMissingDataWaitsForIt) {
  reasm::Stats st;
  Sink sink;
  Fed r(Limits{}, 64, sink, &st);
  HalfStream h;
  r.syn(h, 10);
  const std::string data = stream_of(300);
  auto segs = cut(data.size(), 100);
  feed(r, h, data, {segs[0], segs[2]}, 10);
  r.fin(h, nullptr, 0, 11 + 300, 0);
  EXPECT_FALSE(h.fin_done);
  feed(r, h, data, {segs[1]}, 10);
  EXPECT_TRUE(h.fin_done);
  EXPECT_EQ(sink.bytes, data);
  // Bytes past the FIN are not part of the stream.
  const std::string more = stream_of(50, 3);
  feed(r, h, more, {{0, 50}}, 10 + 300);
  EXPECT_EQ(sink.bytes, data);
}

TEST_F(ReasmTest, MidStreamPickupStartsAtLowestHeldSegment) {
  reasm::Stats st;
  Sink sink;
  Limits lim;
  lim.pickup_segments = 8;
  Fed r(lim, 64, sink, &st);
  HalfStream h;  // no SYN
  const std::string data = stream_of(1000);
  auto segs = cut(data.size(), 100);
  // Capture order: 3, 4, 1, 2, 5, 6, 7, 8 (segment 0 never captured).
  std::vector<Seg> order = {segs[3], segs[4], segs[1], segs[2], segs[5], segs[6], segs[7], segs[8]};
  feed(r, h, data, order, 7777);
  EXPECT_EQ(sink.bytes, data.substr(100, 800));
  EXPECT_TRUE(sink.gaps.empty()) << "the stream starts at the first captured byte";
  feed(r, h, data, {segs[9]}, 7777);
  EXPECT_EQ(sink.bytes, data.substr(100));
}

TEST_F(ReasmTest, FlushDeliversEverythingHeldAndDeclaresHoles) {
  const unsigned before = avail();
  reasm::Stats st;
  Sink sink;
  {
    Fed r(Limits{}, 64, sink, &st);
    HalfStream h;
    r.syn(h, 0);
    const std::string data = stream_of(1000);
    auto segs = cut(data.size(), 100);
    feed(r, h, data, {segs[2], segs[5], segs[6]}, 0);
    r.flush(h, nullptr, 0);
    EXPECT_EQ(sink.gaps, (std::vector<uint32_t>{200, 200}));
    EXPECT_EQ(sink.bytes, data.substr(200, 100) + data.substr(500, 200));
    EXPECT_EQ(st.ofo_mbufs_in_use.get(), 0u);
  }
  EXPECT_EQ(avail(), before);
}

// Memcap pressure: 100k out-of-order segments over 2000 streams. Memory
// held never exceeds the cap, what does not fit is counted, every byte held
// is delivered at flush, and every mbuf comes back.
TEST_F(ReasmTest, MemcapPressureStaysWithinCap) {
  const unsigned before = avail();
  reasm::Stats st;
  Sink sink;
  Limits lim;
  lim.memcap_bytes = 4u << 20;  // ~1900 mbufs of 2176 bytes
  const size_t kStreams = 2000, kSegs = 50;
  std::vector<HalfStream> hs(kStreams);
  uint64_t max_mem = 0;
  {
    Fed r(lim, 1u << 17, sink, &st);
    const std::string data = stream_of(kSegs * 100 + 100);
    for (size_t i = 0; i < kStreams; i++) r.syn(hs[i], uint32_t(i * 1000003));
    // Segment 0 of every stream is missing; 1..50 arrive interleaved.
    for (size_t k = 1; k <= kSegs; k++) {
      for (size_t i = 0; i < kStreams; i++) {
        rte_mbuf* m = loomtest::mbuf_of(reinterpret_cast<const uint8_t*>(data.data()) + k * 100, 100);
        ASSERT_NE(m, nullptr);
        r.data(hs[i], nullptr, 0, m, 0, uint32_t(i * 1000003) + 1 + uint32_t(k * 100), 100, k);
        rte_pktmbuf_free(m);
        max_mem = std::max(max_mem, st.ofo_mem_in_use.get());
      }
    }
    EXPECT_LE(max_mem, lim.memcap_bytes);
    EXPECT_GT(st.memcap_hits.get(), 0u);
    EXPECT_GT(st.gaps.get(), 0u);
    for (auto& h : hs) r.flush(h, nullptr, 0);
    EXPECT_EQ(st.ofo_mbufs_in_use.get(), 0u);
    EXPECT_EQ(st.ofo_mem_in_use.get(), 0u);
    // Every segment was either delivered or counted as dropped: nothing
    // vanished silently, and the missing first segment of each stream is a
    // declared gap.
    uint64_t delivered = 0, gap_bytes = 0;
    for (auto& h : hs) {
      delivered += h.delivered;
      gap_bytes += h.gap_bytes;
      EXPECT_LE(h.delivered + h.gap_bytes, (kSegs + 1) * 100);
    }
    EXPECT_EQ(delivered, (uint64_t(kStreams) * kSegs - st.ofo_dropped.get()) * 100);
    EXPECT_GE(gap_bytes, uint64_t(kStreams) * 100);
  }
  EXPECT_EQ(avail(), before) << "mbuf references leaked";
}

// Tiny segments in reverse order (2,000 of one byte, then the first): the
// node limit counts held runs, not segments, so nothing is declared lost
// and every byte arrives, none counted as a retransmission.
TEST_F(ReasmTest, TinySegmentsInReverseCollapseAndAllArrive) {
  const unsigned before = avail();
  reasm::Stats st;
  Sink sink;
  Limits lim;  // 1024 nodes per direction
  {
    Fed r(lim, 4096, sink, &st);
    HalfStream h;
    r.syn(h, 77);
    const std::string data = stream_of(2001);
    std::vector<Seg> segs;
    for (uint32_t o = 2000; o >= 1; o--) segs.push_back({o, 1});
    segs.push_back({0, 1});
    feed(r, h, data, segs, 77);
    EXPECT_EQ(sink.bytes, data);
    EXPECT_TRUE(sink.gaps.empty());
    EXPECT_EQ(st.retransmits.get(), 0u);
    EXPECT_GT(st.ofo_collapsed.get(), 1900u);
    EXPECT_EQ(st.ofo_mem_in_use.get(), 0u);
    EXPECT_EQ(st.ofo_mem_peak.get(), uint64_t(Reassembler::kChunk)) << "2,000 bytes held in one chunk";
  }
  EXPECT_EQ(avail(), before);
}

// One stream seen without a handshake holds many tiny segments past a hole;
// a well-behaved stream that arrives later still gets its out-of-order data
// held: the memcap is reclaimed from the older, unhandshaken stream first.
TEST_F(ReasmTest, MemcapReclaimsOldestUnhandshakenStreamFirst) {
  const unsigned before = avail();
  reasm::Stats st;
  Sink sink;
  Limits lim;
  lim.memcap_bytes = 64 * Reassembler::kChunk;
  lim.pickup_segments = 1u << 30;  // keep picking up: hold everything
  {
    Fed r(lim, 1u << 16, sink, &st);
    HalfStream flood, good;
    const std::string junk = stream_of(200000, 3);
    // 31,000 one-byte segments, every other byte, no SYN.
    for (uint32_t i = 0; i < 31000; i++) {
      rte_mbuf* m = loomtest::mbuf_of(reinterpret_cast<const uint8_t*>(junk.data()) + 2 * i, 1);
      r.data(flood, nullptr, 1, m, 0, 1000 + 2 * i, 1, i);
      rte_pktmbuf_free(m);
    }
    EXPECT_LE(st.ofo_mem_in_use.get(), lim.memcap_bytes);
    r.syn(good, 5);
    const std::string data = stream_of(30 * 1000, 4);
    auto segs = cut(data.size(), 1000);
    std::rotate(segs.begin(), segs.begin() + 1, segs.end());  // first segment last
    const uint64_t reclaimed0 = st.ofo_reclaimed.get();
    feed(r, good, data, segs, 5, 40000);
    EXPECT_EQ(good.gaps, 0u) << "the handshaken stream kept its held data";
    EXPECT_EQ(good.delivered, data.size());
    EXPECT_GT(st.ofo_reclaimed.get(), reclaimed0);
    r.flush(flood, nullptr, 1);
    r.flush(good, nullptr, 0);
    EXPECT_EQ(st.ofo_mem_in_use.get(), 0u);
  }
  EXPECT_EQ(avail(), before);
}

// A hole the receiver acknowledged is capture loss; one it did not is not.
TEST_F(ReasmTest, AckedHoleIsCaptureLoss) {
  reasm::Stats st;
  Sink sink;
  Limits lim;
  Fed r(lim, 64, sink, &st);
  HalfStream h;
  r.syn(h, 0);
  const std::string data = stream_of(3000);
  feed(r, h, data, {{1000, 1000}}, 0);
  r.ack(h, nullptr, 0, 1 + 500, 1);  // the receiver has the first 500 bytes
  r.flush(h, nullptr, 0);
  EXPECT_EQ(h.gap_bytes, 1000u);
  EXPECT_EQ(st.capture_loss_bytes.get(), 500u);
}

// An in-order copy that differs from bytes already held is a conflict.
TEST_F(ReasmTest, InOrderCopyDifferingFromHeldBytesIsAConflict) {
  reasm::Stats st;
  Sink sink;
  Fed r(Limits{}, 64, sink, &st);
  HalfStream h;
  r.syn(h, 0);
  std::string a = stream_of(2000), b = a;
  b[1500] ^= 1;
  feed(r, h, a, {{1000, 1000}}, 0);  // held
  feed(r, h, b, {{0, 2000}}, 0);     // in order, overlapping it, one byte off
  EXPECT_EQ(st.overlap_conflicts.get(), 1u);
  EXPECT_EQ(sink.bytes, b);
}

// Data past a FIN that no ACK confirms is held only while there is room:
// past the direction's limits it gives way (dropped, counted), it never
// makes the reassembler spin; and a held piece never joins bytes before
// the FIN.
TEST_F(ReasmTest, UnacknowledgedDataPastAFinIsBoundedAndNeverJoinsTheStream) {
  const unsigned before = avail();
  reasm::Stats st;
  Sink sink;
  Limits lim;
  lim.max_ofo_segments = 16;
  {
    Fed r(lim, 4096, sink, &st);
    HalfStream h;
    r.syn(h, 0);
    const std::string data = stream_of(100 + 40 * 600);
    feed(r, h, data, {{0, 100}}, 0);
    r.fin(h, nullptr, 0, 1 + 100, 0);
    ASSERT_TRUE(h.fin_done);
    std::vector<Seg> past;
    for (uint32_t k = 0; k < 40; k++) past.push_back({100 + k * 600, 600});
    feed(r, h, data, past, 0);
    EXPECT_EQ(sink.bytes, data.substr(0, 100)) << "nothing past the FIN delivered";
    EXPECT_GT(st.ofo_dropped.get(), 0u);
    EXPECT_LE(h.ofo_n, lim.max_ofo_segments);
    r.flush(h, nullptr, 0);
    EXPECT_EQ(st.ofo_mbufs_in_use.get(), 0u);
    EXPECT_EQ(h.gap_bytes, 0u) << "no hole is declared past the FIN";
  }
  EXPECT_EQ(avail(), before);
}

}  // namespace
