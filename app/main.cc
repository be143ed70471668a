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

#include "ctl/config.h"
#include "run.h"

namespace {

const char kUsage[] =
    "usage:\n"
    "  loom --config FILE [--out DIR] [--duration SECONDS]\n"
    "        run the appliance from a startup file\n"
    "  loom --check-config FILE\n"
    "        validate a startup file: exit 0, or 1 listing every error\n"
    "  loom --pcap IN.pcap --out DIR [--config FILE]\n"
    "        offline: run the pipeline on a capture through net_pcap, write\n"
    "        DIR/streams.jsonl, DIR/stats.json and DIR/run.json, exit when the\n"
    "        capture is consumed\n"
    "  loom --check-flows FILE\n"
    "        set up the ports of a startup file and print, per port, the\n"
    "        rte_flow rules steering would install and whether the port\n"
    "        accepts them (else: software fallback)\n"
    "  loom --version | --help\n"
    "options:\n"
    "  --existing refuse|append|rotate|replace\n"
    "        what to do with an earlier run's files in the output directory\n"
    "        (overrides [outputs] existing; default refuse)\n"
    "signals: SIGINT/SIGTERM stop cleanly, SIGHUP reloads the rules,\n"
    "         SIGUSR1 reopens every output file (after logrotate)\n";

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
  bool check_flows = false;
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
      std::printf("loom %s\n", LOOM_VERSION);
      return 0;
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
