#include "run.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <stdexcept>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>
#include <systemd/sd-daemon.h>

#include "core/log.h"
#include "core/mem.h"
#include "ctl/collectors.h"
#include "ctl/eal_args.h"
#include "ctl/outputs.h"
#include "ctl/pcap_count.h"
#include "ctl/runtime.h"
#include "ctl/plan.h"
#include "ctl/prefix.h"
#include "ctl/stats_json.h"

#include "ctl/telemetry.h"
#include "port/steer_setup.h"
#include "metrics/metrics.h"
#include "pkt/parse.h"
#include "progress.h"

namespace app {

namespace {

std::atomic<int> g_signals{0};  // lock-free int: async-signal-safe

std::atomic<bool> g_reload{false};  // SIGHUP: the control loop reloads the rules
std::atomic<bool> g_reopen{false};  // SIGUSR1: the sink reopens every output file

void on_signal(int sig) {
  // First signal: a clean stop (drain, flush, final stats). Second: the
  // operator means it; leave now, removing only the runtime directory.
  if (g_signals.fetch_add(1) > 0) {
    ctl::PrefixGuard::remove_now();
    _exit(128 + sig);
  }
  core::request_stop();
}

int fail(const std::string& msg) {
  LOOM_LOG(ERR, "%s", msg.c_str());
  return 1;
}

std::string where(const ctl::Config& c, size_t port, const std::string& key) {
  // Offline ports are Loom's own, not from the file: no position to give.
  if (c.file.empty() || c.mode == ctl::Mode::kOffline) return "";
  const ctl::Where w = c.port_key_at(port, key);
  return c.file + ":" + std::to_string(w.line) + ":" + std::to_string(w.column) + ": ";
}

/* Each port's RSS as programmed, with the worker owning each RX queue. */
std::vector<inspect::PortRss> port_rss(const ctl::Runtime& rt) {
  std::vector<inspect::PortRss> out;
  for (size_t i = 0; i < rt.ports.size(); i++) {
    const port::PortState& p = rt.ports[i];
    if (out.size() <= p.port_id) out.resize(p.port_id + 1u);
    inspect::PortRss& r = out[p.port_id];
    r.active = p.rss_active;
    r.key = p.rss_key;
    r.reta = p.reta;
    r.queue_owner = ctl::queue_owners(rt.cfg, i);
    r.queue_owner.resize(p.spec.rx_queues, -1);
    r.ts_unit_ns = p.rx_timestamp ? p.rx_timestamp_ns : 0;
    r.l4 = (p.rss_hf & (RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP)) != 0;
    if (p.port_id < rt.link_types.size()) r.link_type = rt.link_types[p.port_id];
    if (rt.cfg.mode == ctl::Mode::kOffline) {
      r.snaplen = rt.capture_snaplen;
      r.cut_records = rt.capture_cut;
    }
  }
  return out;
}

/* Builds the workers' contexts: RX queues from the config, and one TX
 * buffer per peer port, on the TX queue this worker owns there. */
void build_workers(ctl::Runtime& rt, rte_mempool* pool, bool have_out_dir,
                   const inspect::MirrorOut& mirror, uint64_t memcap_limit) {
  const ctl::Config& c = rt.cfg;
  inspect::Config ic = ctl::stage_config(c, have_out_dir);
  ic.limits.memcap_bytes = std::min(ic.limits.memcap_bytes, memcap_limit);
  ic.mirror = mirror;
  const auto rss = port_rss(rt);
  const std::vector<ctl::WorkerPlan> plan = ctl::plan_workers(c);
  for (size_t i = 0; i < plan.size(); i++) {
    const ctl::WorkerPlan& wp = plan[i];
    auto w = std::make_unique<core::WorkerCtx>();
    w->id = unsigned(i);
    w->lcore = wp.lcore;
    w->burst = c.burst;
    w->pool = pool;
    w->lossless_rx = c.mode == ctl::Mode::kOffline;
    w->latency = c.latency;
    w->drain_tsc = rte_get_tsc_hz() * c.tx_drain_us / 1000000;
    if (c.inspect) {
      auto st = std::make_unique<inspect::Stage>(ic, unsigned(i),
                                                 int(rte_lcore_to_socket_id(wp.lcore)), rss);
      w->hook = inspect::Stage::burst_hook;
      w->idle_hook = inspect::Stage::idle_hook;
      w->hook_ctx = st.get();
      rt.stages.push_back(std::move(st));
    }
    for (const ctl::TxPlan& t : wp.tx) {
      core::TxBuffer b;
      b.port = rt.ports[t.port].port_id;
      b.queue = t.queue;
      w->txb.push_back(b);
    }
    for (const ctl::RxPlan& r : wp.rx)
      w->rxq.push_back({rt.ports[r.port].port_id, r.queue,
                        r.tx_slot});
    rt.workers.push_back(std::move(w));
  }
}

/* What the periodic summary line compares against: the last line's sums. */
struct SummaryMark {
  uint64_t tsc = 0;
  uint64_t rx = 0, tx = 0;
};

/* One line, every log.summary_seconds: rates since the last line, then
 * what an operator checks first (drops, flows, messages, gaps, lost
 * records). */
void log_periodic(const ctl::Runtime& rt, SummaryMark& m, uint64_t now) {
  const ctl::Totals t = ctl::totals(rt);
  const double dt = m.tsc ? double(now - m.tsc) / double(rte_get_tsc_hz()) : 0;
  uint64_t drops = 0, flows = 0, msgs = 0, gaps = 0, malformed = 0;
  const uint64_t lost = ctl::record_drops(rt).all();
  for (uint64_t d : t.drops) drops += d;
  for (const auto& st : rt.stages) {
    flows += st->flow_stats.active.get();
    msgs += st->http_stats.requests.get() + st->http_stats.responses.get();
    gaps += st->reasm_stats.gaps.get();
    for (const auto& c : st->pkt_stats.malformed) malformed += c.get();
  }
  uint64_t imissed = 0;
  for (const auto& p : rt.ports) {
    rte_eth_stats s{};
    if (rte_eth_stats_get(p.port_id, &s) == 0) imissed += s.imissed + s.rx_nombuf;
  }
  LOOM_LOG(INFO,
           "summary: rx %" PRIu64 " packets (%.0f/s), tx %" PRIu64 " (%.0f/s), drops %" PRIu64
           ", port rx missed %" PRIu64 ", malformed %" PRIu64 ", flows %" PRIu64
           ", HTTP messages %" PRIu64 ", gaps %" PRIu64 ", records lost %" PRIu64,
           t.rx_packets, dt > 0 ? double(t.rx_packets - m.rx) / dt : 0.0, t.tx_packets,
           dt > 0 ? double(t.tx_packets - m.tx) / dt : 0.0, drops, imissed, malformed, flows, msgs,
           gaps, lost);
  m = {now, t.rx_packets, t.tx_packets};
}

void log_summary(const ctl::Runtime& rt, double wall) {
  const ctl::Totals t = ctl::totals(rt);
  LOOM_LOG(INFO, "stopped (%s) after %.3f s: rx %" PRIu64 " packets / %" PRIu64
                 " bytes, tx %" PRIu64 " packets, tx_full drops %" PRIu64,
           rt.end_reason.c_str(), wall, t.rx_packets, t.rx_bytes, t.tx_packets,
           t.drops[size_t(core::Drop::tx_full)]);
}

/* One run, start to stop, as the phases run() calls in order. Each phase
 * returns an exit code (0: go on); a phase that fails has logged why. The
 * members are declared in the order they must outlive each other: the
 * counting thread holds the Runtime and its flag, the prefix guard
 * removes the runtime directory after everything else. */
class Run {
 public:
  Run(ctl::Config cfg, const RunOptions& opt) : opt_(opt), rt_(std::make_unique<ctl::Runtime>()) {
    rt_->cfg = std::move(cfg);
    rt_->version = LOOM_VERSION;
  }
  // Any return stops the count first: the future's destructor waits for
  // its thread, which checks the flag before each read.
  ~Run() { stop_counting_ = true; }

