#include "ctl/config.h"
#include "ctl/plan.h"
#include "ctl/reader.h"

#include <rte_ether.h>

#include <algorithm>
#include <climits>
#include <cctype>
#include <map>
#include <set>
#include <sstream>

#include <arpa/inet.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <rte_ethdev.h>
#include <toml++/toml.h>

#include "core/worker.h"
#include "http/http.h"
#include "port/pmd_limits.h"
#include "sink/kafka.h"

namespace ctl {

std::string ConfigError::str() const {
  return file + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " + message;
}

static std::string join_errors(const std::vector<ConfigError>& e) {
  std::string s;
  for (const auto& x : e) s += x.str() + "\n";
  return s;
}

ConfigErrors::ConfigErrors(std::vector<ConfigError> e)
    : std::runtime_error(join_errors(e)), errors(std::move(e)) {}

const char* mode_name(Mode m) noexcept {
  switch (m) {
    case Mode::kInline: return "inline";
    case Mode::kPassive: return "passive";
    case Mode::kOffline: return "offline";
  }
  return "?";
}

const char* memory_name(Memory m) noexcept {
  switch (m) {
    case Memory::kHugepages: return "hugepages";
    case Memory::kNoHuge: return "no-huge";
    case Memory::kInMemory: return "in-memory";
  }
  return "?";
}

std::vector<unsigned> parse_lcores(const std::string& s) {
  // Items are separated by commas outside parentheses; each item is
  // LCORES[@CPUS], LCORES being N, N-M or a parenthesised list of those.
  std::set<unsigned> ids;
  auto add_range = [&](std::string r) {
    r.erase(std::remove(r.begin(), r.end(), ' '), r.end());
    if (r.empty()) throw std::invalid_argument("empty lcore entry");
    const size_t dash = r.find('-');
    auto num = [](const std::string& x) {
      if (x.empty() || !std::all_of(x.begin(), x.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
        throw std::invalid_argument("'" + x + "' is not an lcore number");
      // Too many digits for stoul would throw out_of_range, which nothing
      // turns into a config error (found by config_fuzz: a crash).
      unsigned long v = x.size() > 6 ? ULONG_MAX : std::stoul(x);
      if (v >= RTE_MAX_LCORE)
        throw std::invalid_argument("lcore " + x + " is not below RTE_MAX_LCORE (" +
                                    std::to_string(RTE_MAX_LCORE) + ")");
      return unsigned(v);
    };
    unsigned lo = num(r.substr(0, dash));
    unsigned hi = dash == std::string::npos ? lo : num(r.substr(dash + 1));
    if (hi < lo) throw std::invalid_argument("range '" + r + "' runs backwards");
    for (unsigned i = lo; i <= hi; i++) ids.insert(i);
  };
  int depth = 0;
  std::string item;
  auto flush = [&] {
    std::string lc = item.substr(0, item.find('@'));
    if (!lc.empty() && lc.front() == '(') {
      if (lc.back() != ')') throw std::invalid_argument("unbalanced '(' in '" + item + "'");
      std::stringstream in(lc.substr(1, lc.size() - 2));
      for (std::string r; std::getline(in, r, ',');) add_range(r);
    } else {
      add_range(lc);
    }
    item.clear();
  };
  for (char c : s) {
    if (c == '(') depth++;
    if (c == ')') depth--;
    if (depth < 0) throw std::invalid_argument("unbalanced ')'");
    if (c == ',' && depth == 0)
      flush();
    else
      item += c;
  }
  if (depth != 0) throw std::invalid_argument("unbalanced '('");
  flush();
  return {ids.begin(), ids.end()};
}

namespace {

using detail::at;
using detail::Reader;
using detail::type_name;

bool valid_name(const std::string& s, bool dash_ok = true) {
  return !s.empty() && s.size() <= 32 &&
         std::all_of(s.begin(), s.end(), [dash_ok](char c) {
           return std::isalnum((unsigned char)c) || c == '_' || (dash_ok && c == '-');
         });
}

/* EAL flags Loom derives from keys of its own; setting them through
 * extra_args would make two sources of truth. */
const std::map<std::string, std::string>& owned_flags() {
  static const std::map<std::string, std::string> m = {
      {"-l", "eal.lcores"},          {"--lcores", "eal.lcores"},  {"-c", "eal.lcores"},
      {"--main-lcore", "eal.main_lcore"}, {"--file-prefix", "eal.file_prefix"},
      {"--vdev", "eal.vdevs or [[ports]].device"}, {"-a", "[[ports]].device"},
      {"--allow", "[[ports]].device"}, {"--no-pci", "[[ports]].device"},
      {"--no-huge", "eal.memory"},   {"--in-memory", "eal.memory"}, {"-m", "eal.memory_mb"},
      {"--no-telemetry", "eal.telemetry"}, {"--telemetry", "eal.telemetry"}};
  return m;
}

void read_eal(Reader& r, const toml::table& t, EalConfig& e, Where& lcores_at, Where& main_at) {
  r.only_keys(t, "[eal]", {"lcores", "main_lcore", "memory", "memory_mb", "file_prefix", "vdevs",
                           "extra_args", "telemetry"});
  if (r.string(t, "lcores", "eal.lcores", e.lcores, &lcores_at)) {
    try {
      e.lcore_ids = parse_lcores(e.lcores);
    } catch (const std::invalid_argument& x) {
      r.error(lcores_at, "eal.lcores = \"" + e.lcores + "\" is not valid EAL lcore syntax (" +
                             x.what() + "); write e.g. \"0-2\" or \"0@0,1@1,2@1\"");
    }
  }
  r.uint(t, "main_lcore", "eal.main_lcore", 0, RTE_MAX_LCORE - 1, e.main_lcore, &main_at);
  r.choice<Memory>(t, "memory", "eal.memory",
                   {{"hugepages", Memory::kHugepages}, {"no-huge", Memory::kNoHuge},
                    {"in-memory", Memory::kInMemory}},
                   e.memory);
  r.uint(t, "memory_mb", "eal.memory_mb", 64, 1u << 20, e.memory_mb);
  Where prefix_at;
  if (r.string(t, "file_prefix", "eal.file_prefix", e.file_prefix, &prefix_at) &&
      !valid_name(e.file_prefix))
    r.error(prefix_at, "eal.file_prefix = \"" + e.file_prefix +
                           "\" must be 1-32 letters, digits, '_' or '-' (it names a directory "
                           "under /var/run/dpdk and the telemetry socket's prefix)");
  r.strings(t, "vdevs", "eal.vdevs", e.vdevs);
  r.boolean(t, "telemetry", "eal.telemetry", e.telemetry);
  if (r.strings(t, "extra_args", "eal.extra_args", e.extra_args)) {
    const toml::array& a = *t.get("extra_args")->as_array();
    for (size_t i = 0; i < e.extra_args.size(); i++) {
      std::string flag = e.extra_args[i].substr(0, e.extra_args[i].find('='));
      // Short flags may carry their value glued on ("-l0-1", "-m512").
      if (flag.size() > 2 && flag[0] == '-' && flag[1] != '-') flag = flag.substr(0, 2);
      auto it = owned_flags().find(flag);
      if (it != owned_flags().end())
        r.error(*a.get(i), "eal.extra_args must not contain " + flag + ": Loom sets it from " +
                               it->second);
    }
  }
}

struct RawPair {
  std::string a, b;
  Where at, a_at, b_at;
};

struct RawWorker {
  unsigned lcore = 0;
  Where at, lcore_at;
  std::vector<std::pair<std::string, Where>> queues;
};

void read_port(Reader& r, const toml::table& t, size_t i, PortConfig& p) {
  const std::string ctx = "ports[" + std::to_string(i) + "]";
  p.at = at(t.source());
  r.only_keys(t, "[[ports]]", {"name", "device", "rx_queues", "rx_descriptors", "tx_descriptors",
                               "mtu", "promiscuous", "link_wait_ms", "rss"});
  port::PortSpec& s = p.spec;
  if (!r.string(t, "name", ctx + ".name", s.name))
    r.error(p.at, ctx + " needs a name (letters, digits or '_'), used by pairs and workers");
  else if (!valid_name(s.name, false))
    // Telemetry dictionary keys allow only letters, digits, '_' and '/'.
    r.error(*t.get("name"), ctx + ".name = \"" + s.name +
                                "\" must be 1-32 letters, digits or '_'");
  if (!r.string(t, "device", ctx + ".device", s.device, &p.device_at))
    r.error(p.at, ctx + " needs a device: a PCI address (\"0000:3b:00.0\") or a vdev spec "
                        "(\"net_af_packet0,iface=eth1\")");
  else if (s.device.empty() || s.device.find(' ') != std::string::npos)
    r.error(p.device_at, ctx + ".device must be a PCI address or vdev spec without spaces");
  p.rx_queues_at = p.at;
  r.uint(t, "rx_queues", ctx + ".rx_queues", 1, RTE_MAX_QUEUES_PER_PORT, s.rx_queues,
         &p.rx_queues_at);
  r.uint(t, "rx_descriptors", ctx + ".rx_descriptors", 32, 32768, s.rx_descriptors);
  r.uint(t, "tx_descriptors", ctx + ".tx_descriptors", 32, 32768, s.tx_descriptors);
  r.uint(t, "mtu", ctx + ".mtu", 68, 16000, s.mtu);
  r.boolean(t, "promiscuous", ctx + ".promiscuous", s.promiscuous);
  r.uint(t, "link_wait_ms", ctx + ".link_wait_ms", 0, 60000, s.link_wait_ms);
  s.rss_hf = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
  if (const toml::table* rss = r.table(t, "rss", ctx + ".rss")) {
    r.only_keys(*rss, "[ports.rss]", {"enabled", "key", "types", "require_symmetric"});
    r.boolean(*rss, "enabled", ctx + ".rss.enabled", s.rss);
    r.boolean(*rss, "require_symmetric", ctx + ".rss.require_symmetric", s.require_symmetric);
    std::string key;
    Where key_at;
    if (r.string(*rss, "key", ctx + ".rss.key", key, &key_at) && key != "symmetric") {
      try {
        s.rss_key = port::parse_hex_key(key);
        if (s.rss_key.size() < 40 || s.rss_key.size() > 255)
          r.error(key_at, ctx + ".rss.key has " + std::to_string(s.rss_key.size()) +
                              " bytes; a Toeplitz key needs 40 to 255 (most NICs: 40 or 52)");
      } catch (const std::invalid_argument& x) {
        r.error(key_at, ctx + ".rss.key must be \"symmetric\" or hex bytes: " + x.what());
      }
    }
    std::vector<std::string> types;
    if (r.strings(*rss, "types", ctx + ".rss.types", types)) {
      s.rss_hf = 0;
      for (const auto& ty : types) {
        if (ty == "ip") s.rss_hf |= RTE_ETH_RSS_IP;
        else if (ty == "tcp") s.rss_hf |= RTE_ETH_RSS_TCP;
        else if (ty == "udp") s.rss_hf |= RTE_ETH_RSS_UDP;
        else r.error(*rss->get("types"), ctx + ".rss.types has \"" + ty +
                                             "\"; allowed: \"ip\", \"tcp\", \"udp\"");
      }
      if (types.empty())
        r.error(*rss->get("types"), ctx + ".rss.types is empty; set rss.enabled = false instead");
    }
  }
}

template <class F>
void each_table(Reader& r, const toml::table& root, std::string_view key, F&& f) {
  const toml::node* n = root.get(key);
  if (!n) return;
  const toml::array* a = n->as_array();
  if (!a || !a->is_array_of_tables()) {
    r.error(*n, std::string(key) + " must be an array of tables ([[" + std::string(key) + "]])");
    return;
  }
  size_t i = 0;
  for (const toml::node& e : *a) f(*e.as_table(), i++);
}

}  // namespace

Where Config::port_key_at(size_t port, std::string_view key) const {
  if (port >= ports.size()) return {};
  if (key == "rx_queues" || key == "tx_queues") return ports[port].rx_queues_at;
  if (key == "device") return ports[port].device_at;
  return ports[port].at;
}

/* Everything that needs more than one key: pairs, workers, queue limits.
 * Runs after the per-key reads so it can name every problem at once. */
static void check_topology(Reader& r, Config& c, const std::vector<RawPair>& pairs,
                           const std::vector<RawWorker>& raw_workers, Where mode_at,
                           Where lcores_at, Where main_at, bool eal_present) {
  std::map<std::string, size_t> by_name;
  std::map<std::string, size_t> by_device;
  for (size_t i = 0; i < c.ports.size(); i++) {
    const auto& p = c.ports[i];
    if (!p.spec.name.empty() && !by_name.emplace(p.spec.name, i).second)
      r.error(p.at, "port name \"" + p.spec.name + "\" is used twice; names must be unique");
    if (!p.spec.device.empty() && !by_device.emplace(port::device_name(p.spec.device), i).second)
      r.error(p.device_at, "device \"" + port::device_name(p.spec.device) +
                               "\" is named by two ports; each device can be one port only");
  }
  if (c.mode == Mode::kOffline) {
    // A pipeline-only file for --pcap runs: the capture is the only port.
    if (!c.ports.empty() || !pairs.empty() || !raw_workers.empty())
      r.error(mode_at, "mode = \"offline\" files describe the pipeline only; Loom makes the "
                       "capture port and worker itself, so drop [[ports]], [[pairs]] and "
                       "[[workers]]");
    return;
  }
  if (c.ports.empty())
    r.error(Where{1, 1}, "no [[ports]]: Loom needs at least one port to poll "
                         "(or set mode = \"offline\" for a file used with --pcap)");

  // Pairs. A pair that names a missing port is one mistake: its ports are
  // not also reported as "in no pair".
  bool pairs_ok = true;
  for (const RawPair& rp : pairs) {
    auto ia = by_name.find(rp.a), ib = by_name.find(rp.b);
    if (ia == by_name.end())
      r.error(rp.a_at, "pair names port \"" + rp.a + "\", but no [[ports]] entry has that name");
    if (ib == by_name.end())
      r.error(rp.b_at, "pair names port \"" + rp.b + "\", but no [[ports]] entry has that name");
    if (ia == by_name.end() || ib == by_name.end()) {
      pairs_ok = false;
      continue;
    }
    if (ia->second == ib->second) {
      r.error(rp.at, "pair joins port \"" + rp.a + "\" to itself; a pair needs two ports");
      continue;
    }
    for (size_t idx : {ia->second, ib->second})
      if (c.ports[idx].peer >= 0)
        r.error(rp.at, "port \"" + c.ports[idx].spec.name +
                           "\" is in two pairs; a port can relay to one peer only");
    c.ports[ia->second].peer = int(ib->second);
    c.ports[ib->second].peer = int(ia->second);
  }
  if (c.mode == Mode::kInline) {
    if (pairs.empty() && !c.ports.empty())
      r.error(mode_at, "mode = \"inline\" needs at least one [[pairs]] entry; for a tap or SPAN "
                       "port use mode = \"passive\"");
    for (const auto& p : c.ports)
      if (p.peer < 0 && !pairs.empty() && pairs_ok)
        r.error(p.at, "port \"" + p.spec.name + "\" is in no pair; in inline mode every port "
                      "relays to a peer (use mode = \"passive\" for RX-only ports)");
  } else if (c.mode == Mode::kPassive && !pairs.empty()) {
    r.error(pairs.front().at, "[[pairs]] given but mode = \"passive\" never transmits; use "
                              "mode = \"inline\" to relay");
  }

  // Lcores.
  const std::set<unsigned> lcores(c.eal.lcore_ids.begin(), c.eal.lcore_ids.end());
  if (!lcores.empty() && !lcores.count(c.eal.main_lcore))
    r.error(main_at.line ? main_at : lcores_at,
            "eal.main_lcore = " + std::to_string(c.eal.main_lcore) + " is not in eal.lcores \"" +
                c.eal.lcores + "\"");
  (void)eal_present;

  // Workers.
  std::set<std::pair<uint16_t, uint16_t>> polled;
  if (!raw_workers.empty()) {
    c.workers_auto = false;
    std::set<unsigned> used;
    for (const RawWorker& w : raw_workers) {
      WorkerSpec ws;
      ws.lcore = w.lcore;
      ws.at = w.at;
      if (!lcores.empty() && !lcores.count(w.lcore))
        r.error(w.lcore_at, "worker lcore " + std::to_string(w.lcore) +
                                " is not in eal.lcores \"" + c.eal.lcores + "\"");
      if (w.lcore == c.eal.main_lcore)
        r.error(w.lcore_at, "worker lcore " + std::to_string(w.lcore) +
                                " is the main lcore, which runs control and telemetry; pick "
                                "another lcore from eal.lcores");
      if (!used.insert(w.lcore).second)
        r.error(w.lcore_at, "lcore " + std::to_string(w.lcore) +
                                " runs two workers; one worker per lcore");
      for (const auto& [ref, where] : w.queues) {
        const size_t colon = ref.rfind(':');
        const std::string pname = ref.substr(0, colon);
        const std::string qs = colon == std::string::npos ? "" : ref.substr(colon + 1);
        auto it = by_name.find(pname);
        if (colon == std::string::npos || qs.empty() ||
            !std::all_of(qs.begin(), qs.end(), ::isdigit) || qs.size() > 5) {
          r.error(where, "queue \"" + ref + "\" must be written \"PORT:QUEUE\", e.g. \"west:0\"");
          continue;
        }
        if (it == by_name.end()) {
          r.error(where, "queue \"" + ref + "\" names port \"" + pname +
                             "\", but no [[ports]] entry has that name");
          continue;
        }
        const unsigned q = unsigned(std::stoul(qs));
        const auto& pc = c.ports[it->second];
        if (q >= pc.spec.rx_queues) {
          r.error(where, "queue \"" + ref + "\" does not exist: port \"" + pname + "\" has " +
                             std::to_string(pc.spec.rx_queues) + " RX queue(s), numbered from 0");
          continue;
        }
        if (!polled.insert({uint16_t(it->second), uint16_t(q)}).second) {
          r.error(where, "queue \"" + ref + "\" is polled by two workers; each RX queue has "
                         "exactly one owner");
          continue;
        }
        ws.queues.push_back({uint16_t(it->second), uint16_t(q)});
      }
      c.workers.push_back(std::move(ws));
    }
    for (size_t p = 0; p < c.ports.size(); p++)
      for (uint16_t q = 0; q < c.ports[p].spec.rx_queues; q++)
        if (!polled.count({uint16_t(p), q}))
          r.error(raw_workers.front().at,
                  "queue \"" + c.ports[p].spec.name + ":" + std::to_string(q) +
                      "\" is polled by no worker; list it in some [[workers]] queues");
  } else if (!lcores.empty()) {
    // Automatic: every lcore but the main one is a worker candidate; queue
    // q of every port goes to worker q mod n, so a connection's two
    // directions (queue q on both ports of a pair under symmetric RSS)
    // meet on one worker.
    std::vector<unsigned> cand;
    for (unsigned l : lcores)
      if (l != c.eal.main_lcore) cand.push_back(l);
    if (cand.empty()) {
      r.error(lcores_at, "eal.lcores \"" + c.eal.lcores +
                             "\" leaves no lcore for a worker besides the main lcore; name at "
                             "least two lcores");
    } else {
      uint16_t max_q = 0;
      for (const auto& p : c.ports) max_q = std::max(max_q, p.spec.rx_queues);
      const size_t n = std::min<size_t>(cand.size(), max_q);
      for (size_t i = 0; i < n; i++) c.workers.push_back({cand[i], {}, lcores_at});
      for (size_t p = 0; p < c.ports.size(); p++)
        for (uint16_t q = 0; q < c.ports[p].spec.rx_queues; q++)
          c.workers[q % n].queues.push_back({uint16_t(p), q});
    }
  }

  // TX queues: every worker that relays into a port owns one TX queue on it.
  for (size_t p = 0; p < c.ports.size(); p++) {
    uint16_t tx = 0;
    for (const auto& w : c.workers) {
      bool sends = false;
      for (const auto& qr : w.queues) sends |= c.ports[qr.port].peer == int(p);
      tx += sends;
    }
    c.ports[p].spec.tx_queues = std::max<uint16_t>(tx, 1);
    // net_tap refuses a configuration with fewer TX than RX queues
    // (rte_eth_tap.c: each queue pair is one tun file descriptor).
    if (port::device_name(c.ports[p].spec.device).rfind("net_tap", 0) == 0)
      c.ports[p].spec.tx_queues = std::max(c.ports[p].spec.tx_queues, c.ports[p].spec.rx_queues);
  }

  // Queue limits the virtual PMDs imply (real NICs: checked at start-up).
  for (const auto& p : c.ports) {
    auto lim = port::vdev_queue_limit(p.spec.device);
    if (!lim) continue;
    if (p.spec.rx_queues > lim->max_rx)
      r.error(p.rx_queues_at, "port \"" + p.spec.name + "\" asks for " +
                                  std::to_string(p.spec.rx_queues) + " RX queues; " + lim->why);
    else if (p.spec.tx_queues > lim->max_tx)
      r.error(p.rx_queues_at, "port \"" + p.spec.name + "\" needs " +
                                  std::to_string(p.spec.tx_queues) +
                                  " TX queues (one per worker relaying into it); " + lim->why);
  }
}

/* A token of RFC 9110 5.6.2: what a header name may be. */
bool header_token(const std::string& s) {
  for (char ch : s)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) ||
          std::strchr("!#$%&'*+-.^_`|~", ch)))
      return false;
  return !s.empty();
}

