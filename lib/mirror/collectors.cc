#include "mirror/collectors.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace mirror {

namespace {

[[noreturn]] void bad(const std::string& what) {
  throw std::invalid_argument("mirror collectors: " + what);
}

/* FNV-1a over key, a 0 byte and name, then the splitmix64 finisher: FNV
 * alone mixes the last bytes of similar names ("c1", "c2") too little. */
uint64_t rendezvous_score(const std::string& key, const std::string& name) noexcept {
  uint64_t h = 0xcbf29ce484222325ull;
  auto eat = [&h](unsigned char c) { h = (h ^ c) * 0x100000001b3ull; };
  for (char c : key) eat(static_cast<unsigned char>(c));
  eat(0);
  for (char c : name) eat(static_cast<unsigned char>(c));
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

}  // namespace

const char* switch_reason_name(SwitchReason r) noexcept {
  switch (r) {
    case SwitchReason::kInitial: return "initial";
    case SwitchReason::kBetter: return "better";
    case SwitchReason::kLost: return "lost";
    case SwitchReason::kFallback: return "fallback";
  }
  return "?";
}

Chooser::Chooser(std::vector<Collector> collectors, ChooserConfig cfg)
    : list_(std::move(collectors)), cfg_(std::move(cfg)) {
  if (list_.empty()) bad("no collector");
  if (cfg_.window_ns == 0 || cfg_.buckets == 0 || cfg_.window_ns < cfg_.buckets)
    bad("window_ns " + std::to_string(cfg_.window_ns) + " with " +
        std::to_string(cfg_.buckets) + " buckets");
  if (cfg_.lost_after == 0) bad("lost_after 0");
  if (cfg_.full_tries == 0) bad("full_tries 0");
  if (!(cfg_.ratio > 0 && cfg_.ratio <= 1)) bad("ratio " + std::to_string(cfg_.ratio));
  for (size_t i = 0; i < list_.size(); i++) {
    const Collector& c = list_[i];
    if (!(c.multiplier > 0 && std::isfinite(c.multiplier)))
      bad("collector " + c.name + ": multiplier " + std::to_string(c.multiplier));
    for (size_t j = 0; j < i; j++)
      if (list_[j].name == c.name) bad("collector name " + c.name + " appears twice");
  }
  bucket_ns_ = cfg_.window_ns / cfg_.buckets;
  state_.resize(list_.size());
  for (State& s : state_) s.ring.resize(cfg_.buckets + 1);
  round_.reserve(list_.size() * cfg_.full_tries);

  fallback_ = 0;
  uint64_t top = rendezvous_score(cfg_.fallback_key, list_[0].name);
  for (size_t i = 1; i < list_.size(); i++) {
    const uint64_t s = rendezvous_score(cfg_.fallback_key, list_[i].name);
    if (s > top) {
      top = s;
      fallback_ = i;
    }
  }
  current_ = fallback_;
}

void Chooser::on_sent(size_t i, uint64_t now) {
  State& s = state_[i];
  s.stats.sent++;
  if (!s.first_sent) s.first_sent = now;
}

void Chooser::on_reply(size_t i, uint64_t rtt_ns, uint64_t now) {
  State& s = state_[i];
  s.stats.answered++;
  s.stats.timeouts_in_row = 0;
  const uint64_t idx = now / bucket_ns_;
  Bucket& b = s.ring[idx % s.ring.size()];
  if (b.idx != idx) b = {idx, rtt_ns};
  else b.min_rtt = std::min(b.min_rtt, rtt_ns);
}

void Chooser::on_timeout(size_t i, uint64_t) {
  State& s = state_[i];
  s.stats.timeouts++;
  s.stats.timeouts_in_row++;
}

std::optional<uint64_t> Chooser::best_rtt(size_t i, uint64_t now) const {
  const uint64_t idx = now / bucket_ns_;
  std::optional<uint64_t> best;
  for (const Bucket& b : state_[i].ring)
    if (b.idx != UINT64_MAX && b.idx <= idx && idx - b.idx <= cfg_.buckets)
      best = std::min(best.value_or(UINT64_MAX), b.min_rtt);
  return best;
}

bool Chooser::lost(size_t i, uint64_t now) const {
  const State& s = state_[i];
  if (s.stats.timeouts_in_row >= cfg_.lost_after) return true;
  return s.first_sent && now - *s.first_sent >= cfg_.window_ns && !best_rtt(i, now);
}

std::optional<double> Chooser::effective(size_t i, uint64_t now) const {
  const std::optional<uint64_t> rtt = best_rtt(i, now);
  if (!rtt) return std::nullopt;
  return double(*rtt) * list_[i].multiplier;
}

/* The answering collector with the lowest effective latency; the first in
 * the list on a tie. */
std::optional<size_t> Chooser::best(uint64_t now) const {
  std::optional<size_t> top;
  double top_lat = 0;
  for (size_t i = 0; i < list_.size(); i++) {
    const std::optional<double> lat = effective(i, now);
    if (!lat || lost(i, now)) continue;
    if (!top || *lat < top_lat) {
      top = i;
      top_lat = *lat;
    }
  }
  return top;
}

void Chooser::switch_to(size_t i, SwitchReason why) {
  if (i == current_) {
    // Already there, but now for want of any answer: say so (no switch).
    if (why == SwitchReason::kFallback) reason_ = why;
    return;
  }
  current_ = i;
  reason_ = why;
  switches_++;
}

size_t Chooser::evaluate(uint64_t now) {
  const std::optional<size_t> cand = best(now);
  if (lost(current_, now)) {
    if (cand) switch_to(*cand, SwitchReason::kLost);
    else switch_to(fallback_, SwitchReason::kFallback);
    return current_;
  }
  const std::optional<double> cur = effective(current_, now);
  if (!cand || *cand == current_ || !cur) return current_;
  const double lat = *effective(*cand, now);
  if (*cur - lat >= double(cfg_.margin_ns) && lat <= cfg_.ratio * *cur)
    switch_to(*cand, SwitchReason::kBetter);
  return current_;
}

void Chooser::start_full(uint64_t now) {
  round_.clear();
  next_due_ = 0;
  uint64_t at = now;
  for (uint32_t t = 0; t < cfg_.full_tries; t++)
    for (size_t i = 0; i < list_.size(); i++, at += cfg_.stagger_ns) round_.push_back({at, i});
  next_full_ = now + cfg_.full_every_ns;
  next_incremental_ = now + cfg_.incremental_every_ns;
}

void Chooser::start_incremental(uint64_t now) {
  std::vector<std::pair<double, size_t>> by_lat;
  for (size_t i = 0; i < list_.size(); i++) {
    const std::optional<double> lat = effective(i, now);
    if (i != current_ && lat) by_lat.push_back({*lat, i});
  }
  std::sort(by_lat.begin(), by_lat.end());
  by_lat.resize(std::min<size_t>(by_lat.size(), cfg_.incremental_fastest));
  round_.clear();
  next_due_ = 0;
  round_.push_back({now, current_});
  uint64_t at = now;
  for (const auto& [lat, i] : by_lat) round_.push_back({at += cfg_.stagger_ns, i});
  next_incremental_ = now + cfg_.incremental_every_ns;
}

std::vector<size_t> Chooser::plan(uint64_t now) {
  if (now >= next_full_) start_full(now);
  else if (next_due_ == round_.size() && now >= next_incremental_) start_incremental(now);
  std::vector<size_t> due;
  for (; next_due_ < round_.size() && round_[next_due_].at <= now; next_due_++)
    due.push_back(round_[next_due_].i);
  return due;
}

}  // namespace mirror
