/* core: the pieces every other Loom library stands on.
 *
 * Logging goes through DPDK's rte_log under the type "loom" so operators
 * filter it with --log-level like any DPDK component. The fast path never
 * logs (a per-packet log line is a drop waiting to happen); only start-up,
 * control and shutdown code calls LOOM_LOG. Nothing here allocates after
 * start-up except the log stream's line buffer, on the logging thread.
 *
 * log_to_stderr() makes rte_log's stream one that puts a UTC timestamp and
 * the level in front of every line, Loom's and DPDK's alike, or writes each
 * line as one JSON object; each finished line leaves in one write(2), so
 * lines of different threads do not mix.
 */
#pragma once

#include <ctime>
#include <string>
#include <string_view>

#include <rte_log.h>

namespace core {

/* The registered rte_log type; safe to call before rte_eal_init. */
int log_type() noexcept;

enum class LogFormat { kText, kJson };

/* Installs the stamping stream as rte_log's (before rte_eal_init, so EAL's
 * own start-up lines are stamped too). May be called again to change the
 * format. Any thread; the stream outlives the process's logging. */
void log_to_stderr(LogFormat f);

/* One finished line (without its newline) as log_to_stderr writes it,
 * newline included. `level` is an RTE_LOG_* value. Pure; for tests. */
std::string format_log_line(LogFormat f, const timespec& when, uint32_t level,
                            std::string_view line);

/* Called before every line is written (and may write to fd 2 itself): the
 * offline progress display clears its line with it. nullptr: none. */
void set_log_line_hook(void (*hook)());

}  // namespace core

#define LOOM_LOG(level, fmt, ...) \
  rte_log(RTE_LOG_##level, core::log_type(), "loom: " fmt "\n", ##__VA_ARGS__)
