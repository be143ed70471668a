// Crafted TCP frames and an inspection stage to send them through: what
// the stage and TCP-tracking tests share.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "eal_env.h"
#include "inspect/stage.h"

namespace loomtest {

using inspect::StreamRecord;

constexpr uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

struct Ep {
  uint32_t ip;
  uint16_t port;
};

inline uint16_t csum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += uint32_t(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return uint16_t(~sum);
}

/* An Ethernet/IPv4/TCP frame; `opts` (a multiple of 4 bytes) are TCP
 * options. */
inline std::vector<uint8_t> frame(Ep s, Ep d, uint32_t seq, uint32_t ack, uint8_t flags,
                                  const std::string& payload = "",
                                  const std::vector<uint8_t>& opts = {}) {
  const size_t th = 20 + opts.size();
  std::vector<uint8_t> f(14 + 20 + th + payload.size(), 0);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  const uint16_t tot = uint16_t(20 + th + payload.size());
  ip[2] = uint8_t(tot >> 8), ip[3] = uint8_t(tot);
  ip[8] = 64, ip[9] = 6;
  for (int i = 0; i < 4; i++) {
    ip[12 + i] = uint8_t(s.ip >> (24 - 8 * i));
    ip[16 + i] = uint8_t(d.ip >> (24 - 8 * i));
  }
  const uint16_t c = csum(ip, 20);
  ip[10] = uint8_t(c >> 8), ip[11] = uint8_t(c);
  uint8_t* t = ip + 20;
  t[0] = uint8_t(s.port >> 8), t[1] = uint8_t(s.port);
  t[2] = uint8_t(d.port >> 8), t[3] = uint8_t(d.port);
  for (int i = 0; i < 4; i++) {
    t[4 + i] = uint8_t(seq >> (24 - 8 * i));
    t[8 + i] = uint8_t(ack >> (24 - 8 * i));
  }
  t[12] = uint8_t((th / 4) << 4);
  t[13] = flags;
  t[14] = 0xFF, t[15] = 0xFF;
  if (!opts.empty()) std::memcpy(t + 20, opts.data(), opts.size());
  std::copy(payload.begin(), payload.end(), t + th);
  return f;
}

class StageHarness : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(loomtest::test_pool(), nullptr); }

  inspect::Config config(uint32_t max_flows = 1024) {
    inspect::Config c;
    c.table.max_flows = max_flows;
    c.ofo_nodes = 4096;
    c.record_ring = 4096;
    c.idle_sweep = false;
    return c;
  }

  std::unique_ptr<inspect::Stage> make(const inspect::Config& c) {
    static unsigned n = 100;  // rte_hash/ring names must be unique
    return std::make_unique<inspect::Stage>(c, n++, 0, std::vector<inspect::PortRss>{});
  }

  void send(inspect::Stage& st, const std::vector<std::vector<uint8_t>>& frames) {
    std::vector<rte_mbuf*> ms;
    for (const auto& f : frames) {
      rte_mbuf* m = loomtest::mbuf_of(f.data(), uint16_t(f.size()));
      ASSERT_NE(m, nullptr);
      ms.push_back(m);
    }
    core::WorkerCtx w;
    core::RxQueue q;
    for (size_t i = 0; i < ms.size(); i += core::kBurst) {
      const uint16_t n = uint16_t(std::min<size_t>(core::kBurst, ms.size() - i));
      // No steering or drop rules here: every frame comes back.
      ASSERT_EQ(inspect::Stage::burst_hook(&st, w, q, ms.data() + i, n), n);
    }
    for (rte_mbuf* m : ms) rte_pktmbuf_free(m);  // the stage holds its own references
  }

  std::vector<StreamRecord> records(inspect::Stage& st) {
    std::vector<StreamRecord> out;
    void* obj;
    while (rte_ring_sc_dequeue(st.ring(), &obj) == 0) {
      out.push_back(*static_cast<StreamRecord*>(obj));
      rte_mempool_put(st.record_pool(), obj);
    }
    return out;
  }

  std::vector<StreamRecord> finish(inspect::Stage& st) {
    st.finish(flow::End::kCaptureEnd, nullptr, nullptr);
    return records(st);
  }

  const Ep cli{0xC6120102, 40000}, srv{0xC6120202, 80};
};


}  // namespace loomtest
