// TCP tracking (lib/tcp) through the inspection stage: forged, stale and
// unauthenticated control packets must not end a connection the
// endpoints went on using, and real ends and reuses must still be seen.
#include <gtest/gtest.h>

#include "../stage_harness.h"

namespace {

using namespace loomtest;

/* NOP, NOP, then TCP-MD5 (kind 19, length 18): 20 bytes of options. */
std::vector<uint8_t> md5_option() {
  std::vector<uint8_t> o(20, 0xAB);
  o[0] = 1, o[1] = 1, o[2] = 19, o[3] = 18;
  return o;
}

class TrackTest : public StageHarness {
 protected:
  // A handshake and one request: client ISN 100, server ISN 500.
  std::vector<std::vector<uint8_t>> opening() {
    return {frame(cli, srv, 100, 0, SYN), frame(srv, cli, 500, 101, SYN | ACK),
            frame(cli, srv, 101, 501, ACK), frame(cli, srv, 101, 501, PSH | ACK, "GET /a HTTP/1.1\r\n\r\n")};
  }
  // What follows on the same connection: a second request and the close.
  std::vector<std::vector<uint8_t>> later() {
    return {frame(cli, srv, 120, 501, PSH | ACK, "GET /b HTTP/1.1\r\n\r\n"),
            frame(srv, cli, 501, 139, ACK), frame(cli, srv, 139, 501, FIN | ACK),
            frame(srv, cli, 501, 140, FIN | ACK)};
  }
  // Sends opening + middle + later; returns the client's stream record.
  StreamRecord run(inspect::Stage& st, const std::vector<std::vector<uint8_t>>& middle) {
    auto all = opening();
    all.insert(all.end(), middle.begin(), middle.end());
    const auto rest = later();
    all.insert(all.end(), rest.begin(), rest.end());
    send(st, all);
    auto r = finish(st);
    EXPECT_FALSE(r.empty());
    for (const auto& x : r)
      if (x.c2s) return x;
    return r.empty() ? StreamRecord{} : r[0];
  }
};

TEST_F(TrackTest, BlindRstFarOutsideTheWindowIsIgnored) {
  auto st = make(config());
  const StreamRecord c = run(*st, {frame(srv, cli, 501 + 1000000000u, 0, RST)});
  EXPECT_EQ(c.bytes, 38u) << "the request after the forged RST is in the stream";
  EXPECT_EQ(flow::End(c.end), flow::End::kFin);
  EXPECT_EQ(st->tcp_stats.rst_out_of_window.get(), 1u);
  EXPECT_EQ(st->flow_stats.ended_rst.get(), 0u);
}

TEST_F(TrackTest, InWindowRstIsHeldAndClearedByLaterData) {
  auto st = make(config());
  const StreamRecord c = run(*st, {frame(srv, cli, 501 + 3000, 0, RST)});
  EXPECT_EQ(c.bytes, 38u);
  EXPECT_EQ(flow::End(c.end), flow::End::kFin);
  EXPECT_EQ(st->tcp_stats.rst_held.get(), 1u);
  EXPECT_EQ(st->tcp_stats.rst_held_then_used.get(), 1u);
}

TEST_F(TrackTest, HeldRstThatNothingContradictsEndsTheConnection) {
  auto st = make(config());
  auto f = opening();
  f.push_back(frame(srv, cli, 501 + 3000, 0, RST));
  f.push_back(frame(cli, srv, 120, 501, ACK));  // a challenge ACK carries no data
  send(*st, f);
  EXPECT_TRUE(records(*st).empty()) << "held, not ended";
  auto r = finish(*st);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(flow::End(r[0].end), flow::End::kRst);
  EXPECT_EQ(st->flow_stats.ended_rst.get(), 1u);
}

TEST_F(TrackTest, ExactRstEndsAtOnce) {
  auto st = make(config());
  auto f = opening();
  f.push_back(frame(srv, cli, 501, 0, RST));
  send(*st, f);
  auto r = records(*st);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(flow::End(r[0].end), flow::End::kRst);
  EXPECT_EQ(st->tcp_stats.rst_accepted.get(), 1u);
}

TEST_F(TrackTest, RstRefusingTheSynEndsIt) {
  auto st = make(config());
  send(*st, {frame(cli, srv, 100, 0, SYN), frame(srv, cli, 0, 101, RST | ACK)});
  EXPECT_EQ(records(*st).size(), 2u);
  EXPECT_EQ(st->tcp_stats.rst_accepted.get(), 1u);
}

TEST_F(TrackTest, RstWithAnUnnegotiatedMd5OptionIsIgnored) {
  auto st = make(config());
  const std::vector<uint8_t> md5 = md5_option();
  const StreamRecord c = run(*st, {frame(srv, cli, 501, 0, RST, "", md5)});
  EXPECT_EQ(c.bytes, 38u);
  EXPECT_EQ(st->tcp_stats.rst_bad_auth.get(), 1u);
  EXPECT_EQ(st->tcp_stats.rst_accepted.get(), 0u);
}

TEST_F(TrackTest, UnsignedRstOnAnMd5ConnectionIsIgnored) {
  auto st = make(config());
  const std::vector<uint8_t> md5 = md5_option();
  std::vector<std::vector<uint8_t>> f = {
      frame(cli, srv, 100, 0, SYN, "", md5), frame(srv, cli, 500, 101, SYN | ACK, "", md5),
      frame(cli, srv, 101, 501, ACK, "", md5), frame(srv, cli, 501, 101, RST),
      frame(cli, srv, 101, 501, PSH | ACK, "GET /a HTTP/1.1\r\n\r\n", md5)};
  send(*st, f);
  auto r = finish(*st);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(st->tcp_stats.rst_missing_auth.get(), 1u);
  EXPECT_EQ(r[0].bytes, 19u);
}

TEST_F(TrackTest, StaleFinIsIgnored) {
  auto st = make(config());
  // A FIN at 110, below the 120 already delivered.
  const StreamRecord c = run(*st, {frame(cli, srv, 110, 501, FIN | ACK)});
  EXPECT_EQ(c.bytes, 38u);
  EXPECT_EQ(st->tcp_stats.fin_stale.get(), 1u);
}

TEST_F(TrackTest, FinFarAheadIsIgnored) {
  auto st = make(config());
  const StreamRecord c = run(*st, {frame(cli, srv, 120 + 500000000u, 501, FIN | ACK)});
  EXPECT_EQ(c.bytes, 38u);
  EXPECT_EQ(c.gaps, 0u);
  EXPECT_EQ(st->tcp_stats.fin_out_of_window.get(), 1u);
}

TEST_F(TrackTest, SynWithANewIsnOnALiveConnectionIsIgnored) {
  auto st = make(config());
  const StreamRecord c = run(*st, {frame(cli, srv, 777777, 0, SYN)});
  EXPECT_EQ(c.bytes, 38u);
  EXPECT_EQ(c.generation, 0u);
  EXPECT_EQ(st->tcp_stats.syn_on_open.get(), 1u);
  EXPECT_EQ(st->flow_stats.reused.get(), 0u);
}

TEST_F(TrackTest, SynAckAcknowledgingTheNewIsnProvesReuse) {
  auto st = make(config());
  auto f = opening();
  f.push_back(frame(cli, srv, 777777, 0, SYN));
  f.push_back(frame(srv, cli, 9000, 777778, SYN | ACK));
  f.push_back(frame(cli, srv, 777778, 9001, PSH | ACK, "GET /new HTTP/1.1\r\n\r\n"));
  send(*st, f);
  auto old = records(*st);
  ASSERT_EQ(old.size(), 2u);
  EXPECT_EQ(old[0].generation, 0u);
  auto r = finish(*st);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].generation, 1u);
  EXPECT_TRUE(r[0].c2s);
  EXPECT_EQ(r[0].bytes, 21u);
  EXPECT_EQ(st->tcp_stats.reuse_synack.get(), 1u);
}

