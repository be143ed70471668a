/* loom_impair: the impairing step of the soak and fault tests
 * (tests/e2e/soak_ns_test.sh, tests/e2e/faults_ns_test.sh).
 *
 * This machine's kernel has no sch_netem (docs in /work/shared platform
 * notes, "Kernel limits"), so loss and reordering come from this program,
 * run in a namespace of its own between two veths:
 *
 *   relay   forwards every Ethernet frame between two interfaces (AF_PACKET,
 *           both directions). Frames of TCP connections to or from --port
 *           are impaired: --loss-pct of them dropped, --reorder-pct held and
 *           sent after the next frame of the same direction (or after 2 ms),
 *           from a seeded generator, so a run is repeatable. Every other
 *           frame passes untouched and in order. At SIGTERM/SIGINT it writes
 *           its counts (per direction: received, sent, dropped, reordered,
 *           send errors) as JSON to --stats and exits.
 *   blast   sends --count malformed frames as fast as the socket takes them
 *           (one kind after another, from --src-mac to --dst-mac, IPv4
 *           10.99.0.1 -> 10.99.0.2), and writes how many of each kind it
 *           sent to --stats. The kinds are the decoder's malformed reasons
 *           (lib/pkt/counters.def), so the test can expect each count.
 *
 * Counts are exact: a frame the kernel refuses to send (ENOBUFS) is retried,
 * and one that still fails is counted in send_errors, never hidden.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "loom_impair: %s%s%s\n", msg.c_str(), errno ? ": " : "",
               errno ? std::strerror(errno) : "");
  std::exit(2);
}

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

int open_iface(const std::string& name) {
  const unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) die("no interface " + name);
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
  if (fd < 0) die("socket(AF_PACKET)");
  // Without this the socket also reads the frames it sends itself.
  const int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0)
    die("PACKET_IGNORE_OUTGOING");
  const int buf = 8 << 20;  // room for bursts while the other side is slow
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = int(idx);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) die("bind " + name);
  // Frames not addressed to this veth's MAC must reach the socket too.
  packet_mreq mr{};
  mr.mr_ifindex = int(idx);
  mr.mr_type = PACKET_MR_PROMISC;
  setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
  return fd;
}

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

// splitmix64: small, seeded, good enough to pick frames.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // true with probability pct/100 (in hundredths of a percent).
  bool chance(double pct) { return double(next() % 1000000) < pct * 10000.0; }
};

/* Sends one frame; ENOBUFS/EAGAIN (the veth's queue momentarily full) is
 * retried for up to 50 ms. */
bool send_frame(int fd, const uint8_t* p, size_t n) {
  const uint64_t until = now_ns() + 50000000;
  for (;;) {
    if (send(fd, p, n, 0) == ssize_t(n)) return true;
    if ((errno != ENOBUFS && errno != EAGAIN) || now_ns() > until) return false;
    usleep(50);
  }
}

/* The frame's IPv4 TCP connection as one number (addresses and ports as
 * they stand in this direction), 0 when it is not IPv4 TCP. */
uint64_t tcp_key(const uint8_t* p, size_t n, uint16_t* sport, uint16_t* dport) {
  if (n < 14 + 20 || p[12] != 0x08 || p[13] != 0x00) return 0;
  const uint8_t* ip = p + 14;
  const size_t ihl = size_t(ip[0] & 0x0f) * 4;
  if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6 || n < 14 + ihl + 4) return 0;
  const uint8_t* tcp = ip + ihl;
  *sport = uint16_t(tcp[0] << 8 | tcp[1]);
  *dport = uint16_t(tcp[2] << 8 | tcp[3]);
  uint32_t s, d;
  std::memcpy(&s, ip + 12, 4);
  std::memcpy(&d, ip + 16, 4);
  return ((uint64_t(s) * 0x9e3779b1u ^ uint64_t(d) << 17) ^ (uint64_t(*sport) << 32 | *dport)) | 1;
}

struct Dir {
  const char* name;
  int in, out;
  uint64_t rx = 0, tx = 0, dropped = 0, reordered = 0, send_errors = 0, impaired = 0;
  std::vector<uint8_t> held;  // one frame waiting to go out late
  uint64_t held_key = 0;      // its connection: it goes out behind that one's next frame
  uint64_t held_since = 0;
  void out_frame(const uint8_t* p, size_t n) {
    if (send_frame(out, p, n))
      tx++;
    else
      send_errors++;
  }
  void release() {
    if (held.empty()) return;
    out_frame(held.data(), held.size());
    held.clear();
  }
};

