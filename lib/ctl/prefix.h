/* ctl/prefix: one Loom per EAL file prefix, and nothing left behind.
 *
 * EAL keeps a process's shared files (config, memory maps, the telemetry
 * socket) in a runtime directory named after its file prefix
 * (/var/run/dpdk/<prefix> as root). Two processes on one prefix fight:
 * with --in-memory EAL lets the second start and take over the telemetry
 * socket; with a shared config the second fails inside EAL, and removing
 * "its" runtime directory would remove the first one's. So before EAL
 * starts, Loom takes an exclusive flock on <dir>/loom.lock: a second Loom
 * is refused there, naming the holder, and touches nothing. The holder
 * owns the directory: it clears what a crashed run left in it at start,
 * and removes it, with its hugepage files (<hugetlbfs>/<prefix>map_*), on
 * every way out — return, exception, a second stop signal, a crash signal
 * (remove_now() is async-signal-safe). Only SIGKILL escapes; the next
 * start on the prefix clears the leftovers.
 *
 * Control path (main lcore) and signal handlers. Holds a descriptor for
 * the process's life; allocates nothing after construction.
 */
#pragma once

#include <string>

namespace ctl {

/* The runtime directory EAL uses for `prefix` (its own rule: /var/run as
 * root, else $XDG_RUNTIME_DIR or /tmp; then dpdk/<prefix>). */
std::string runtime_dir_for(const std::string& prefix);

class PrefixGuard {
 public:
  /* Takes the prefix. Throws std::runtime_error with the sentence to
   * print when another process holds it or the directory cannot be made. */
  explicit PrefixGuard(const std::string& prefix);
  /* remove_now(). */
  ~PrefixGuard();
  PrefixGuard(const PrefixGuard&) = delete;
  PrefixGuard& operator=(const PrefixGuard&) = delete;

  /* Removes the runtime directory and this prefix's hugepage files, once.
   * Async-signal-safe (open, getdents64, unlinkat, rmdir only). */
  static void remove_now() noexcept;

  /* Fatal signals (SEGV, BUS, FPE, ILL, ABRT) remove the directory, then
   * get the handler they had before (a sanitizer's, or the default). */
  static void install_crash_handlers() noexcept;
};

}  // namespace ctl
