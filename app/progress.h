/* app/progress: the offline run's progress line on a terminal.
 *
 * "loom: 120000 of 4479000 records (2.7%), 1.21 Mpackets/s, 3.6 s left",
 * redrawn in place on stderr (carriage return, erase line) by the control
 * loop a few times a second, and left as the last state when the run ends.
 * Shown only when stderr is a terminal and --quiet is not given: piped or
 * logged, stderr carries log lines only. Log lines clear it first (the
 * core/log hook) so a line never ends in the middle of the progress text.
 * Control thread only.
 */
#pragma once

#include <cstdint>
#include <string>

namespace app {

/* The text of the line (no control characters). total 0: not known yet. */
std::string progress_text(uint64_t done, uint64_t total, double elapsed_s);

class Progress {
 public:
  explicit Progress(bool on);
  ~Progress();
  bool on() const { return on_; }
  void update(uint64_t done, uint64_t total, double elapsed_s);
  /* The final state, followed by a newline. */
  void finish(uint64_t done, uint64_t total, double elapsed_s);

 private:
  bool on_;
};

}  // namespace app