std::string arg(int argc, char** argv, const char* key, const char* def = nullptr) {
  for (int i = 2; i + 1 < argc; i++)
    if (std::strcmp(argv[i], key) == 0) return argv[i + 1];
  if (!def) {
    errno = 0;
    die(std::string("missing ") + key);
  }
  return def;
}

void write_file(const std::string& path, const std::string& s) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) die("cannot write " + path);
  std::fputs(s.c_str(), f);
  std::fclose(f);
}

int relay(int argc, char** argv) {
  const std::string a = arg(argc, argv, "--a"), b = arg(argc, argv, "--b");
  const uint16_t port = uint16_t(std::atoi(arg(argc, argv, "--port", "0").c_str()));
  const double loss = std::atof(arg(argc, argv, "--loss-pct", "0").c_str());
  const double reorder = std::atof(arg(argc, argv, "--reorder-pct", "0").c_str());
  Rng rng{uint64_t(std::atoll(arg(argc, argv, "--seed", "1").c_str()))};
  const std::string stats = arg(argc, argv, "--stats");
  const std::string ready = arg(argc, argv, "--ready", "");
  const int fa = open_iface(a), fb = open_iface(b);
  Dir dirs[2] = {{"a_to_b", fa, fb}, {"b_to_a", fb, fa}};
  if (!ready.empty()) write_file(ready, "ready\n");
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  uint8_t buf[16384];
  pollfd pfd[2] = {{fa, POLLIN, 0}, {fb, POLLIN, 0}};
  while (!g_stop) {
    const int r = poll(pfd, 2, 1);
    if (r < 0 && errno != EINTR) die("poll");
    for (int d = 0; d < 2; d++) {
      Dir& dir = dirs[d];
      for (int k = 0; k < 256; k++) {  // bounded, so the other direction gets its turn
        const ssize_t n = recv(dir.in, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) break;
        dir.rx++;
        uint16_t sp = 0, dp = 0;
        const uint64_t key = port ? tcp_key(buf, size_t(n), &sp, &dp) : 0;
        if (key && (sp == port || dp == port)) {
          dir.impaired++;
          if (rng.chance(loss)) {
            dir.dropped++;
            continue;
          }
          if (dir.held.empty() && rng.chance(reorder)) {
            dir.held.assign(buf, buf + n);
            dir.held_key = key;
            dir.held_since = now_ns();
            dir.reordered++;
            continue;
          }
        }
        dir.out_frame(buf, size_t(n));
        if (key == dir.held_key) dir.release();  // behind a later frame of its own connection
      }
      if (!dir.held.empty() && now_ns() - dir.held_since > 2000000) dir.release();
    }
  }
  for (Dir& d : dirs) d.release();
  std::string j = "{";
  for (int d = 0; d < 2; d++) {
    char line[512];
    std::snprintf(line, sizeof line,
                  "%s\"%s\": {\"rx\": %llu, \"tx\": %llu, \"impaired\": %llu, \"dropped\": %llu, "
                  "\"reordered\": %llu, \"send_errors\": %llu}",
                  d ? ", " : "", dirs[d].name, (unsigned long long)dirs[d].rx,
                  (unsigned long long)dirs[d].tx, (unsigned long long)dirs[d].impaired,
                  (unsigned long long)dirs[d].dropped, (unsigned long long)dirs[d].reordered,
                  (unsigned long long)dirs[d].send_errors);
    j += line;
  }
  j += "}\n";
  write_file(stats, j);
  return 0;
}

bool parse_mac(const std::string& s, uint8_t* m) {
  unsigned v[6];
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
    return false;
  for (int i = 0; i < 6; i++) m[i] = uint8_t(v[i]);
  return true;
}

/* One malformed frame per kind, named after the reason Loom counts. */
struct Kind {
  const char* reason;
  std::vector<uint8_t> frame;
};

