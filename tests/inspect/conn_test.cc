// The connection records: one per flow slot, the fingerprints behind each
// only when asked for, no record reaching into its neighbour's, and a
// reset that leaves nothing of the slot's last connection.
#include <gtest/gtest.h>

#include <cstring>

#include "../eal_env.h"
#include "inspect/conn.h"

namespace {

bool all_bytes(const void* p, size_t n, uint8_t v) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; i++)
    if (b[i] != v) return false;
  return true;
}

TEST(Conns, FingerprintsCostOnlyWhenAskedFor) {
  EXPECT_EQ(inspect::Conns::stride(false), sizeof(inspect::Conn));
  EXPECT_EQ(inspect::Conns::stride(true), sizeof(inspect::Conn) + 2 * sizeof(inspect::StreamSide));
  EXPECT_EQ(inspect::Conns::stride(true) % 8, 0u) << "every record and its sides stay 8-aligned";
}

TEST(Conns, ARecordAndItsSidesStayInItsSlot) {
  ASSERT_NE(loomtest::test_pool(), nullptr);
  for (bool sides : {false, true}) {
    inspect::Conns t(4, sides, 950, 0);
    for (uint32_t i = 0; i < 4; i++) EXPECT_TRUE(all_bytes(&t.at(i), inspect::Conns::stride(sides), 0)) << i;
    // Fill slot 1 whole: its record and, with sides, both fingerprints.
    std::memset(static_cast<void*>(&t.at(1)), 0xAB, inspect::Conns::stride(sides));
    EXPECT_TRUE(all_bytes(&t.at(0), inspect::Conns::stride(sides), 0)) << "sides " << sides;
    EXPECT_TRUE(all_bytes(&t.at(2), inspect::Conns::stride(sides), 0)) << "sides " << sides;
    EXPECT_EQ(reinterpret_cast<const uint8_t*>(&t.at(2)) - reinterpret_cast<const uint8_t*>(&t.at(1)),
              ptrdiff_t(inspect::Conns::stride(sides)));
    if (sides) {
      EXPECT_EQ(reinterpret_cast<const uint8_t*>(t.at(1).sides()),
                reinterpret_cast<const uint8_t*>(&t.at(1)) + sizeof(inspect::Conn));
      EXPECT_EQ(t.at(1).sides()[1].loss, 0xABABABABABABABABull);
    }
  }
}

TEST(Conns, ResetLeavesNothingOfTheLastConnection) {
  ASSERT_NE(loomtest::test_pool(), nullptr);
  inspect::Conns t(2, false, 951, 0);
  inspect::Conn& c = t.at(1);
  c.hs[0].next_seq = 1234;
  c.hs[0].seq_known = true;
  c.hs[1].delivered = 99;
  c.hs[1].fin_done = true;
  c.hs[1].ofo_head = 7;
  c.lookback = 42;
  c.http = inspect::Conn::kNoHttp;
  inspect::Conns::reset(c);
  for (int d = 0; d < 2; d++) {
    EXPECT_FALSE(c.hs[d].seq_known);
    EXPECT_FALSE(c.hs[d].fin_done);
    EXPECT_EQ(c.hs[d].delivered, 0u);
    EXPECT_EQ(c.hs[d].ofo_head, reasm::kNil);
    EXPECT_EQ(c.hs[d].next_seq, 0u);
  }
  EXPECT_EQ(c.lookback, 0u) << "nothing of the 4-tuple's last connection waits in the lookback";
  EXPECT_EQ(c.http, 0u) << "a refused connection's successor may ask the HTTP pool again";
}

}  // namespace
