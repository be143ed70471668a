// Collector choice: hysteresis (each threshold alone is not enough), the
// sliding window, lost collectors, the deterministic fallback, score
// multipliers, switch reasons, and the probe plan. Time is injected.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "mirror/collectors.h"

namespace {

using mirror::Chooser;
using mirror::SwitchReason;

constexpr uint64_t kMs = 1'000'000, kS = 1000 * kMs, kMin = 60 * kS;

std::vector<mirror::Collector> three() {
  return {{"alpha", 0x0A000001, 1.0}, {"beta", 0x0A000002, 1.0}, {"gamma", 0x0A000003, 1.0}};
}

/* Answers at time now with rtt (sent just before). */
void answer(Chooser& c, size_t i, uint64_t rtt, uint64_t now) {
  c.on_sent(i, now - rtt);
  c.on_reply(i, rtt, now);
}

/* Two collectors other than the current one. */
std::pair<size_t, size_t> others(const Chooser& c) {
  std::vector<size_t> v;
  for (size_t i = 0; i < c.size(); i++)
    if (i != c.current()) v.push_back(i);
  return {v[0], v[1]};
}

TEST(CollectorChooser, StartsOnTheFallback) {
  Chooser c(three(), {});
  EXPECT_EQ(c.current(), c.fallback());
  EXPECT_EQ(c.last_reason(), SwitchReason::kInitial);
  EXPECT_STREQ(mirror::switch_reason_name(c.last_reason()), "initial");
  EXPECT_EQ(c.switches(), 0u);
  // No answer yet and not lost: nothing to compare, keep it.
  EXPECT_EQ(c.evaluate(1 * kS), c.fallback());
}

TEST(CollectorChooser, NeedsBothMargins) {
  struct Case {
    uint64_t cur, cand;
    bool switches;
  } cases[] = {
      {100 * kMs, 80 * kMs, false},  // 20 ms faster, but 80 > 2/3 of 100
      {12 * kMs, 3 * kMs, false},    // a quarter, but only 9 ms faster
      {100 * kMs, 60 * kMs, true},   // 40 ms faster and 0.6 of it
      {25 * kMs, 15 * kMs, true},    // exactly 10 ms faster, 0.6 of it
  };
  for (const Case& k : cases) {
    Chooser c(three(), {});
    const size_t cur = c.current(), cand = others(c).first;
    answer(c, cur, k.cur, 10 * kS);
    answer(c, cand, k.cand, 10 * kS);
    EXPECT_EQ(c.evaluate(10 * kS), k.switches ? cand : cur) << k.cur << " vs " << k.cand;
    EXPECT_EQ(c.switches(), k.switches ? 1u : 0u);
    EXPECT_EQ(c.last_reason(), k.switches ? SwitchReason::kBetter : SwitchReason::kInitial);
  }
}

TEST(CollectorChooser, MarginsAreConfigurable) {
  mirror::ChooserConfig cfg;
  cfg.margin_ns = 1 * kMs;
  cfg.ratio = 0.9;
  Chooser c(three(), cfg);
  const size_t cur = c.current(), cand = others(c).first;
  answer(c, cur, 100 * kMs, 10 * kS);
  answer(c, cand, 80 * kMs, 10 * kS);
  EXPECT_EQ(c.evaluate(10 * kS), cand);
}

TEST(CollectorChooser, OldBestAgesOut) {
  Chooser c(three(), {});  // 5 minutes in 5 buckets
  const size_t cur = c.current(), cand = others(c).first;
  answer(c, cur, 10 * kMs, 30 * kS);  // one lucky answer
  for (uint64_t t = 1 * kMin; t <= 12 * kMin; t += kMin) {
    answer(c, cur, 100 * kMs, t);
    answer(c, cand, 60 * kMs, t);
    c.evaluate(t);
    // The 10 ms answer counts for at least the window, at most one bucket more.
    if (t <= 5 * kMin) {
      EXPECT_EQ(c.current(), cur) << t / kMin << " min";
      EXPECT_EQ(*c.best_rtt(cur, t), 10 * kMs);
    }
  }
  EXPECT_EQ(*c.best_rtt(cur, 12 * kMin), 100 * kMs);
  EXPECT_EQ(c.current(), cand);
  EXPECT_EQ(c.last_reason(), SwitchReason::kBetter);
  // Nothing since: every bucket expires.
  EXPECT_FALSE(c.best_rtt(cand, 30 * kMin).has_value());
}

TEST(CollectorChooser, LostAfterConsecutiveTimeouts) {
  Chooser c(three(), {});  // lost_after 3
  const size_t cur = c.current(), cand = others(c).first;
  answer(c, cur, 20 * kMs, 1 * kS);
  answer(c, cand, 25 * kMs, 1 * kS);
  c.on_timeout(cur, 2 * kS);
  c.on_timeout(cur, 3 * kS);
  EXPECT_EQ(c.evaluate(3 * kS), cur) << "two timeouts are not enough";
  answer(c, cur, 20 * kMs, 4 * kS);  // an answer resets the count
  for (uint64_t t = 5; t <= 7; t++) c.on_timeout(cur, t * kS);
  EXPECT_TRUE(c.lost(cur, 7 * kS));
  EXPECT_EQ(c.evaluate(7 * kS), cand) << "switched although it is slower";
  EXPECT_EQ(c.last_reason(), SwitchReason::kLost);
  EXPECT_EQ(c.switches(), 1u);
  EXPECT_EQ(c.probe_stats(cur).timeouts, 5u);
  EXPECT_EQ(c.probe_stats(cur).answered, 2u);
}

TEST(CollectorChooser, LostWhenSilentForAWindow) {
  Chooser c(three(), {});
  const size_t cur = c.current(), cand = others(c).first;
  c.on_sent(cur, 0);  // sent, but the caller never reported a timeout
  answer(c, cand, 50 * kMs, 4 * kMin);
  EXPECT_EQ(c.evaluate(5 * kMin - 1), cur);
  EXPECT_EQ(c.evaluate(5 * kMin), cand);
  EXPECT_EQ(c.last_reason(), SwitchReason::kLost);
}

TEST(CollectorChooser, AllLostFallsBackDeterministically) {
  mirror::ChooserConfig cfg;
  cfg.fallback_key = "loom-a";
  Chooser c(three(), cfg);
  const auto [a, b] = others(c);
  // Move away from the fallback first, then lose everyone.
  answer(c, a, 10 * kMs, 1 * kS);
  for (int i = 0; i < 3; i++) c.on_timeout(c.current(), 2 * kS);
  ASSERT_EQ(c.evaluate(2 * kS), a);
  for (size_t i : {a, b, c.fallback()})
    for (int k = 0; k < 3; k++) c.on_timeout(i, 3 * kS);
  EXPECT_EQ(c.evaluate(3 * kS), c.fallback());
  EXPECT_EQ(c.last_reason(), SwitchReason::kFallback);
  EXPECT_EQ(c.switches(), 2u);
  EXPECT_EQ(c.evaluate(4 * kS), c.fallback()) << "stays: nothing better to do";
  EXPECT_EQ(c.switches(), 2u);
  // It comes back when one answers again.
  answer(c, b, 30 * kMs, 5 * kS);
  EXPECT_EQ(c.evaluate(5 * kS), b);
  EXPECT_EQ(c.last_reason(), SwitchReason::kLost);

  // Same key: the same collector, whatever the list's order (and across
  // restarts: the hash is fixed).
  std::vector<mirror::Collector> rev = three();
  std::reverse(rev.begin(), rev.end());
  Chooser r(rev, cfg);
  EXPECT_EQ(r.collector(r.fallback()).name, c.collector(c.fallback()).name);
  // Distinct keys spread a fleet's fallbacks.
  std::set<std::string> picked;
  for (int i = 0; i < 32; i++) {
    cfg.fallback_key = "loom-" + std::to_string(i);
    Chooser k(three(), cfg);
    picked.insert(k.collector(k.fallback()).name);
  }
  EXPECT_EQ(picked.size(), 3u);
}

TEST(CollectorChooser, AllLostWhileOnTheFallbackSaysSo) {
  // Never left the fallback, and now nobody answers: the reason tells
  // (not a switch).
  Chooser c(three(), {});
  for (size_t i = 0; i < c.size(); i++)
    for (int k = 0; k < 3; k++) c.on_timeout(i, 1 * kS);
  EXPECT_EQ(c.evaluate(1 * kS), c.fallback());
  EXPECT_EQ(c.last_reason(), SwitchReason::kFallback);
  EXPECT_EQ(c.switches(), 0u);
}

TEST(CollectorChooser, MultipliersChangeTheChoice) {
  // The initial choice depends on the names only, so a first Chooser says
  // which collectors are the others.
  const auto [x, y] = others(Chooser(three(), {}));
  for (double x_mult : {1.0, 2.0}) {
    std::vector<mirror::Collector> list = three();
    list[x].multiplier = x_mult;
    Chooser c(list, {});
    // Lose the initial choice: the best answering collector is taken.
    for (int k = 0; k < 3; k++) c.on_timeout(c.current(), 1 * kS);
    answer(c, x, 30 * kMs, 1 * kS);
    answer(c, y, 50 * kMs, 1 * kS);
    EXPECT_EQ(c.evaluate(1 * kS), x_mult == 1.0 ? x : y) << "30 ms x 2 = 60 ms loses to 50 ms";
  }
  // A multiplier can also make a faster collector win by the margins.
  std::vector<mirror::Collector> list = three();
  Chooser c(list, {});
  answer(c, c.current(), 40 * kMs, 1 * kS);
  answer(c, x, 35 * kMs, 1 * kS);
  answer(c, y, 90 * kMs, 1 * kS);
  EXPECT_EQ(c.evaluate(1 * kS), c.current()) << "35 vs 40: within the margins";
  list[c.current()].multiplier = 2.0;  // 80 ms effective now
  Chooser d(list, {});
  answer(d, d.current(), 40 * kMs, 1 * kS);
  answer(d, x, 35 * kMs, 1 * kS);
  EXPECT_EQ(d.evaluate(1 * kS), x);
  EXPECT_EQ(d.last_reason(), SwitchReason::kBetter);
}

TEST(CollectorChooser, FullRoundThenIncremental) {
  std::vector<mirror::Collector> list = three();
  list.push_back({"delta", 4, 1.0});
  mirror::ChooserConfig cfg;
  cfg.full_tries = 2;
  cfg.stagger_ns = 100 * kMs;
  cfg.incremental_every_ns = 30 * kS;
  cfg.full_every_ns = 5 * kMin;
  cfg.incremental_fastest = 2;
  Chooser c(list, cfg);

  // Full round at start: every collector, round-robin, 100 ms apart.
  EXPECT_EQ(c.plan(0), (std::vector<size_t>{0}));
  EXPECT_EQ(c.plan(50 * kMs), (std::vector<size_t>{}));
  EXPECT_EQ(c.plan(100 * kMs), (std::vector<size_t>{1}));
  EXPECT_EQ(c.plan(350 * kMs), (std::vector<size_t>{2, 3})) << "late: both due together";
  EXPECT_EQ(c.plan(10 * kS), (std::vector<size_t>{0, 1, 2, 3}));  // second tries
  EXPECT_EQ(c.plan(20 * kS), (std::vector<size_t>{}));

  // Incremental round: the current one, then the two fastest others.
  const size_t cur = c.current();
  std::vector<size_t> rest;
  for (size_t i = 0; i < 4; i++)
    if (i != cur) rest.push_back(i);
  answer(c, cur, 80 * kMs, 20 * kS);
  answer(c, rest[0], 70 * kMs, 20 * kS);  // second fastest other
  answer(c, rest[1], 90 * kMs, 20 * kS);  // slowest: skipped
  answer(c, rest[2], 20 * kMs, 20 * kS);  // fastest
  EXPECT_EQ(c.plan(30 * kS), (std::vector<size_t>{cur}));
  EXPECT_EQ(c.plan(30 * kS + 200 * kMs), (std::vector<size_t>{rest[2], rest[0]}));
  EXPECT_EQ(c.plan(59 * kS), (std::vector<size_t>{}));
  EXPECT_EQ(c.plan(60 * kS), (std::vector<size_t>{cur}));

  // The next full round, five minutes after the first (the incremental
  // round's rest was due meanwhile).
  EXPECT_EQ(c.plan(5 * kMin - 1), (std::vector<size_t>{rest[2], rest[0]}));
  EXPECT_EQ(c.plan(5 * kMin), (std::vector<size_t>{0}));
  EXPECT_EQ(c.plan(5 * kMin + 700 * kMs), (std::vector<size_t>{1, 2, 3, 0, 1, 2, 3}));
}

TEST(CollectorChooser, IncrementalBeforeAnyAnswer) {
  mirror::ChooserConfig cfg;
  cfg.full_tries = 1;
  Chooser c(three(), cfg);
  EXPECT_EQ(c.plan(1 * kS).size(), 1u);
  EXPECT_EQ(c.plan(2 * kS).size(), 2u);
  EXPECT_EQ(c.plan(31 * kS), (std::vector<size_t>{c.current()}));
}

TEST(CollectorChooser, RejectsBadSettings) {
  EXPECT_THROW((Chooser({}, {})), std::invalid_argument);
  std::vector<mirror::Collector> dup = three();
  dup[2].name = "alpha";
  EXPECT_THROW((Chooser(dup, {})), std::invalid_argument);
  std::vector<mirror::Collector> zero = three();
  zero[1].multiplier = 0;
  EXPECT_THROW((Chooser(zero, {})), std::invalid_argument);
  mirror::ChooserConfig cfg;
  cfg.ratio = 1.5;
  EXPECT_THROW((Chooser(three(), cfg)), std::invalid_argument);
  cfg = {};
  cfg.lost_after = 0;
  EXPECT_THROW((Chooser(three(), cfg)), std::invalid_argument);
}

}  // namespace