std::vector<Kind> malformed_kinds(const uint8_t* src, const uint8_t* dst) {
  auto eth = [&](uint16_t type) {
    std::vector<uint8_t> f(dst, dst + 6);
    f.insert(f.end(), src, src + 6);
    f.push_back(uint8_t(type >> 8));
    f.push_back(uint8_t(type));
    return f;
  };
  // A plain IPv4/TCP header pair 10.99.0.1:40000 -> 10.99.0.2:8080.
  auto ipv4_tcp = [&](size_t payload) {
    std::vector<uint8_t> f = eth(0x0800);
    const size_t tot = 20 + 20 + payload;
    const uint8_t ip[20] = {0x45, 0, uint8_t(tot >> 8), uint8_t(tot), 0, 1, 0x40, 0, 64, 6, 0, 0,
                            10, 99, 0, 1, 10, 99, 0, 2};
    f.insert(f.end(), ip, ip + 20);
    const uint8_t tcp[20] = {0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff,
                             0, 0, 0, 0};
    f.insert(f.end(), tcp, tcp + 20);
    f.resize(f.size() + payload, 'x');
    return f;
  };
  std::vector<Kind> k;
  {
    std::vector<uint8_t> f = ipv4_tcp(0);
    f.resize(14 + 10);  // ends inside the IPv4 header
    k.push_back({"truncated_ipv4", f});
  }
  {
    std::vector<uint8_t> f = ipv4_tcp(0);
    f[14] = 0x55;  // version 5 under ethertype IPv4
    k.push_back({"bad_ipv4_version", f});
  }
  {
    std::vector<uint8_t> f = ipv4_tcp(0);
    f[14] = 0x43;  // IHL 12 bytes
    k.push_back({"bad_ipv4_ihl", f});
  }
  {
    std::vector<uint8_t> f = ipv4_tcp(0);
    f[16] = 0x05;  // total length 1280+ past the frame
    k.push_back({"bad_ipv4_total_len", f});
  }
  {
    std::vector<uint8_t> f = ipv4_tcp(0);
    f.resize(14 + 20 + 8);  // an 8-byte TCP "header"
    f[17] = 28;
    k.push_back({"truncated_tcp", f});
  }
  {
    std::vector<uint8_t> f = ipv4_tcp(4);
    f[14 + 20 + 12] = 0x30;  // data offset 3 words
    k.push_back({"bad_tcp_doff", f});
  }
  {
    std::vector<uint8_t> f = eth(0x86dd);
    f.resize(14 + 20, 0);  // ends inside the IPv6 header
    f[14] = 0x60;
    k.push_back({"truncated_ipv6", f});
  }
  {
    std::vector<uint8_t> f = eth(0x86dd);
    f.resize(14 + 40, 0);
    f[14] = 0x40;  // version 4 under ethertype IPv6
    k.push_back({"bad_ipv6_version", f});
  }
  return k;
}

int blast(int argc, char** argv) {
  const std::string iface = arg(argc, argv, "--iface");
  const uint64_t count = uint64_t(std::atoll(arg(argc, argv, "--count").c_str()));
  uint8_t src[6], dst[6];
  errno = 0;
  if (!parse_mac(arg(argc, argv, "--src-mac"), src) || !parse_mac(arg(argc, argv, "--dst-mac"), dst))
    die("bad MAC address");
  const std::string stats = arg(argc, argv, "--stats");
  const int fd = open_iface(iface);
  const std::vector<Kind> kinds = malformed_kinds(src, dst);
  std::vector<uint64_t> sent(kinds.size(), 0);
  uint64_t errors = 0;
  const uint64_t t0 = now_ns();
  for (uint64_t i = 0; i < count; i++) {
    const Kind& k = kinds[i % kinds.size()];
    if (send_frame(fd, k.frame.data(), k.frame.size()))
      sent[i % kinds.size()]++;
    else
      errors++;
  }
  const double secs = double(now_ns() - t0) / 1e9;
  std::string j = "{";
  for (size_t i = 0; i < kinds.size(); i++) j += "\"" + std::string(kinds[i].reason) + "\": " + std::to_string(sent[i]) + ", ";
  char tail[160];
  std::snprintf(tail, sizeof tail, "\"send_errors\": %llu, \"seconds\": %.3f, \"pps\": %.0f}\n",
                (unsigned long long)errors, secs, secs > 0 ? double(count - errors) / secs : 0.0);
  j += tail;
  write_file(stats, j);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "relay") == 0) return relay(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "blast") == 0) return blast(argc, argv);
  std::fprintf(stderr,
               "usage: loom_impair relay --a IF --b IF --stats FILE [--port P --loss-pct X "
               "--reorder-pct Y --seed N --ready FILE]\n"
               "       loom_impair blast --iface IF --count N --src-mac M --dst-mac M --stats FILE\n");
  return 2;
}
