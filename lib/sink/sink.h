/* sink: turning the workers' records into files, off the fast path.
 *
 * Workers put fixed-size records (stream ends, HTTP messages) on
 * single-producer rings and never touch a file. One sink thread (not an
 * lcore) drains every ring with a oneTBB parallel_pipeline: a serial input
 * stage takes batches from the rings in a fixed order, a parallel stage
 * formats them (JSON is most of the cost), a serial in-order stage writes
 * them and gives the records back to their pools. Order is kept per ring,
 * so a one-worker offline run writes the same bytes every time.
 *
 * A ring that fills because the sink is slow makes the worker drop and
 * count the record (live) or wait (offline); the sink itself never blocks
 * a worker. Between pipeline runs the sink thread flushes every file at
 * least every flush interval (each file then ends on a whole record) and
 * carries out a requested reopen, so records waiting in the rings go to
 * the new file and none is lost. Control path only: start() and stop()
 * from the main lcore; request_reopen() from anywhere, signal handlers
 * included.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <rte_mempool.h>
#include <rte_ring.h>

#include "sink/file.h"

namespace sink {

/* One producer: a worker's ring of records and the pool they come from.
 * `release`, when set, frees what a record points to (its raw bytes)
 * before the record goes back to the pool. */
struct Source {
  rte_ring* ring = nullptr;
  rte_mempool* pool = nullptr;
  void (*release)(void* ctx, void* record) = nullptr;
  void* ctx = nullptr;
};

/* Formats one record as the exact bytes to append to a file (a JSON line
 * with its newline, a .gor record with its separator); empty: nothing. */
using Format = std::string (*)(const void* record);

/* A file an output writes, and the format of its records. */
struct FileSpec {
  std::string name;  // for telemetry: "streams", "messages", "gor", "pcap"
  std::string path;
  Format format;
  FileOptions options = {};  // header, rotation, gzip
};

class SinkSet {
 public:
  SinkSet();
  ~SinkSet();
  SinkSet(const SinkSet&) = delete;
  SinkSet& operator=(const SinkSet&) = delete;

  /* Adds an output: the records of `sources`, each written to every file
   * of `files` (one record kind, several formats). Returns false (errno)
   * when a file cannot be created. Before start() only. */
  bool add(std::vector<FileSpec> files, std::vector<Source> sources);

  /* Launches the sink thread; `threads` bounds the formatting parallelism
   * (the TBB arena's concurrency); every file is flushed at least every
   * `flush_ms` milliseconds. */
  void start(unsigned threads, unsigned flush_ms = 1000);

  /* Asks the sink thread to reopen every file (after logrotate renamed
   * them); done between two batches. Lock-free, async-signal-safe. */
  void request_reopen() noexcept { reopen_.store(true, std::memory_order_release); }
  /* Reopens done so far (each covers every file). */
  uint64_t reopens() const noexcept { return reopens_done_.load(std::memory_order_acquire); }

  /* Drains every ring once on the caller's thread (used while the sink
   * thread is stopped, e.g. by finish() producers). */
  void drain_now();

  /* Stops the thread after a last full drain, flushes and fsyncs, and
   * lets go of the rings (call it before the stages are freed; calling it
   * again is harmless). Returns false if any write failed. */
  bool stop();

  struct View {
    std::string name, path;  // path: the part being written
    const OutputStats* stats;
    uint64_t depth;  // records waiting in the rings feeding this file
  };
  std::vector<View> outputs() const;

 private:
  struct Output;
  bool pass();  // one pipeline run over what the rings hold; true if any
  std::vector<std::unique_ptr<Output>> outs_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::atomic<bool> reopen_{false};
  std::atomic<uint64_t> reopens_done_{0};
  unsigned threads_ = 1;
  unsigned flush_ms_ = 1000;
  void flush_all();
  void reopen_all();
};

}  // namespace sink