// [http] headers and headers_bytes: what messages.jsonl carries.
void read_carried_headers(Reader& r, const toml::table& t, HttpConfig& h) {
  r.uint(t, "headers_bytes", "http.headers_bytes", 0, http::kHeadersMax, h.headers_bytes);
  const toml::node* n = t.get("headers");
  if (!n) return;
  const toml::array* a = n->as_array();
  if (!a) {
    r.error(*n, "http.headers must be an array of header names, e.g. [\"user-agent\"]");
    return;
  }
  h.headers.clear();
  for (size_t i = 0; i < a->size(); i++) {
    const toml::node& e = *a->get(i);
    const std::string ctx = "http.headers[" + std::to_string(i) + "]";
    if (!e.is_string()) {
      r.error(e, ctx + " must be a string (a header name), not " + type_name(e.type()));
      continue;
    }
    std::string name = e.as_string()->get();
    for (char& ch : name) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    if (!header_token(name) || name.size() > http::kCarryNameMax) {
      r.error(e, ctx + " = \"" + e.as_string()->get() + "\" is not a header name of 1 to " +
                     std::to_string(http::kCarryNameMax) + " token characters");
      continue;
    }
    if (std::find(h.headers.begin(), h.headers.end(), name) != h.headers.end()) {
      r.error(e, ctx + " = \"" + name + "\" is listed twice");
      continue;
    }
    h.headers.push_back(name);
  }
  if (h.headers.size() > http::kCarryMax)
    r.error(*n, "http.headers names " + std::to_string(h.headers.size()) + " headers; at most " +
                    std::to_string(http::kCarryMax));
}