  int prepare();
  int start_eal();
  int start_ports();
  void check_flows_done();
  int build();
  int launch();
  void watch(bool ready);
  int finish(int rc);
  void teardown();

 private:
  void counted(bool wait);

  const RunOptions& opt_;
  std::unique_ptr<ctl::Runtime> rt_;
  std::unique_ptr<ctl::PrefixGuard> prefix_guard_;
  std::atomic<bool> stop_counting_{false};
  std::future<std::optional<uint64_t>> counting_;
  uint64_t most_records_ = UINT64_MAX;
  uint32_t capture_link_ = pkt::kLinkEthernet;
  ctl::PoolPlan pool_plan_;
  rte_mempool* pool_ = nullptr;
  bool pdump_ = false;
  std::unique_ptr<metrics::Server> metrics_server_;
  inspect::MirrorOut mirror_;
  std::vector<inspect::Stage*> stages_;
  uint64_t t0_ = 0;  // the workers' launch (TSC)
};

/* Logging, the one-Loom-per-prefix guard, the output directory, and
 * offline the capture's link type and its record count (started on a
 * thread of its own); then the pool plan against the machine. */
int Run::prepare() {
  ctl::Runtime& rt = *rt_;
  const ctl::Config& c = rt.cfg;
  core::log_to_stderr(c.log.json ? core::LogFormat::kJson : core::LogFormat::kText);
  // logrotate may signal at any time, start-up included: never fatal.
  std::signal(SIGUSR1, [](int) { g_reopen.store(true); });

  // One Loom per EAL prefix, checked before anything is touched (a second
  // one must not take the first one's telemetry socket, nor its outputs);
  // from here every way out removes the runtime directory (ctl/prefix.h).
  try {
    prefix_guard_ = std::make_unique<ctl::PrefixGuard>(c.eal.file_prefix);
  } catch (const std::runtime_error& e) {
    return fail(e.what());
  }
  ctl::PrefixGuard::install_crash_handlers();
  if (!opt_.out_dir.empty()) {
    std::string moved;
    const std::string why = sink::prepare_dir(opt_.out_dir, c.outputs.existing, &moved);
    if (!why.empty()) return fail(why);
    if (!moved.empty()) LOOM_LOG(INFO, "outputs: the earlier run's files moved to %s", moved.c_str());
  }

  // Offline, the capture's records are counted (net_pcap gives no end of
  // file) on a thread of their own while EAL starts (which on a CPU that
  // does not report its TSC rate sleeps 100 ms to measure it) and the worker
  // runs: reading a 0.6 GB capture's headers takes about 0.1 s, which was
  // start-up time while it came first. The thread starts before EAL pins
  // the main thread, so it is not pinned; it is done, on a capture that
  // size, about when the worker starts.
  if (c.mode == ctl::Mode::kOffline) {
    // net_pcap passes each record's bytes on whatever the file's link
    // type; the parser is told it, and a link type it cannot decode stops
    // the run here rather than counting every frame as non-IP.
    try {
      capture_link_ = ctl::capture_link_type(c.pcap);
      rt.capture_snaplen = ctl::capture_snaplen(c.pcap);
      rt.capture_cut = ctl::capture_has_cut_records(c.pcap);
    } catch (const std::runtime_error& e) {
      return fail(e.what());
    }
    counting_ = std::async(std::launch::async, [&c, this, &rt] {
      return ctl::count_pcap_records(c.pcap, &stop_counting_, &rt.capture_damage);
    });
    struct stat st;
    if (::stat(c.pcap.c_str(), &st) == 0 && st.st_size > 24) most_records_ = uint64_t(st.st_size - 24) / 16;
  }

  pool_plan_ = ctl::plan_pool(c, most_records_);
  // The whole plan against the machine, before EAL or any table exists:
  // an oversized key otherwise ends in bad_alloc or an EAL failure.
  if (std::string why = ctl::check_machine(c, pool_plan_.mbufs, ctl::machine_memory_bytes()); !why.empty())
    return fail(why);
  if (std::string why = ctl::memory_precheck(c); !why.empty()) return fail(why);
  if (pool_plan_.memcap_cut)
    LOOM_LOG(WARNING, "mempool.mbufs = %u: reassembly may hold at most %" PRIu64
             " mbufs per worker (%.1f MiB, below reassembly.memcap_mb = %u) so that RX always "
             "finds free mbufs",
             pool_plan_.mbufs, pool_plan_.held_per_worker, double(pool_plan_.memcap_limit) / (1 << 20),
             c.reasm.memcap_mb);
  return 0;
}

/* The offline count, once done (or waited for). */
void Run::counted(bool wait) {
  if (!counting_.valid()) return;
  if (!wait && counting_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
  if (auto n = counting_.get()) {
    rt_->capture_packets = *n;
    rt_->capture_count_known = true;
  }
}

/* EAL (telemetry registered before it starts), the mbuf pool, and live
 * dpdk-dumpcap support. */
int Run::start_eal() {
  ctl::Runtime& rt = *rt_;
  const ctl::Config& c = rt.cfg;
  const uint32_t mbufs = pool_plan_.mbufs;
  std::vector<std::string> args = ctl::eal_args(c, mbufs, c.inspect ? ctl::inspect_memory_mb(c) : 0);
  std::vector<char*> argv;
  std::string joined;
  for (auto& a : args) {
    argv.push_back(a.data());
    joined += a + " ";
  }
  argv.push_back(nullptr);
  LOOM_LOG(INFO, "EAL arguments: %s", joined.c_str());

  ctl::register_telemetry(&rt);
  if (rte_eal_init(int(args.size()), argv.data()) < 0) {
    return fail(std::string("DPDK EAL failed to start (") + rte_strerror(rte_errno) +
                "); see the EAL lines above. Common causes: memory mode \"hugepages\" "
                "without free hugepages, an lcore outside this machine's CPUs, or another "
                "Loom using file_prefix \"" + c.eal.file_prefix + "\"");
  }
  // EAL sets its own default stream (stdout and syslog) during init;
  // ours, set before, stays first: stdout is kept for results.
  core::log_to_stderr(c.log.json ? core::LogFormat::kJson : core::LogFormat::kText);
  if (c.eal.telemetry)
    LOOM_LOG(INFO, "telemetry socket %s/dpdk_telemetry.v2 (dpdk-telemetry.py -f %s)",
             rte_eal_get_runtime_dir(), c.eal.file_prefix.c_str());
  rt.start_tsc = rte_get_tsc_cycles();

  // A port whose device or peer reads mbufs needs the pool in EAL memory;
  // the mirror port receives into this pool too.
  bool dma = c.mirror.enabled && !port::mbufs_stay_in_process(c.mirror.device);
  for (const auto& p : c.ports) dma |= !port::mbufs_stay_in_process(p.spec.device);
  pool_ = core::mem::pktmbuf_pool_create("loom_mbufs", mbufs, c.mempool_cache, c.mbuf_data_room,
                                         int(rte_socket_id()), dma);
  if (!pool_) {
    rte_eal_cleanup();
    return fail("cannot create the mbuf pool of " + std::to_string(mbufs) + " mbufs (" +
                rte_strerror(rte_errno) + "); raise eal.memory_mb or lower mempool.mbufs");
  }
  LOOM_LOG(INFO, "mbuf pool: %u mbufs of %u bytes", mbufs, c.mbuf_data_room);

  // dpdk-dumpcap is a secondary process: it needs the shared config and
  // memory it can map, which only hugepages mode has (in-memory and
  // no-huge run without them, by EAL's design).
  if (c.mode != ctl::Mode::kOffline) {
    if (c.eal.memory == ctl::Memory::kHugepages && rte_pdump_init() == 0) {
      pdump_ = true;
      LOOM_LOG(INFO, "dpdk-dumpcap can capture from the ports: dpdk-dumpcap --file-prefix=%s -i DEVICE",
               c.eal.file_prefix.c_str());
    } else {
      LOOM_LOG(INFO, "dpdk-dumpcap is not available: %s", c.eal.memory == ctl::Memory::kHugepages
               ? rte_strerror(rte_errno)
               : "it needs eal.memory = \"hugepages\" (in-memory and no-huge have no memory a "
                 "secondary process can map)");
    }
  }
  return 0;
}

/* Every port started (a signal from here asks for a clean stop, even
 * during a link wait), then steering (port/steer_setup.h). */
int Run::start_ports() {
  ctl::Runtime& rt = *rt_;
  const ctl::Config& c = rt.cfg;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGHUP, [](int) { g_reload.store(true); });  // re-read the rules
  for (size_t i = 0; i < c.ports.size() && !core::stop_requested(); i++) {
    try {
      port::PortState st = port::setup_port(c.ports[i].spec, pool_);
      LOOM_LOG(INFO, "port %s (%s, id %u): %u rx / %u tx queues, link %s", st.spec.name.c_str(),
               st.driver.c_str(), st.port_id, st.spec.rx_queues, st.spec.tx_queues,
               st.link_up ? "up" : "down");
      if (st.rss_active)
        LOOM_LOG(INFO, "port %s RSS: %s", st.spec.name.c_str(), st.symmetry.summary().c_str());
      for (const auto& d : st.degraded)
        LOOM_LOG(WARNING, "port %s degraded: %s", st.spec.name.c_str(), d.c_str());
      // Live ports are Ethernet; the offline port reads the capture's.
      if (rt.link_types.size() <= st.port_id) rt.link_types.resize(st.port_id + 1u, pkt::kLinkEthernet);
      if (c.mode == ctl::Mode::kOffline) {
        rt.link_types[st.port_id] = uint16_t(capture_link_);
        if (capture_link_ != pkt::kLinkEthernet)
          LOOM_LOG(INFO, "capture link type %u (%s)", capture_link_, pkt::link_name(capture_link_));
      }
      if (c.mode != ctl::Mode::kOffline) rt.links.add(st.port_id, st.spec.name, st.link_up);
      rt.ports.push_back(std::move(st));
    } catch (const port::SetupError& e) {
      return fail(where(c, i, e.setting) + "port \"" + c.ports[i].spec.name + "\": " + e.what());
    }
  }
  rt.steering = port::steer_ports(rt.ports, c.steering, opt_.check_flows);
  return 0;
}

/* --check-flows: the rules are printed; nothing else starts. */
void Run::check_flows_done() {
  ctl::Runtime& rt = *rt_;
  for (size_t i = 0; i < rt.ports.size(); i++) port::uninstall(rt.ports[i].port_id, rt.steering[i]);
  for (const auto& p : rt.ports) port::close_port(p.port_id);
  rte_eal_cleanup();
}

/* The metrics server, the mirror port, the workers and their stages, the
 * collectors' prober, the rules, the outputs and their sink threads. */
int Run::build() {
  ctl::Runtime& rt = *rt_;
  const ctl::Config& c = rt.cfg;
  int rc = 0;
  // Scrapes answer loom_ctl_ready 0 until the workers run.
  if (!c.metrics.listen.empty()) {
    try {
      metrics_server_ = std::make_unique<metrics::Server>(&rt, c.metrics.host, c.metrics.port);
      LOOM_LOG(INFO, "metrics on http://%s/metrics", c.metrics.listen.c_str());
    } catch (const std::exception& e) {
      return fail((c.file.empty() ? std::string() : c.file + ": ") + e.what());
    }
  }
  if (c.mirror.enabled)
    if (std::string why = ctl::setup_mirror(rt, pool_, mirror_); !why.empty()) return fail(why);

  try {
    build_workers(rt, pool_, !opt_.out_dir.empty(), mirror_, pool_plan_.memcap_limit);
  } catch (const std::exception& e) {
    rc = fail(e.what());
  }
  for (auto& st : rt.stages) stages_.push_back(st.get());
  rt.rules.attach(stages_);
  if (rc == 0 && mirror_.chosen) {
    try {
      rt.prober = ctl::make_prober(rt, mirror_, stages_);
      rt.prober->start();
    } catch (const std::exception& e) {
      rc = fail(std::string("[[collectors]]: ") + e.what());
    }
  }
  if (std::string err; rc == 0 && !rt.rules.load(c.rules, &err)) rc = fail("rules: " + err);
  rt.ready.store(rc == 0, std::memory_order_release);
  if (core::stop_requested()) rc = fail("stopped by a signal during start-up");
  if (rc == 0)
    if (std::string why = ctl::open_outputs(rt, stages_, opt_.out_dir); !why.empty()) rc = fail(why);
  if (rc == 0) rt.sinks.start(c.outputs.sink_threads);
  return rc;
}

/* Every worker on its lcore; on a failure the ones launched are asked to
 * stop (the control loop then ends at once). */
int Run::launch() {
  for (auto& w : rt_->workers) {
    if (!rte_lcore_is_enabled(w->lcore))
      return fail("worker lcore " + std::to_string(w->lcore) + " is not enabled in EAL");
    const int lr = rte_eal_remote_launch(core::worker_main, w.get(), w->lcore);
    if (lr != 0)
      return fail("cannot launch the worker on lcore " + std::to_string(w->lcore) + ": " +
                  (lr == -EBUSY ? std::string("the lcore is busy") : rte_strerror(-lr)));
    LOOM_LOG(INFO, "worker %u on lcore %u: %zu RX queue(s), %zu TX buffer(s)", w->id,
             w->lcore, w->rxq.size(), w->txb.size());
  }
  return 0;
}

/* The control loop: the main lcore only watches (links, summary lines,
 * progress, the systemd watchdog, reopen and reload signals, live
 * stats.json, --duration). Offline, it ends the run when every record of
 * the capture has been received (net_pcap has no EOF), or after a quiet
 * period with no progress (a record the PMD refused, or a capture of
 * unknown length). `ready`: every worker runs (systemd is told). */
void Run::watch(bool ready) {
  ctl::Runtime& rt = *rt_;
  const ctl::Config& c = rt.cfg;
  const uint64_t hz = rte_get_tsc_hz();
  t0_ = rte_get_tsc_cycles();
  const uint64_t t0 = t0_;
  uint64_t last_rx = 0, last_progress = t0;
  Progress progress(opt_.progress && c.mode == ctl::Mode::kOffline);
  SummaryMark mark{t0, 0, 0};
  const bool poll = c.mode != ctl::Mode::kOffline && c.log.link_poll_ms;
  uint64_t next_link = t0 + hz * c.log.link_poll_ms / 1000;
  uint64_t next_summary = t0 + hz * c.log.summary_seconds;
  uint64_t next_progress = t0;
  // systemd (Type=notify): ready once every port is up and every worker
  // runs; the watchdog, when the unit sets one, is fed from this loop.
  uint64_t watchdog_usec = 0, last_ping = t0, last_stats = t0;
  if (ready) {
    sd_notifyf(0, "READY=1\nSTATUS=%zu port(s), %zu worker(s) running", rt.ports.size(),
               rt.workers.size());
    if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) watchdog_usec = 0;
  }
  const bool live_stats = c.mode != ctl::Mode::kOffline && !opt_.out_dir.empty() &&
                          c.outputs.stats_seconds > 0;
  while (!core::stop_requested()) {
    rte_delay_us_sleep(5000);
    const uint64_t now = rte_get_tsc_cycles();
    // Links every log.link_poll_ms: an ioctl per kernel-backed port, off
    // the fast path; each change logged and counted (port/link.h).
    if (poll && now >= next_link) {
      rt.links.poll();
      next_link = now + hz * c.log.link_poll_ms / 1000;
    }
    if (c.log.summary_seconds && now >= next_summary) {
      log_periodic(rt, mark, now);
      next_summary = now + hz * c.log.summary_seconds;
    }
    if (progress.on() && now >= next_progress) {
      counted(false);
      progress.update(ctl::totals(rt).rx_packets, rt.capture_count_known ? rt.capture_packets : 0,
                      double(now - t0) / hz);
      next_progress = now + hz / 4;
    }
    if (watchdog_usec && now - last_ping >= hz * watchdog_usec / 2000000) {
      sd_notify(0, "WATCHDOG=1");
      last_ping = now;
    }
    if (g_reopen.exchange(false)) {
      rt.sinks.request_reopen();
      LOOM_LOG(INFO, "outputs: reopening every file (SIGUSR1)");
    }
    // stats.json while live: replaced whole (write, fsync, rename), so a
    // reader never sees half of it.
    if (live_stats && now - last_stats >= hz * c.outputs.stats_seconds) {
      last_stats = now;
      if (!ctl::write_file_durable(opt_.out_dir + "/stats.json", ctl::stats_json(rt)))
        LOOM_LOG(WARNING, "cannot write %s/stats.json: %s", opt_.out_dir.c_str(), std::strerror(errno));
    }
    if (opt_.duration_s > 0 && double(now - t0) / hz >= opt_.duration_s) {
      rt.end_reason = "duration";
      core::request_stop();
      break;
    }
    if (g_reload.exchange(false) && !c.file.empty()) {
      std::string err;
      sd_notify(0, "RELOADING=1");
      const bool reloaded = rt.rules.reload(c.file, &err);
      sd_notify(0, "READY=1");
      if (reloaded)
        LOOM_LOG(INFO, "rules reloaded from %s: generation %" PRIu64, c.file.c_str(),
                 rt.rules.view().generation);
      else
        LOOM_LOG(ERR, "rules reload refused, the running rules stay: %s", err.c_str());
    }
    if (c.mode != ctl::Mode::kOffline) continue;
    counted(false);
    const uint64_t rx = ctl::totals(rt).rx_packets;
    if (rt.capture_count_known && rx >= rt.capture_packets) {
      // Past a damaged header net_pcap reads the bytes that follow as
      // records: stop at the good ones and say so, not "capture-end".
      rt.end_reason = rt.capture_damage.found ? "capture-damaged" : "capture-end";
      core::request_stop();
    } else if (rx != last_rx) {
      last_rx = rx;
      last_progress = now;
    } else if (now - last_progress > hz * c.offline_quiet_ms / 1000) {
      rt.end_reason = rt.capture_count_known ? "quiet-short" : "quiet";
      core::request_stop();
    }
  }
  if (rt.end_reason.empty()) rt.end_reason = g_signals ? "signal" : "error";
  sd_notify(0, "STOPPING=1");
  // The sink thread keeps draining while the workers finish their last
  // loop (a lossless worker may be waiting for room in its ring).
  rte_eal_mp_wait_lcore();
  if (rt.end_reason == "signal") stop_counting_ = true;  // no count needed: not waited for
  counted(true);
  progress.finish(ctl::totals(rt).rx_packets, rt.capture_count_known ? rt.capture_packets : 0,
                  double(rte_get_tsc_cycles() - t0) / hz);
}

/* The workers are gone: their flows are ended, the outputs flushed, the
 * run judged (offline: every record received, every Kafka record
 * delivered), summed up and its stats written. */
int Run::finish(int rc) {
  ctl::Runtime& rt = *rt_;
  const ctl::Config& c = rt.cfg;
  const uint64_t hz = rte_get_tsc_hz();
  // Offline this is the capture's end; live, a shutdown.
  const flow::End why =
      c.mode == ctl::Mode::kOffline ? flow::End::kCaptureEnd : flow::End::kShutdown;
  // Full rings while ending flows here: the sink thread is still running
  // and frees them; wait a moment.
  for (inspect::Stage* st : stages_)
    st->finish(why, [](void*) { rte_delay_us_sleep(100); }, nullptr);
  if (!rt.sinks.stop()) rc = fail(std::string("cannot write the outputs: ") + std::strerror(errno));
  if (rt.kafka && rt.kafka->undelivered()) {
    // Live, each loss was counted as it happened; offline nothing may be
    // lost, so the run fails and says how many.
    const uint64_t n = rt.kafka->undelivered(), all = rt.kafka->records();
    LOOM_LOG(ERR, "kafka: %" PRIu64 " of %" PRIu64 " records not delivered to %s within %u ms (%s)",
             n, all, rt.kafka->brokers().c_str(), c.outputs.kafka.delivery_timeout_ms,
             rt.kafka->first_error().empty() ? "see the kafka counters" : rt.kafka->first_error().c_str());
    if (c.mode == ctl::Mode::kOffline) rc = 1;
  }
  const double wall = double(rte_get_tsc_cycles() - t0_) / hz;
  log_summary(rt, wall);
  if (c.mode == ctl::Mode::kOffline && rt.capture_damage.found) {
    // net_pcap does not stop at the bad header: what it read after it
    // (the frames past the good records) is bytes taken for records.
    const uint64_t rx = ctl::totals(rt).rx_packets;
    LOOM_LOG(ERR, "%s; net_pcap delivered %" PRIu64 " frame(s), %" PRIu64
                  " of them read past the damage, before Loom stopped",
             rt.capture_damage.str(c.pcap).c_str(), rx,
             rx > rt.capture_packets ? rx - rt.capture_packets : 0);
    rc = 1;
  } else if (c.mode == ctl::Mode::kOffline && rt.capture_count_known &&
             ctl::totals(rt).rx_packets != rt.capture_packets && rt.end_reason != "signal") {
    const uint64_t rx = ctl::totals(rt).rx_packets;
    if (rx < rt.capture_packets)
      LOOM_LOG(ERR, "capture has %" PRIu64 " packets but only %" PRIu64 " were received",
               rt.capture_packets, rx);
    else
      LOOM_LOG(ERR, "capture has %" PRIu64 " packets by its record headers but %" PRIu64
                    " were received", rt.capture_packets, rx);
    rc = 1;
  }
  if (!opt_.out_dir.empty()) {
    if (!ctl::write_file_durable(opt_.out_dir + "/stats.json", ctl::stats_json(rt)) ||
        !ctl::write_file_durable(opt_.out_dir + "/run.json", ctl::run_json(rt, wall)))
      rc = fail("cannot write stats into " + opt_.out_dir + ": " + std::strerror(errno));
  }
  if (c.mode == ctl::Mode::kOffline && rc == 0) {
    const ctl::Totals t = ctl::totals(rt);
    uint64_t v4 = 0, v6 = 0, tcp = 0, bad = 0, conns = 0, gaps = 0;
    for (const auto& st : rt.stages) {
      v4 += st->pkt_stats.ipv4.get();
      v6 += st->pkt_stats.ipv6.get();
      tcp += st->pkt_stats.tcp.get();
      for (const auto& m : st->pkt_stats.malformed) bad += m.get();
      conns += st->flow_stats.inserts.get() + st->flow_stats.reused.get();
      gaps += st->reasm_stats.gaps.get();
    }
    std::printf("loom: %s: %" PRIu64 " packets, %" PRIu64 " bytes (IPv4 %" PRIu64
                ", IPv6 %" PRIu64 ", TCP %" PRIu64 ", malformed %" PRIu64 "), %" PRIu64
                " TCP connections, %" PRIu64 " gaps, in %.3f s; output in %s\n",
                c.pcap.c_str(), t.rx_packets, t.rx_bytes, v4, v6, tcp, bad, conns, gaps, wall,
                opt_.out_dir.c_str());
  }
  return rc;
}

/* Everything started, stopped in the order each user goes away. */
void Run::teardown() {
  ctl::Runtime& rt = *rt_;
  rt.ready.store(false, std::memory_order_release);
  metrics_server_.reset();  // joins its thread: no scrape reads what goes next
  if (rt.prober) rt.prober->stop();  // the workers have stopped: its targets may go
  rt.rules.detach();
  rt.sinks.stop();    // before the rings it drains go away
  rt.stages.clear();  // their tables and rings live in EAL memory
  for (size_t i = 0; i < rt.steering.size(); i++) port::uninstall(rt.ports[i].port_id, rt.steering[i]);
  for (const auto& p : rt.ports) port::close_port(p.port_id);
  for (uint16_t p : rt.ports_to_close) port::close_port(p);
  if (pdump_) rte_pdump_uninit();
  rte_eal_cleanup();
  // EAL leaves its runtime directory (and the telemetry socket, unlinked
  // only at exit) and, in hugepages mode, its page files behind: the
  // prefix guard removes them as run() returns.
  // The telemetry thread may still hold the Runtime; EAL cleanup has
  // stopped it.
}

}  // namespace

int run(ctl::Config cfg, const RunOptions& opt) {
  Run r(std::move(cfg), opt);
  if (int rc = r.prepare()) return rc;
  if (int rc = r.start_eal()) return rc;
  int rc = r.start_ports();
  if (rc == 0 && opt.check_flows) {
    r.check_flows_done();
    return 0;
  }
  if (rc == 0) rc = r.build();
  if (rc == 0) {
    rc = r.launch();
    if (rc != 0) core::request_stop();
    r.watch(rc == 0);
    rc = r.finish(rc);
  }
  r.teardown();
  return rc;
}

}  // namespace app
