// loom_kafka_mock: a Kafka cluster for tests and benchmarks, from
// librdkafka's own mock cluster (rdkafka_mock.h). It speaks the Kafka
// protocol on localhost (producers, kcat's consumer), so Loom's Kafka
// output is exercised for real with no broker package (Debian 12 has none).
//
//   loom_kafka_mock [--brokers N] [--topic NAME[:PARTITIONS]]... [--bootstrap-file PATH]
//
// Prints the bootstrap list ("127.0.0.1:PORT,...") on stdout (and into
// PATH, written whole, when given), then serves until SIGTERM or SIGINT.
// SIGUSR1 takes every broker down (connections closed, new ones refused),
// SIGUSR2 brings them back: a broker that goes away mid-run.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace {

volatile std::sig_atomic_t g_stop = 0, g_down = 0, g_up = 0;

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "loom_kafka_mock: %s\n"
               "usage: loom_kafka_mock [--brokers N] [--topic NAME[:PARTITIONS]]... "
               "[--bootstrap-file PATH]\n",
               why);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 1;
  std::vector<std::pair<std::string, int>> topics;
  std::string bootstrap_file;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + a).c_str());
    const std::string v = argv[++i];
    if (a == "--brokers") {
      brokers = std::atoi(v.c_str());
      if (brokers < 1 || brokers > 16) usage("--brokers takes 1 to 16");
    } else if (a == "--topic") {
      const size_t colon = v.find(':');
      const int parts = colon == std::string::npos ? 1 : std::atoi(v.c_str() + colon + 1);
      if (parts < 1 || parts > 64) usage("a topic has 1 to 64 partitions");
      topics.emplace_back(v.substr(0, colon), parts);
    } else if (a == "--bootstrap-file") {
      bootstrap_file = v;
    } else {
      usage(("unknown argument " + a).c_str());
    }
  }

  // The mock cluster lives inside a client handle; this one never produces.
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "loom_kafka_mock: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    std::fprintf(stderr, "loom_kafka_mock: cannot create the mock cluster\n");
    return 1;
  }
  for (const auto& [name, parts] : topics) {
    if (rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name.c_str(), parts, 1)) {
      std::fprintf(stderr, "loom_kafka_mock: topic %s: %s\n", name.c_str(), rd_kafka_err2str(e));
      return 1;
    }
  }
  const std::string boot = rd_kafka_mock_cluster_bootstraps(mc);
  if (!bootstrap_file.empty()) {
    const std::string tmp = bootstrap_file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f || std::fprintf(f, "%s\n", boot.c_str()) < 0 || std::fclose(f) != 0 ||
        std::rename(tmp.c_str(), bootstrap_file.c_str()) != 0) {
      std::fprintf(stderr, "loom_kafka_mock: cannot write %s\n", bootstrap_file.c_str());
      return 1;
    }
  }
  std::printf("%s\n", boot.c_str());
  std::fflush(stdout);

  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGUSR1, [](int) { g_down = 1; });
  std::signal(SIGUSR2, [](int) { g_up = 1; });
  while (!g_stop) {
    // The cluster runs on librdkafka's own thread; this one only relays
    // the signals (rdkafka calls are not async-signal-safe).
    usleep(10000);
    if (g_down) {
      g_down = 0;
      for (int b = 1; b <= brokers; b++) rd_kafka_mock_broker_set_down(mc, b);
      std::fprintf(stderr, "loom_kafka_mock: brokers down\n");
    }
    if (g_up) {
      g_up = 0;
      for (int b = 1; b <= brokers; b++) rd_kafka_mock_broker_set_up(mc, b);
      std::fprintf(stderr, "loom_kafka_mock: brokers up\n");
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