// [sensor]: the name records carry and the Community ID seed.
void read_sensor(Reader& r, const toml::table& t, SensorConfig& s) {
  r.only_keys(t, "[sensor]", {"name", "community_id_seed"});
  Where w;
  if (r.string(t, "name", "sensor.name", s.name, &w)) {
    bool ok = !s.name.empty() && s.name.size() <= 64;
    for (char ch : s.name) ok &= ch > 0x20 && ch < 0x7F;
    if (!ok)
      r.error(w, "sensor.name = \"" + s.name + "\" must be 1 to 64 printable ASCII characters "
                 "without spaces (it goes into every record)");
  }
  r.uint(t, "community_id_seed", "sensor.community_id_seed", 0, 65535, s.community_id_seed);
}

/* A Kafka topic name: 1-249 of [a-zA-Z0-9._-], not "." or "..". */
bool kafka_topic_ok(const std::string& s) {
  if (s.empty() || s.size() > 249 || s == "." || s == "..") return false;
  for (char ch : s)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-'))
      return false;
  return true;
}

// [outputs.kafka]: brokers, topics, librdkafka's properties.
void read_kafka(Reader& r, const toml::table& t, KafkaConfig& k) {
  k.enabled = true;
  r.only_keys(t, "[outputs.kafka]",
              {"brokers", "topic", "streams_topic", "properties", "delivery_timeout_ms"});
  Where w;
  if (!r.string(t, "brokers", "outputs.kafka.brokers", k.brokers, &w)) {
    if (!t.get("brokers"))
      r.error(at(t.source()), "[outputs.kafka] needs brokers = \"host:port,...\": where the "
                              "Kafka cluster is");
  } else {
    size_t start = 0;
    bool ok = !k.brokers.empty();
    while (ok && start <= k.brokers.size()) {
      const size_t comma = std::min(k.brokers.find(',', start), k.brokers.size());
      const std::string b = k.brokers.substr(start, comma - start);
      const size_t colon = b.rfind(':');
      const std::string port = colon == std::string::npos ? "" : b.substr(colon + 1);
      char* end = nullptr;
      const long p = port.empty() ? 0 : std::strtol(port.c_str(), &end, 10);
      ok = colon != std::string::npos && colon > 0 && end && !*end && p >= 1 && p <= 65535;
      start = comma + 1;
    }
    if (!ok)
      r.error(w, "outputs.kafka.brokers = \"" + k.brokers + "\" must list host:port entries "
                 "separated by commas, e.g. \"kafka1:9092,kafka2:9092\"");
  }
  for (auto [key, out] : {std::pair<const char*, std::string*>{"topic", &k.topic},
                          {"streams_topic", &k.streams_topic}}) {
    const std::string ctx = std::string("outputs.kafka.") + key;
    if (r.string(t, key, ctx, *out, &w) && !kafka_topic_ok(*out))
      r.error(w, ctx + " = \"" + *out + "\" is not a Kafka topic name (1-249 letters, digits, "
                 "'.', '_' or '-')");
  }
  r.uint(t, "delivery_timeout_ms", "outputs.kafka.delivery_timeout_ms", 100, 3600000,
         k.delivery_timeout_ms);
  const toml::node* pn = t.get("properties");
  if (!pn) return;
  const toml::table* pt = pn->as_table();
  if (!pt) {
    r.error(*pn, "outputs.kafka.properties must be a table of librdkafka properties, e.g. "
                 "{ \"compression.type\" = \"lz4\" }");
    return;
  }
  for (auto&& [name, v] : *pt) {
    const std::string key(name.str());
    std::string val;
    if (const auto* sv = v.as_string()) val = sv->get();
    else if (const auto* iv = v.as_integer()) val = std::to_string(iv->get());
    else if (const auto* bv = v.as_boolean()) val = bv->get() ? "true" : "false";
    else if (const auto* fv = v.as_floating_point()) val = std::to_string(fv->get());
    else {
      r.error(v, "outputs.kafka.properties." + key + " must be a string, number or boolean, not " +
                     type_name(v.type()));
      continue;
    }
    if (key == "bootstrap.servers" || key == "metadata.broker.list") {
      r.error(at(name.source()), "outputs.kafka.properties." + key +
                                     " is set from outputs.kafka.brokers; give the brokers there");
      continue;
    }
    if (std::string why = sink::kafka_check_property(key, val); !why.empty()) {
      r.error(v, "outputs.kafka.properties." + key + " = \"" + val + "\": librdkafka refuses it: " + why);
      continue;
    }
    k.properties.emplace_back(key, val);
  }
}

