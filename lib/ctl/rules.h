/* ctl/rules: the operator's rules as the running process holds them —
 * compiled, handed to every worker, reloaded without a restart.
 *
 * A generation is one compiled Database with a Scratch and Counters per
 * worker. load() compiles the new set on the caller's thread (main lcore
 * or telemetry thread, never a worker), offers it to every stage and
 * waits briefly until each worker has taken it (workers take it between
 * bursts and on idle polls, so this is microseconds). The previous
 * generation is freed only once every worker has moved on — at the next
 * load, which refuses to start while a worker still runs the old one.
 * A set that does not compile, or needs what this run did not allocate
 * (capture buffers for header/body rules), is refused and the running
 * one stays. One mutex serialises loads and telemetry reads.
 */
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "inspect/stage.h"
#include "match/match.h"

namespace ctl {

class RuleEngine {
 public:
  RuleEngine();
  ~RuleEngine();
  RuleEngine(const RuleEngine&) = delete;
  RuleEngine& operator=(const RuleEngine&) = delete;

  /* The stages the rules go to; before the first load. */
  void attach(std::vector<inspect::Stage*> stages) { stages_ = std::move(stages); }
  /* Compiles and installs `set` (an empty set: no rules). False, with the
   * reason, if it is refused; the running set stays. */
  bool load(const match::RuleSet& set, std::string* error);
  /* load() with the rules of the startup file at `path` (its other
   * sections are not applied). Counts reloads and their failures. */
  bool reload(const std::string& path, std::string* error);
  /* Before the stages are freed. */
  void detach();

  struct RuleView {
    std::string name;
    match::Action action;
    uint64_t hits;
  };
  struct View {
    uint64_t generation = 0, reloads = 0, reload_errors = 0;
    std::string last_error;
    match::Action default_action = match::Action::kRecord;
    uint64_t actions[match::kNumActions] = {};
    uint64_t scan_errors = 0;
    std::vector<RuleView> rules;  // file order, hits summed over workers
  };
  View view() const;

 private:
  struct Generation;
  bool settled() const;  // every stage runs the current generation
  mutable std::mutex mu_;
  std::vector<inspect::Stage*> stages_;
  std::unique_ptr<Generation> cur_, old_;
  uint64_t next_gen_ = 1, reloads_ = 0, reload_errors_ = 0;
  std::string last_error_;
};

}  // namespace ctl
