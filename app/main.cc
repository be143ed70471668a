/* loom: the command line. See README.md and docs/operations.md. */
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include <rte_cpuflags.h>
#include <rte_version.h>

#include "ctl/config.h"
#include "run.h"
#include "version.h"

namespace {

const char kUsage[] =
    "usage:\n"
    "  loom --config FILE [--out DIR] [--duration SECONDS]\n"
    "        run the appliance from a startup file\n"
    "  loom --check-config FILE\n"
    "        validate a startup file: exit 0, or 1 listing every error\n"
    "  loom --pcap IN.pcap --out DIR [--config FILE] [--quiet]\n"
    "        offline: run the pipeline on a capture through net_pcap, exit\n"
    "        when the capture is consumed; on a terminal a progress line\n"
    "        shows records done of total, packets/s and time left (--quiet:\n"
    "        none)\n"
    "  loom --check-flows FILE\n"
    "        set up the ports of a startup file and print, per port, the\n"
    "        rte_flow rules steering would install and whether the port\n"
    "        accepts them (else: software fallback)\n"
    "  loom --version | --help\n"
    "\n"
    "options:\n"
    "  --existing refuse|append|rotate|replace\n"
    "        what to do with an earlier run's files in the output directory\n"
    "        (overrides [outputs] existing; default refuse)\n"
    "  --quiet  no offline progress line on a terminal\n"
    "\n"
    "output files (in --out DIR, or outputs.dir live):\n"
    "  streams.jsonl    one line per connection direction: bytes, sha256, gaps\n"
    "  messages.jsonl   one line per HTTP message\n"
    "  http.gor         goreplay's format\n"
    "  packets.pcap     packets of exported connections (outputs.pcap = true)\n"
    "                   (all four rotate with outputs.rotate_mb/_seconds)\n"
    "  stats.json       every counter, at exit (live: every outputs.stats_seconds)\n"
    "  run.json         wall time, polls, rate, end reason, written at exit\n"
    "\n"
    "signals:\n"
    "  SIGINT, SIGTERM  first: clean stop (drain, flush, stats); second: exit at once\n"
    "  SIGHUP           reload the rules of the startup file\n"
    "  SIGUSR1          reopen every output file (after logrotate)\n"
    "\n"
    "exit status:\n"
    "  0    success (a clean stop by signal or --duration included)\n"
    "  1    bad startup file, an earlier run's files (existing = refuse), the\n"
    "       file_prefix held by another Loom, start-up failure, lost records\n"
    "       offline, write error\n"
    "  2    usage error\n"
    "  130  second SIGINT; 143 second SIGTERM (128 + signal, nothing flushed)\n"
    "\n"
    "Metrics: [metrics] listen = \"ADDR:PORT\" serves /metrics. Telemetry:\n"
    "dpdk-telemetry.py -f PREFIX, commands /loom/*. Docs: docs/operations.md.\n";

/* The CPU features this binary was compiled to use (DPDK's pkg-config
 * -march and any added), and which of the notable ones this host has:
 * Hyperscan picks its own code path from the host's at run time. */
void print_version() {
  std::printf("loom %s (git %s)\n", LOOM_VERSION, LOOM_GIT_COMMIT);
  std::printf("built: %s, %s %s, against DPDK %d.%02d.%d\n", LOOM_BUILD_TYPE,
#if defined(__clang__)
              "clang", __clang_version__,
#else
              "gcc", __VERSION__,
#endif
              RTE_VER_YEAR, RTE_VER_MONTH, RTE_VER_MINOR);
  std::printf("runtime: %s\n", rte_version());
  std::printf("cpu features compiled in:");
#ifdef __SSE4_2__
  std::printf(" sse4.2");
#endif
#ifdef __POPCNT__
  std::printf(" popcnt");
#endif
#ifdef __PCLMUL__
  std::printf(" pclmul");
#endif
#ifdef __AES__
  std::printf(" aes");
#endif
#ifdef __AVX__
  std::printf(" avx");
#endif
#ifdef __AVX2__
  std::printf(" avx2");
#endif
#ifdef __BMI2__
  std::printf(" bmi2");
#endif
#ifdef __AVX512F__
  std::printf(" avx512f");
#endif
#ifdef __AVX512BW__
  std::printf(" avx512bw");
#endif
  std::printf("\n");
  static const std::pair<rte_cpu_flag_t, const char*> kHost[] = {
      {RTE_CPUFLAG_SSE4_2, "sse4.2"}, {RTE_CPUFLAG_AVX2, "avx2"},     {RTE_CPUFLAG_BMI2, "bmi2"},
      {RTE_CPUFLAG_AVX512F, "avx512f"}, {RTE_CPUFLAG_AVX512BW, "avx512bw"},
      {RTE_CPUFLAG_INVTSC, "invariant-tsc"}};
  std::printf("this host has:");
  for (const auto& [flag, name] : kHost)
    if (rte_cpu_get_flag_enabled(flag) > 0) std::printf(" %s", name);
  std::printf("\n");
}

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "loom: %s\n%s", msg.c_str(), kUsage);
  return 2;
}