// [rules] and [[rule]] (rules_config.cc).
void read_rules(const toml::table& root, Config& c, std::vector<ConfigError>& errs);

Config parse_config(std::string_view text, const std::string& file) {
  std::vector<ConfigError> errs;
  Reader r(file, errs);
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    r.error(at(e.source()), "not valid TOML: " + std::string(e.description()));
    throw ConfigErrors(std::move(errs));
  }

  Config c;
  c.file = file;
  r.only_keys(root, "the top level",
              {"mode", "eal", "mempool", "worker", "ports", "pairs", "workers", "offline", "flow",
               "reassembly", "http", "rules", "rule", "outputs", "steering", "mirror",
               "collectors", "probe", "decap", "sensor", "metrics", "log"});
  Where mode_at{1, 1};
  if (const toml::node* n = root.get("mode")) mode_at = at(n->source());
  r.choice<Mode>(root, "mode", "mode",
                 {{"inline", Mode::kInline}, {"passive", Mode::kPassive},
                  {"offline", Mode::kOffline}},
                 c.mode);

  Where lcores_at{1, 1}, main_at{};
  c.eal.lcore_ids = parse_lcores(c.eal.lcores);
  const toml::table* eal = r.table(root, "eal", "[eal]");
  if (eal) {
    lcores_at = at(eal->source());
    read_eal(r, *eal, c.eal, lcores_at, main_at);
  }

  if (const toml::table* t = r.table(root, "mempool", "[mempool]")) {
    r.only_keys(*t, "[mempool]", {"mbufs", "cache", "mbuf_data_room"});
    Where mb_at;
    if (r.uint(*t, "mbufs", "mempool.mbufs", 0, 1u << 26, c.mbufs, &mb_at) && c.mbufs &&
        c.mbufs < 1023)
      r.error(mb_at, "mempool.mbufs = " + std::to_string(c.mbufs) +
                         " is too small to fill even one port's descriptors; use 0 (automatic) "
                         "or at least 1023");
    r.uint(*t, "cache", "mempool.cache", 0, RTE_MEMPOOL_CACHE_MAX_SIZE, c.mempool_cache);
    r.uint(*t, "mbuf_data_room", "mempool.mbuf_data_room", 1024, 65535, c.mbuf_data_room);
  }
  if (const toml::table* t = r.table(root, "worker", "[worker]")) {
    r.only_keys(*t, "[worker]", {"burst", "tx_drain_us", "inspect", "latency", "memory_mb"});
    r.uint(*t, "memory_mb", "worker.memory_mb", 0, 1u << 20, c.worker_memory_mb, &c.worker_memory_at);
    r.boolean(*t, "latency", "worker.latency", c.latency);
    r.boolean(*t, "inspect", "worker.inspect", c.inspect);
    r.uint(*t, "burst", "worker.burst", 1, core::kBurst, c.burst);
    r.uint(*t, "tx_drain_us", "worker.tx_drain_us", 1, 100000, c.tx_drain_us);
  }
  if (const toml::table* t = r.table(root, "offline", "[offline]")) {
    r.only_keys(*t, "[offline]", {"quiet_ms"});
    r.uint(*t, "quiet_ms", "offline.quiet_ms", 100, 600000, c.offline_quiet_ms);
  }
  if (const toml::table* t = r.table(root, "flow", "[flow]")) {
    r.only_keys(*t, "[flow]", {"max_flows_per_worker", "timeout_new_s", "timeout_established_s",
                               "timeout_closed_s", "evict_when_full", "sweep_per_insert",
                               "sweep_per_idle_poll"});
    FlowConfig& f = c.flow;
    c.max_flows_given = r.uint(*t, "max_flows_per_worker", "flow.max_flows_per_worker", 64,
                               1u << 24, f.max_flows_per_worker);
    r.uint(*t, "timeout_new_s", "flow.timeout_new_s", 1, 86400, f.timeout_new_s);
    r.uint(*t, "timeout_established_s", "flow.timeout_established_s", 1, 86400 * 7,
           f.timeout_established_s);
    r.uint(*t, "timeout_closed_s", "flow.timeout_closed_s", 1, 86400, f.timeout_closed_s);
    r.boolean(*t, "evict_when_full", "flow.evict_when_full", f.evict_when_full);
    r.uint(*t, "sweep_per_insert", "flow.sweep_per_insert", 0, 64, f.sweep_per_insert);
    r.uint(*t, "sweep_per_idle_poll", "flow.sweep_per_idle_poll", 0, 4096, f.sweep_per_idle_poll);
  }
  if (const toml::table* t = r.table(root, "reassembly", "[reassembly]")) {
    r.only_keys(*t, "[reassembly]", {"max_ofo_segments", "max_ofo_bytes", "memcap_mb",
                                     "gap_timeout_ms", "ack_gap_timeout_ms"});
    ReassemblyConfig& g = c.reasm;
    r.uint(*t, "max_ofo_segments", "reassembly.max_ofo_segments", 1, 1u << 20, g.max_ofo_segments);
    r.uint(*t, "max_ofo_bytes", "reassembly.max_ofo_bytes", 1500, 1u << 30, g.max_ofo_bytes);
    c.memcap_given = r.uint(*t, "memcap_mb", "reassembly.memcap_mb", 1, 1u << 20, g.memcap_mb);
    r.uint(*t, "gap_timeout_ms", "reassembly.gap_timeout_ms", 1, 3600000, g.gap_timeout_ms);
    r.uint(*t, "ack_gap_timeout_ms", "reassembly.ack_gap_timeout_ms", 1, 3600000,
           g.ack_gap_timeout_ms);
  }
  if (const toml::table* t = r.table(root, "outputs", "[outputs]")) {
    r.only_keys(*t, "[outputs]",
                {"dir", "streams", "messages", "gor", "record_ring", "sink_threads", "pcap",
                 "pcap_snaplen", "pcap_lookback", "rotate_mb", "rotate_seconds", "compress",
                 "existing", "stats_seconds", "empty_connections", "empty_connections_sample",
                 "kafka"});
    r.choice<sink::Existing>(*t, "existing", "outputs.existing",
                             {{"refuse", sink::Existing::kRefuse},
                              {"append", sink::Existing::kAppend},
                              {"rotate", sink::Existing::kRotate},
                              {"replace", sink::Existing::kReplace}},
                             c.outputs.existing);
    r.uint(*t, "stats_seconds", "outputs.stats_seconds", 0, 86400, c.outputs.stats_seconds);
    r.choice<bool>(*t, "empty_connections", "outputs.empty_connections",
                   {{"summary", false}, {"all", true}}, c.outputs.empty_all);
    r.uint(*t, "empty_connections_sample", "outputs.empty_connections_sample", 0, 1u << 24,
           c.outputs.empty_sample);
    if (const toml::table* k = r.table(*t, "kafka", "[outputs.kafka]")) read_kafka(r, *k, c.outputs.kafka);
    r.boolean(*t, "pcap", "outputs.pcap", c.outputs.pcap);
    r.uint(*t, "pcap_snaplen", "outputs.pcap_snaplen", 64, 9216, c.outputs.pcap_snaplen);
    r.uint(*t, "pcap_lookback", "outputs.pcap_lookback", 0, 1u << 20, c.outputs.pcap_lookback);
    r.uint(*t, "rotate_mb", "outputs.rotate_mb", 0, 1u << 20, c.outputs.rotate_mb);
    r.uint(*t, "rotate_seconds", "outputs.rotate_seconds", 0, 7 * 86400, c.outputs.rotate_seconds);
    r.choice<bool>(*t, "compress", "outputs.compress", {{"none", false}, {"gzip", true}},
                   c.outputs.gzip);
    r.boolean(*t, "messages", "outputs.messages", c.outputs.messages);
    r.boolean(*t, "gor", "outputs.gor", c.outputs.gor);
    r.uint(*t, "sink_threads", "outputs.sink_threads", 1, 64, c.outputs.sink_threads);
    r.string(*t, "dir", "outputs.dir", c.outputs.dir);
    r.boolean(*t, "streams", "outputs.streams", c.outputs.streams);
    r.uint(*t, "record_ring", "outputs.record_ring", 64, 1u << 22, c.outputs.record_ring);
  }
  if (const toml::table* t = r.table(root, "metrics", "[metrics]")) {
    r.only_keys(*t, "[metrics]", {"listen"});
    Where w;
    if (r.string(*t, "listen", "metrics.listen", c.metrics.listen, &w)) {
      try {
        parse_listen(c.metrics.listen, c.metrics.host, c.metrics.port);
      } catch (const std::invalid_argument& e) {
        r.error(w, "metrics.listen = \"" + c.metrics.listen + "\": " + e.what());
      }
    }
  }
  if (const toml::table* t = r.table(root, "log", "[log]")) {
    r.only_keys(*t, "[log]", {"format", "summary_seconds", "link_poll_ms"});
    r.choice<bool>(*t, "format", "log.format", {{"text", false}, {"json", true}}, c.log.json);
    r.uint(*t, "summary_seconds", "log.summary_seconds", 0, 86400, c.log.summary_seconds);
    r.uint(*t, "link_poll_ms", "log.link_poll_ms", 0, 3600000, c.log.link_poll_ms);
  }
  if (const toml::table* t = r.table(root, "http", "[http]")) {
    r.only_keys(*t, "[http]", {"enabled", "capture_bytes", "capture_buffers", "max_header_bytes",
                               "max_connections_per_worker", "headers", "headers_bytes"});
    read_carried_headers(r, *t, c.http);
    r.uint(*t, "max_header_bytes", "http.max_header_bytes", 256, 16u << 20, c.http.max_header_bytes);
    r.uint(*t, "max_connections_per_worker", "http.max_connections_per_worker", 0, 1u << 24,
           c.http.max_connections_per_worker);
    r.boolean(*t, "enabled", "http.enabled", c.http.enabled);
    r.uint(*t, "capture_bytes", "http.capture_bytes", 0, 16u << 20, c.http.capture_bytes);
    r.uint(*t, "capture_buffers", "http.capture_buffers", 16, 1u << 20, c.http.capture_buffers);
  }
  if (const toml::table* t = r.table(root, "mirror", "[mirror]")) {
    MirrorConfig& m = c.mirror;
    m.enabled = true;
    r.only_keys(*t, "[mirror]", {"device", "encap", "vni", "session_id", "src_mac", "dst_mac",
                                 "src_ip", "dst_ip", "mtu", "mbufs_per_worker"});
    if (!r.string(*t, "device", "mirror.device", m.device))
      r.error(at(t->source()), "[mirror] needs device: the port mirror copies leave by");
    r.choice<MirrorConfig::Encap>(*t, "encap", "mirror.encap",
                                  {{"raw", MirrorConfig::Encap::kRaw},
                                   {"vxlan", MirrorConfig::Encap::kVxlan},
                                   {"gre", MirrorConfig::Encap::kGre},
                                   {"erspan", MirrorConfig::Encap::kErspan}},
                                  m.encap);
    r.uint(*t, "vni", "mirror.vni", 0, (1u << 24) - 1, m.vni);
    r.uint(*t, "session_id", "mirror.session_id", 0, 1023, m.session_id);
    r.uint(*t, "mtu", "mirror.mtu", 576, 9000, m.mtu);
    r.uint(*t, "mbufs_per_worker", "mirror.mbufs_per_worker", 64, 1u << 20, m.mbufs_per_worker);
    auto mac = [&](const char* key, std::string& out) {
      rte_ether_addr a;
      if (r.string(*t, key, std::string("mirror.") + key, out) &&
          rte_ether_unformat_addr(out.c_str(), &a) != 0)
        r.error(*t->get(key), std::string("mirror.") + key + " = \"" + out +
                                  "\" is not a MAC address (02:00:00:00:00:01)");
    };
    mac("src_mac", m.src_mac);
    mac("dst_mac", m.dst_mac);
    auto ip = [&](const char* key, uint32_t& out) {
      std::string s;
      in_addr a;
      if (!r.string(*t, key, std::string("mirror.") + key, s)) return false;
      if (inet_pton(AF_INET, s.c_str(), &a) != 1) {
        r.error(*t->get(key), std::string("mirror.") + key + " = \"" + s + "\" is not an IPv4 address");
        return false;
      }
      out = ntohl(a.s_addr);
      return true;
    };
    const bool has_src = ip("src_ip", m.src_ip), has_dst = ip("dst_ip", m.dst_ip);
    each_table(r, root, "collectors", [&](const toml::table& ct, size_t i) {
      const std::string ctx = "collectors[" + std::to_string(i) + "]";
      r.only_keys(ct, "[[collectors]]", {"name", "ip", "multiplier"});
      CollectorConfig cc;
      if (!r.string(ct, "name", ctx + ".name", cc.name) || !valid_name(cc.name, true))
        r.error(at(ct.source()), ctx + " needs a name: 1-32 letters, digits, '_' or '-'");
      for (const CollectorConfig& o : m.collectors)
        if (o.name == cc.name) r.error(*ct.get("name"), ctx + ": collector name \"" + cc.name + "\" is used twice");
      std::string s;
      in_addr a;
      if (!r.string(ct, "ip", ctx + ".ip", s) || inet_pton(AF_INET, s.c_str(), &a) != 1)
        r.error(ct.get("ip") ? at(ct.get("ip")->source()) : at(ct.source()),
                ctx + " needs ip: the collector's IPv4 address");
      else
        cc.ip = ntohl(a.s_addr);
      if (const toml::node* mn = ct.get("multiplier")) {
        const std::optional<double> v = mn->value<double>();
        if (!v || *v < 0.1 || *v > 10) r.error(*mn, ctx + ".multiplier must be a number from 0.1 to 10");
        else cc.multiplier = *v;
      }
      m.collectors.push_back(cc);
    });
    if (m.collectors.size() > mirror::kMaxCollectors)
      r.error(at(t->source()), "at most " + std::to_string(mirror::kMaxCollectors) + " [[collectors]]");
    if (m.encap != MirrorConfig::Encap::kRaw && m.collectors.empty() &&
        (!has_src || !has_dst || m.dst_mac.empty()))
      r.error(at(t->source()), "mirror.encap = tunnel needs src_ip, dst_ip (the collector) and "
                               "dst_mac (its next hop), or [[collectors]]");
    if (!m.collectors.empty() && (m.encap == MirrorConfig::Encap::kRaw || !has_src))
      r.error(at(t->source()), "[[collectors]] need a tunnel (mirror.encap) and mirror.src_ip, "
                               "the address Loom probes them and sends the mirror from");
    if (const toml::table* pt = r.table(root, "probe", "[probe]")) {
      ProbeConfig& p = m.probe;
      r.only_keys(*pt, "[probe]", {"method", "udp_port", "window_ms", "full_every_ms",
                                   "incremental_every_ms", "timeout_ms", "stagger_ms", "margin_ms",
                                   "ratio", "lost_after", "tries"});
      r.choice<bool>(*pt, "method", "probe.method", {{"icmp", false}, {"udp", true}}, p.udp);
      r.uint(*pt, "udp_port", "probe.udp_port", 1, 65535, p.udp_port);
      r.uint(*pt, "window_ms", "probe.window_ms", 100, 86400000, p.window_ms);
      r.uint(*pt, "full_every_ms", "probe.full_every_ms", 100, 86400000, p.full_every_ms);
      r.uint(*pt, "incremental_every_ms", "probe.incremental_every_ms", 10, 86400000, p.incremental_every_ms);
      r.uint(*pt, "timeout_ms", "probe.timeout_ms", 1, 60000, p.timeout_ms);
      r.uint(*pt, "stagger_ms", "probe.stagger_ms", 0, 60000, p.stagger_ms);
      r.uint(*pt, "margin_ms", "probe.margin_ms", 0, 60000, p.margin_ms);
      r.uint(*pt, "lost_after", "probe.lost_after", 1, 100, p.lost_after);
      r.uint(*pt, "tries", "probe.tries", 1, 100, p.tries);
      if (const toml::node* rn = pt->get("ratio")) {
        const std::optional<double> v = rn->value<double>();
        if (!v || *v <= 0 || *v > 1) r.error(*rn, "probe.ratio must be a number in (0, 1]");
        else p.ratio = *v;
      }
    }
  } else if (root.get("collectors") || root.get("probe")) {
    r.error(at((root.get("collectors") ? root.get("collectors") : root.get("probe"))->source()),
            "[[collectors]] and [probe] need a [mirror] section: the port they are reached by");
  }
  if (const toml::table* t = r.table(root, "steering", "[steering]")) {
    r.only_keys(*t, "[steering]", {"service_ports", "other", "hardware"});
    r.choice<port::Rest>(*t, "other", "steering.other",
                         {{"pass", port::Rest::kPass}, {"drop", port::Rest::kDrop}}, c.steering.rest);
    r.boolean(*t, "hardware", "steering.hardware", c.steering.hardware);
    if (const toml::node* n = t->get("service_ports")) {
      const toml::array* a = n->as_array();
      if (!a) r.error(*n, "steering.service_ports must be an array of ports (80) and ranges (\"8000-8099\")");
      for (size_t i = 0; a && i < a->size(); i++) {
        const toml::node& e = *a->get(i);
        port::PortRange pr;
        bool ok = false;
        if (const auto* v = e.as_integer()) {
          ok = v->get() >= 1 && v->get() <= 65535;
          pr.lo = pr.hi = uint16_t(v->get());
        } else if (const auto* str = e.as_string()) {
          unsigned lo = 0, hi = 0;
          char tail = 0;
          ok = std::sscanf(str->get().c_str(), "%u-%u%c", &lo, &hi, &tail) == 2 && lo >= 1 &&
               lo <= hi && hi <= 65535;
          pr.lo = uint16_t(lo);
          pr.hi = uint16_t(hi);
        }
        if (ok)
          c.steering.service_ports.push_back(pr);
        else
          r.error(e, "steering.service_ports[" + std::to_string(i) +
                         "] must be a port from 1 to 65535 or a range \"LO-HI\" within it");
      }
      if (a && a->empty()) r.error(*n, "steering.service_ports is empty; leave it out to inspect every port");
    }
    if (c.steering.rest == port::Rest::kDrop && c.steering.service_ports.empty())
      r.error(at(t->source()), "steering.other = \"drop\" needs steering.service_ports: "
                               "without them nothing would be left to relay");
  }
  if (const toml::table* t = r.table(root, "sensor", "[sensor]")) read_sensor(r, *t, c.sensor);
  if (const toml::table* t = r.table(root, "decap", "[decap]")) {
    r.only_keys(*t, "[decap]", {"max_depth", "vxlan_ports", "geneve_ports"});
    r.uint(*t, "max_depth", "decap.max_depth", 0, 8, c.decap.max_depth);
    // Each list replaces its default; a port in both lists, or a list
    // longer than the parser's fixed array, is refused.
    auto ports = [&](const char* key, std::vector<uint16_t>& out) {
      const toml::node* n = t->get(key);
      if (!n) return;
      const toml::array* a = n->as_array();
      const std::string name = std::string("decap.") + key;
      if (!a) {
        r.error(*n, name + " must be an array of UDP ports, e.g. [4789]");
        return;
      }
      out.clear();
      for (size_t i = 0; i < a->size(); i++) {
        const toml::node& e = *a->get(i);
        const auto* v = e.as_integer();
        if (!v || v->get() < 1 || v->get() > 65535)
          r.error(e, name + "[" + std::to_string(i) + "] must be a UDP port from 1 to 65535");
        else
          out.push_back(uint16_t(v->get()));
      }
      if (a->size() > 8)
        r.error(*n, name + " lists " + std::to_string(a->size()) + " ports; at most 8");
    };
    ports("vxlan_ports", c.decap.vxlan_ports);
    ports("geneve_ports", c.decap.geneve_ports);
    for (uint16_t v : c.decap.vxlan_ports)
      for (uint16_t g : c.decap.geneve_ports)
        if (v == g)
          r.error(*t->get("geneve_ports"), "decap.geneve_ports has " + std::to_string(g) +
                                               ", which decap.vxlan_ports has too; a port "
                                               "carries one tunnel kind");
  }
  read_rules(root, c, errs);

  each_table(r, root, "ports", [&](const toml::table& t, size_t i) {
    c.ports.emplace_back();
    read_port(r, t, i, c.ports.back());
  });

  std::vector<RawPair> pairs;
  each_table(r, root, "pairs", [&](const toml::table& t, size_t i) {
    const std::string ctx = "pairs[" + std::to_string(i) + "]";
    RawPair p;
    p.at = p.a_at = p.b_at = at(t.source());
    r.only_keys(t, "[[pairs]]", {"a", "b"});
    const bool ha = r.string(t, "a", ctx + ".a", p.a, &p.a_at);
    const bool hb = r.string(t, "b", ctx + ".b", p.b, &p.b_at);
    if (!ha || !hb)
      r.error(p.at, ctx + " needs both a and b: the names of the two ports it joins");
    else
      pairs.push_back(p);
  });

  std::vector<RawWorker> workers;
  each_table(r, root, "workers", [&](const toml::table& t, size_t i) {
    const std::string ctx = "workers[" + std::to_string(i) + "]";
    RawWorker w;
    w.at = w.lcore_at = at(t.source());
    r.only_keys(t, "[[workers]]", {"lcore", "queues"});
    if (!r.uint(t, "lcore", ctx + ".lcore", 0, RTE_MAX_LCORE - 1, w.lcore, &w.lcore_at) &&
        !t.get("lcore"))
      r.error(w.at, ctx + " needs lcore: the EAL lcore the worker runs on");
    std::vector<std::string> qs;
    if (r.strings(t, "queues", ctx + ".queues", qs)) {
      const toml::array& a = *t.get("queues")->as_array();
      for (size_t k = 0; k < qs.size(); k++) w.queues.push_back({qs[k], at(a.get(k)->source())});
    }
    if (qs.empty())
      r.error(w.at, ctx + " needs queues = [\"PORT:QUEUE\", ...]: the RX queues it polls");
    workers.push_back(std::move(w));
  });

  check_topology(r, c, pairs, workers, mode_at, lcores_at, main_at, eal != nullptr);
  // The budget last: it sizes what the keys above left out, then checks
  // the whole plan against itself.
  if (errs.empty() && c.worker_memory_mb)
    if (std::string why = apply_memory_budget(c); !why.empty()) r.error(c.worker_memory_at, why);
  if (!errs.empty()) throw ConfigErrors(std::move(errs));
  return c;
}

