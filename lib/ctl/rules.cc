#include "ctl/rules.h"

#include <chrono>
#include <stdexcept>
#include <thread>

#include "ctl/config.h"

namespace ctl {

struct RuleEngine::Generation {
  uint64_t number = 0;
  std::unique_ptr<match::Database> db;  // nullptr: no rules
  std::vector<std::unique_ptr<match::Scratch>> scratch;
  std::vector<std::unique_ptr<match::Counters>> counters;
  std::vector<inspect::ActiveRules> active;  // what each stage is offered
};

RuleEngine::RuleEngine() = default;
RuleEngine::~RuleEngine() { detach(); }

void RuleEngine::detach() {
  std::lock_guard<std::mutex> g(mu_);
  for (inspect::Stage* s : stages_) s->offer_rules(nullptr);
  stages_.clear();
}

bool RuleEngine::settled() const {
  const uint64_t want = cur_ ? cur_->number : 0;
  for (const inspect::Stage* s : stages_)
    if (s->rules_generation() != want) return false;
  return true;
}

bool RuleEngine::load(const match::RuleSet& set, std::string* error) {
  std::lock_guard<std::mutex> g(mu_);
  if (old_ && !settled()) {
    *error = "a worker still runs the rules before the last reload; try again";
    return false;
  }
  auto gen = std::make_unique<Generation>();
  if (!set.rules.empty()) {
    std::vector<match::CompileError> errs;
    gen->db = match::Database::compile(set, &errs);
    if (!gen->db) {
      *error = errs.empty() ? "the rules did not compile" : errs.front().message;
      for (size_t i = 1; i < errs.size(); i++) *error += "; " + errs[i].message;
      return false;
    }
    for (const inspect::Stage* s : stages_)
      if (gen->db->needs_raw() && !s->has_raw()) {
        *error = "rules on headers or body need capture buffers, which this run did not "
                 "allocate (http.capture_bytes = 0): restart with them";
        return false;
      }
    try {
      gen->scratch.push_back(std::make_unique<match::Scratch>(*gen->db));
      while (gen->scratch.size() < stages_.size()) gen->scratch.push_back(gen->scratch[0]->clone());
    } catch (const std::exception& e) {
      *error = e.what();
      return false;
    }
  }
  // Stages that run no rules report generation 0: a set with no rules is
  // that generation, so they match it once they have moved on.
  const uint64_t number = next_gen_++;  // counted even when empty: numbers say how many loads
  gen->number = gen->db ? number : 0;
  for (size_t i = 0; i < stages_.size(); i++) {
    gen->counters.push_back(std::make_unique<match::Counters>(set.rules.size()));
    inspect::ActiveRules a;
    a.db = gen->db.get();
    a.scratch = gen->db ? gen->scratch[i].get() : nullptr;
    a.counters = gen->counters.back().get();
    a.generation = gen->number;
    gen->active.push_back(a);
  }
  // The vector is complete: its elements no longer move.
  for (size_t i = 0; i < stages_.size(); i++)
    stages_[i]->offer_rules(gen->db ? &gen->active[i] : nullptr);
  old_ = std::move(cur_);
  cur_ = std::move(gen);
  if (!old_) return true;  // the first set: nothing to hand over (workers may not run yet)
  for (int i = 0; i < 200 && !settled(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (settled()) old_.reset();
  return true;
}

bool RuleEngine::reload(const std::string& path, std::string* error) {
  bool ok = false;
  try {
    ok = load(load_config(path).rules, error);
  } catch (const ConfigErrors& e) {
    *error = e.errors.empty() ? "the startup file has errors" : e.errors.front().str();
  }
  std::lock_guard<std::mutex> g(mu_);
  reloads_ += ok;
  reload_errors_ += !ok;
  last_error_ = ok ? "" : *error;
  return ok;
}

RuleEngine::View RuleEngine::view() const {
  std::lock_guard<std::mutex> g(mu_);
  View v;
  v.reloads = reloads_;
  v.reload_errors = reload_errors_;
  v.last_error = last_error_;
  if (!cur_ || !cur_->db) return v;
  v.generation = cur_->number;
  const match::RuleSet& set = cur_->db->rules();
  v.default_action = set.default_action;
  for (const match::Rule& r : set.rules) v.rules.push_back({r.name, r.action, 0});
  for (const auto& c : cur_->counters) {
    for (size_t i = 0; i < v.rules.size() && i < c->hits.size(); i++) v.rules[i].hits += c->hits[i].get();
    for (size_t a = 0; a < match::kNumActions; a++) v.actions[a] += c->actions[a].get();
    v.scan_errors += c->scan_errors.get();
  }
  return v;
}

}  // namespace ctl