TEST_F(TrackTest, LateDuplicateSynAfterTheCloseOpensNothing) {
  auto st = make(config());
  auto f = opening();
  const auto rest = later();
  f.insert(f.end(), rest.begin(), rest.end());
  f.push_back(frame(cli, srv, 100, 0, SYN));  // the first SYN again
  send(*st, f);
  EXPECT_EQ(records(*st).size(), 2u);
  EXPECT_TRUE(finish(*st).empty()) << "no phantom connection";
  EXPECT_EQ(st->tcp_stats.syn_stale.get(), 1u);
}

TEST_F(TrackTest, SynAckAloneFixesBothStreamsStarts) {
  auto st = make(config());
  // The client's SYN was never captured; its SYN-ACK says where both start.
  send(*st, {frame(srv, cli, 500, 101, SYN | ACK), frame(cli, srv, 101, 501, ACK),
             frame(cli, srv, 101, 501, PSH | ACK, "GET /a HTTP/1.1\r\n\r\n")});
  EXPECT_EQ(st->reasm_stats.in_order.get(), 1u) << "delivered on arrival, not held for pickup";
  auto r = finish(*st);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(r[0].c2s);
  EXPECT_FALSE(r[0].client_inferred);
  EXPECT_EQ(r[0].bytes, 19u);
}

TEST_F(TrackTest, DataPastAForgedFinKeepsTheStream) {
  auto st = make(config());
  // A FIN at exactly the next byte (forged: the client goes on sending).
  const StreamRecord c = run(*st, {frame(cli, srv, 120, 501, FIN | ACK)});
  EXPECT_EQ(c.bytes, 38u) << "the request after the forged FIN is in the stream (the server acked it)";
  EXPECT_EQ(st->reasm_stats.fin_overrun.get(), 1u);
  EXPECT_EQ(flow::End(c.end), flow::End::kFin) << "the real FIN still ends it";
}

TEST_F(TrackTest, RstWithAWrongChecksumIsIgnoredAndARightOneEnds) {
  for (bool right : {false, true}) {
    SCOPED_TRACE(right ? "right checksum" : "wrong checksum");
    auto st = make(config());
    auto rst = frame(srv, cli, 501, 0, RST);
    // TCP checksum over the pseudo-header and the 20-byte header.
    uint8_t* ip = rst.data() + 14;
    uint8_t* t = ip + 20;
    uint32_t sum = 0;
    for (int i = 12; i < 20; i += 2) sum += uint32_t(ip[i] << 8 | ip[i + 1]);
    sum += 6 + 20;
    const uint16_t c = csum(t, 20, sum);
    const uint16_t put = right ? c : uint16_t(c ^ 0x0101);
    t[16] = uint8_t(put >> 8), t[17] = uint8_t(put);
    auto f = opening();
    f.push_back(rst);
    send(*st, f);
    EXPECT_EQ(records(*st).size(), right ? 2u : 0u);
    EXPECT_EQ(st->tcp_stats.bad_checksum.get(), right ? 0u : 1u);
    finish(*st);
  }
}

}  // namespace