Config load_config(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    throw ConfigErrors({{path, {0, 0}, std::string("cannot open the startup file: ") +
                                           std::strerror(errno)}});
  std::string text;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  return parse_config(text, path);
}

void parse_listen(const std::string& s, std::string& host, uint16_t& port) {
  // The address must be numeric: the endpoint binds it, and a name that
  // resolves differently later would move it.
  const size_t colon = s.empty() ? std::string::npos : s.front() == '[' ? s.find("]:") + 1 : s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
    throw std::invalid_argument("give ADDR:PORT, e.g. \"127.0.0.1:9464\" or \"[::1]:9464\"");
  std::string h = s.substr(0, colon);
  const std::string p = s.substr(colon + 1);
  unsigned char buf[16];
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
    if (inet_pton(AF_INET6, h.c_str(), buf) != 1)
      throw std::invalid_argument("'" + h + "' is not an IPv6 address");
  } else if (inet_pton(AF_INET, h.c_str(), buf) != 1) {
    throw std::invalid_argument("'" + h + "' is not an IPv4 address (IPv6 goes in brackets: [::1]:9464)");
  }
  char* end = nullptr;
  const unsigned long n = std::strtoul(p.c_str(), &end, 10);
  if (*end || p.empty() || p[0] == '-' || n == 0 || n > 65535)
    throw std::invalid_argument("port '" + p + "' is not 1 to 65535");
  host = h;
  port = uint16_t(n);
}

