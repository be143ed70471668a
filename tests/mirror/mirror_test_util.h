// Frames and helpers shared by the mirror tests: a known inner TCP frame,
// mbuf bytes, an independent IPv4 checksum, a pcap writer and a tshark
// runner.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_mbuf.h>

namespace mirrortest {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = uint8_t(v >> 8);
  b[off + 1] = uint8_t(v);
}

inline uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t* p) { return uint32_t(get16(p)) << 16 | get16(p + 2); }

/* The ones'-complement sum of a header, computed here rather than by DPDK;
 * 0xFFFF when the checksum inside it is right. */
inline uint16_t ones_sum(const uint8_t* p, size_t len) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < len; i += 2) s += get16(p + i);
  if (len & 1) s += uint32_t(p[len - 1]) << 8;
  while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
  return uint16_t(s);
}

/* Ethernet (optionally one 802.1Q tag, VID 100) + IPv4 a -> b + TCP
 * sport -> dport with `payload` bytes of 'x'. Inner checksums are set so
 * tshark shows a clean frame. */
inline Bytes tcp_frame(uint32_t a, uint32_t b, uint16_t sport, uint16_t dport, size_t payload,
                       bool tagged = false) {
  Bytes f = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  if (tagged) f.insert(f.end(), {0x81, 0x00, 0x00, 100});
  f.insert(f.end(), {0x08, 0x00});
  const size_t ip = f.size();
  f.resize(ip + 20 + 20, 0);
  f.resize(ip + 20 + 20 + payload, 'x');
  f[ip] = 0x45;
  put16(f, ip + 2, uint16_t(40 + payload));
  put16(f, ip + 6, 0x4000);
  f[ip + 8] = 64;
  f[ip + 9] = 6;
  for (int i = 0; i < 4; i++) {
    f[ip + 12 + i] = uint8_t(a >> (24 - 8 * i));
    f[ip + 16 + i] = uint8_t(b >> (24 - 8 * i));
  }
  put16(f, ip + 10, uint16_t(~ones_sum(&f[ip], 20)));
  const size_t t = ip + 20;
  put16(f, t, sport);
  put16(f, t + 2, dport);
  f[t + 12] = 0x50;
  f[t + 13] = 0x18;
  put16(f, t + 14, 65535);
  // TCP checksum over the pseudo-header and the segment.
  Bytes ph(f.begin() + long(ip) + 12, f.begin() + long(ip) + 20);
  ph.insert(ph.end(), {0, 6, uint8_t((20 + payload) >> 8), uint8_t(20 + payload)});
  ph.insert(ph.end(), f.begin() + long(t), f.end());
  put16(f, t + 16, uint16_t(~ones_sum(ph.data(), ph.size())));
  return f;
}

inline Bytes bytes_of(const rte_mbuf* m) {
  Bytes b(m->pkt_len);
  const void* p = rte_pktmbuf_read(m, 0, m->pkt_len, b.data());
  if (p != b.data()) memcpy(b.data(), p, m->pkt_len);
  return b;
}

/* Writes frames to a classic pcap file (Ethernet link type). */
inline bool write_pcap(const std::string& path, const std::vector<Bytes>& frames) {
  FILE* f = fopen(path.c_str(), "wb");
  if (!f) return false;
  const uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
  fwrite(gh, sizeof gh, 1, f);
  uint32_t ts = 1700000000;
  for (const Bytes& b : frames) {
    const uint32_t rh[4] = {ts++, 0, uint32_t(b.size()), uint32_t(b.size())};
    fwrite(rh, sizeof rh, 1, f);
    fwrite(b.data(), 1, b.size(), f);
  }
  return fclose(f) == 0;
}

constexpr const char* kTshark = "/usr/bin/tshark";

/* tshark's field output for a capture, one line per frame. */
inline std::vector<std::string> tshark_fields(const std::string& pcap, const std::string& args) {
  const std::string cmd = std::string(kTshark) + " -r " + pcap +
                          " -T fields -E separator=/t " + args + " 2>/dev/null";
  std::vector<std::string> lines;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return lines;
  std::string cur;
  for (int c; (c = fgetc(p)) != EOF;) {
    if (c == '\n') {
      lines.push_back(cur);
      cur.clear();
    } else {
      cur += char(c);
    }
  }
  pclose(p);
  return lines;
}

inline std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "loom_mirror_" + std::to_string(getpid()) + "_" + name;
}

}  // namespace mirrortest