bool make_dir(const std::string& d) {
  // mkdir -p: every prefix, tolerating ones that exist.
  for (size_t i = 1; i <= d.size(); i++) {
    if (i < d.size() && d[i] != '/') continue;
    const std::string p = d.substr(0, i);
    if (::mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // The summary goes to stdout after the outputs are written; a reader
  // that has gone away must not turn a finished run into a SIGPIPE death.
  // Writes to stdout then fail with EPIPE; only the summary is lost.
  std::signal(SIGPIPE, SIG_IGN);
  std::optional<std::string> config, check, pcap, out;
  std::optional<std::string> existing;
  double duration = 0;
  bool check_flows = false, quiet = false;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto next = [&](const char* what) -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      (void)what;
      return std::string(argv[++i]);
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      print_version();
      return 0;
    } else if (a == "--quiet" || a == "-q") {
      quiet = true;
    } else if (a == "--config") {
      if (!(config = next("FILE"))) return usage_error("--config needs a FILE");
    } else if (a == "--check-config") {
      if (!(check = next("FILE"))) return usage_error("--check-config needs a FILE");
    } else if (a == "--check-flows") {
      if (!(config = next("FILE"))) return usage_error("--check-flows needs a FILE");
      check_flows = true;
    } else if (a == "--pcap") {
      if (!(pcap = next("IN.pcap"))) return usage_error("--pcap needs a capture file");
    } else if (a == "--out") {
      // An empty DIR would mean "no outputs" further on: a run that writes
      // nothing, silently. Refuse it as the typo it is.
      if (!(out = next("DIR")) || out->empty()) return usage_error("--out needs a directory");
    } else if (a == "--existing") {
      if (!(existing = next("MODE")) ||
          (*existing != "refuse" && *existing != "append" && *existing != "rotate" &&
           *existing != "replace"))
        return usage_error("--existing needs refuse, append, rotate or replace");
    } else if (a == "--duration") {
      auto v = next("SECONDS");
      char* end = nullptr;
      if (!v || (duration = std::strtod(v->c_str(), &end), *end) || duration <= 0)
        return usage_error("--duration needs a positive number of seconds");
    } else {
      return usage_error("unknown argument '" + a + "'");
    }
  }

  if (check) {
    try {
      const ctl::Config c = ctl::load_config(*check);
      std::printf("%s: OK (%s mode, %zu port(s), %zu worker(s))\n", check->c_str(),
                  ctl::mode_name(c.mode), c.ports.size(), c.workers.size());
      if (c.worker_memory_mb)
        std::printf("%s: worker.memory_mb = %u: flow.max_flows_per_worker = %u, "
                    "reassembly.memcap_mb = %u\n",
                    check->c_str(), c.worker_memory_mb, c.flow.max_flows_per_worker, c.reasm.memcap_mb);
      return 0;
    } catch (const ctl::ConfigErrors& e) {
      std::fputs(e.what(), stderr);
      std::fprintf(stderr, "%s: %zu error(s)\n", check->c_str(), e.errors.size());
      return 1;
    }
  }

  app::RunOptions opt;
  opt.duration_s = duration;
  opt.check_flows = check_flows;
  opt.progress = !quiet && ::isatty(STDERR_FILENO);
  if (check_flows && (pcap || out || duration > 0))
    return usage_error("--check-flows takes only the startup file");
  ctl::Config cfg;
  try {
    std::optional<ctl::Config> base;
    if (config) base = ctl::load_config(*config);
    if (pcap) {
      if (!out) return usage_error("--pcap needs --out DIR");
      if (duration > 0)
        return usage_error("--duration applies to live runs; an offline run ends with its capture");
      if (::access(pcap->c_str(), R_OK) != 0) {
        std::fprintf(stderr, "loom: cannot read the capture %s: %s\n", pcap->c_str(),
                     std::strerror(errno));
        return 1;
      }
      cfg = ctl::offline_config(*pcap, base ? &*base : nullptr);
    } else if (base) {
      if (base->mode == ctl::Mode::kOffline)
        return usage_error(*config + " has mode = \"offline\": run it with --pcap IN.pcap --out DIR");
      cfg = std::move(*base);
    } else {
      return usage_error("nothing to do: give --config FILE or --pcap IN.pcap --out DIR");
    }
  } catch (const ctl::ConfigErrors& e) {
    std::fputs(e.what(), stderr);
    return 1;
  }
  if (existing)
    cfg.outputs.existing = *existing == "append"   ? sink::Existing::kAppend
                           : *existing == "rotate"  ? sink::Existing::kRotate
                           : *existing == "replace" ? sink::Existing::kReplace
                                                    : sink::Existing::kRefuse;
  // outputs.dir in the startup file is the default --out of live runs.
  if (!out && !cfg.outputs.dir.empty() && cfg.mode != ctl::Mode::kOffline) out = cfg.outputs.dir;
  if (out) {
    if (!make_dir(*out)) {
      std::fprintf(stderr, "loom: cannot create the output directory %s: %s\n", out->c_str(),
                   std::strerror(errno));
      return 1;
    }
    opt.out_dir = *out;
  }
  const int rc = app::run(std::move(cfg), opt);
  if (std::fflush(stdout) != 0 && errno == EPIPE)
    std::fputs("loom: standard output is closed; the summary line was not printed\n", stderr);
  return rc;
}