Config offline_config(const std::string& pcap, const Config* base) {
  Config c;
  if (base) c = *base;
  c.mode = Mode::kOffline;
  c.pcap = pcap;
  if (pcap.find(',') != std::string::npos)
    throw ConfigErrors({{pcap, {0, 0}, "the capture's path contains ',', which DPDK's device "
                                       "arguments cannot carry; rename or link it"}});
  // The worker on lcore 1, the main lcore on 0, each on its own CPU when
  // the process may use two, so that offline runs measure what live runs do.
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int i = 0; i < CPU_SETSIZE && cpus.size() < 2; i++)
      if (CPU_ISSET(i, &set)) cpus.push_back(i);
  if (cpus.empty()) cpus.push_back(0);
  const int w = cpus.size() > 1 ? cpus[1] : cpus[0];
  c.eal = EalConfig{};
  c.eal.lcores = "0@" + std::to_string(cpus[0]) + ",1@" + std::to_string(w);
  c.eal.lcore_ids = {0, 1};
  c.eal.main_lcore = 0;
  c.eal.memory = Memory::kNoHuge;
  c.eal.file_prefix = "loom-offline-" + std::to_string(getpid());
  c.ports.clear();
  PortConfig p;
  p.spec.name = "capture";
  p.spec.device = "net_pcap0,rx_pcap=" + pcap;
  p.spec.rss = false;
  p.spec.link_wait_ms = 0;
  p.spec.promiscuous = false;
  p.spec.rx_timestamp = true;  // flow and gap timers run on capture time
  c.ports.push_back(p);
  c.workers = {WorkerSpec{1, {QueueRef{0, 0}}, {}}};
  c.workers_auto = false;
  return c;
}

}  // namespace ctl
