/* mirror: which collector receives the mirror, chosen from probe results.
 *
 * A Chooser keeps, per collector, the best (lowest) RTT answered within a
 * sliding window (default 5 minutes) as one minimum per bucket (default 5
 * buckets of a minute) in a ring of buckets + 1 slots: memory is fixed at
 * construction, and an answer counts for at least the window and at most
 * the window plus one bucket. A collector's effective latency is that RTT
 * times its multiplier, so an operator can prefer or penalise one (a
 * costlier link, a smaller box) without editing the measurements.
 *
 * The choice is sticky, because every switch moves the collector's
 * sessions and splits its captures:
 * - keep the current collector unless it is lost: `lost_after` probes in a
 *   row timed out, or it was first probed at least a window ago and has
 *   not answered within the window;
 * - lost: switch to the best answering collector (reason "lost");
 * - still answering: switch only to a candidate better by BOTH `margin_ns`
 *   (absolute, default 10 ms) AND `ratio` (candidate <= 2/3 of current):
 *   the margin ignores jitter between close collectors, the ratio ignores
 *   a few ms between far ones (reason "better");
 * - no collector answered within the window and the current one is lost:
 *   the fallback (reason "fallback"), never none.
 * A current collector that has not answered yet but is not lost (probing
 * just began) is kept: there is nothing to compare.
 *
 * The fallback, and the initial choice before any answer, is the
 * rendezvous-hash winner: the collector whose name hashed with
 * `fallback_key` (this Loom's name) scores highest. It depends only on the
 * startup file, so it survives restarts and reordering of the list; a
 * fleet of Looms with distinct keys spreads its fallbacks over the
 * collectors; adding or removing a collector moves a Loom's fallback only
 * if that collector wins or was the winner. The hash is FNV-1a, stable
 * across builds and platforms.
 *
 * Probe plan: a full round (every collector, `full_tries` probes each,
 * round-robin so a collector's tries are spread, `stagger_ns` apart) at
 * the first plan() call and every `full_every_ns` (4 minutes: shorter than
 * the window, so an answering collector always has an answer in it and
 * never looks lost between two rounds); between them, every
 * `incremental_every_ns`, an incremental round probes the current choice
 * and the `incremental_fastest` fastest others once each. An incremental
 * round never starts while a round is still being sent. The caller sends
 * what plan() returns, reports on_sent, and later on_reply or on_timeout
 * (it owns the probes in flight and their deadlines).
 *
 * Time: nanoseconds from any monotonic clock, given by the caller (tests
 * inject it). Thread: control path, one thread; not thread-safe. The
 * caller publishes current() to the workers (e.g. an atomic index).
 * Allocates at construction; plan() returns a small vector.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mirror {

struct Collector {
  std::string name;
  uint32_t ip = 0;          // IPv4, host order
  double multiplier = 1.0;  // effective latency = measured RTT x multiplier
};

struct ChooserConfig {
  uint64_t window_ns = 300'000'000'000;  // best RTT over this window
  uint32_t buckets = 5;                  // minima kept per window
  uint32_t lost_after = 3;               // timeouts in a row that mean lost
  uint64_t margin_ns = 10'000'000;       // a better collector is faster by this...
  double ratio = 2.0 / 3.0;              // ...and at most this times the current
  uint32_t full_tries = 3;               // probes per collector in a full round
  uint64_t stagger_ns = 100'000'000;     // between two probes of a round
  uint64_t full_every_ns = 240'000'000'000;  // < window: answers never all age out
  uint64_t incremental_every_ns = 30'000'000'000;
  uint32_t incremental_fastest = 2;      // probed besides the current one
  std::string fallback_key;              // this Loom's name
};

enum class SwitchReason : uint8_t { kInitial, kBetter, kLost, kFallback };

/* "initial", "better", "lost", "fallback". */
const char* switch_reason_name(SwitchReason r) noexcept;

struct ProbeStats {
  uint64_t sent = 0, answered = 0, timeouts = 0;
  uint32_t timeouts_in_row = 0;
};

class Chooser {
 public:
  /* Throws std::invalid_argument naming the bad value: no collectors, a
   * duplicate name, a multiplier not > 0, ratio outside (0, 1], zero
   * window, buckets, lost_after or full_tries. Starts on the fallback,
   * reason "initial". */
  Chooser(std::vector<Collector> collectors, ChooserConfig cfg);

  /* The collectors (indices into the list) to probe now; empty most of
   * the time. Call it often (every few ms): probes due earlier are
   * returned together. */
  std::vector<size_t> plan(uint64_t now);

  void on_sent(size_t i, uint64_t now);
  void on_reply(size_t i, uint64_t rtt_ns, uint64_t now);
  void on_timeout(size_t i, uint64_t now);

  /* Applies the rules above at time now; returns current(). */
  size_t evaluate(uint64_t now);

  size_t current() const { return current_; }
  uint64_t switches() const { return switches_; }  // changes after the initial choice
  SwitchReason last_reason() const { return reason_; }
  size_t fallback() const { return fallback_; }

  /* Best RTT answered within the window, unscaled; nullopt if none. */
  std::optional<uint64_t> best_rtt(size_t i, uint64_t now) const;
  bool lost(size_t i, uint64_t now) const;

  size_t size() const { return list_.size(); }
  const Collector& collector(size_t i) const { return list_[i]; }
  const ProbeStats& probe_stats(size_t i) const { return state_[i].stats; }

 private:
  struct Bucket {
    uint64_t idx = UINT64_MAX;  // now / bucket_ns_ when filled; MAX: empty
    uint64_t min_rtt = 0;
  };
  struct State {
    std::vector<Bucket> ring;
    ProbeStats stats;
    std::optional<uint64_t> first_sent;
  };
  struct Due {
    uint64_t at;
    size_t i;
  };

  std::optional<double> effective(size_t i, uint64_t now) const;
  std::optional<size_t> best(uint64_t now) const;
  void switch_to(size_t i, SwitchReason why);
  void start_full(uint64_t now);
  void start_incremental(uint64_t now);

  std::vector<Collector> list_;
  ChooserConfig cfg_;
  uint64_t bucket_ns_;
  std::vector<State> state_;
  size_t fallback_;
  size_t current_;
  uint64_t switches_ = 0;
  SwitchReason reason_ = SwitchReason::kInitial;
  std::vector<Due> round_;  // the round being sent, in time order
  size_t next_due_ = 0;     // first entry of round_ not yet returned
  uint64_t next_full_ = 0, next_incremental_ = 0;
};

}  // namespace mirror
