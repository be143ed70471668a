/* ctl/streams_out: writes the workers' records as JSON Lines
 * (streams.jsonl, messages.jsonl).
 *
 * Runs on the main lcore only: it drains every worker's single-consumer
 * ring of one kind, formats each record as one line and gives the record
 * back to its pool. Lines of one worker come out in the order that worker
 * produced them, so a one-worker offline run writes the same file every
 * time. close() flushes and fsyncs.
 */
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "inspect/stage.h"

namespace ctl {

class JsonlWriter {
 public:
  using Ring = rte_ring* (*)(const inspect::Stage&);
  using Pool = rte_mempool* (*)(const inspect::Stage&);
  using Format = std::string (*)(const void* record);

  JsonlWriter(Ring ring, Pool pool, Format format) : ring_(ring), pool_(pool), format_(format) {}
  ~JsonlWriter();
  bool open(const std::string& path);  // false: errno says why
  void drain(const std::vector<inspect::Stage*>& stages);
  bool close();
  bool is_open() const { return f_ != nullptr; }
  uint64_t written() const { return written_; }

  /* The two kinds Loom writes. */
  static JsonlWriter streams();
  static JsonlWriter messages();

 private:
  Ring ring_;
  Pool pool_;
  Format format_;
  FILE* f_ = nullptr;
  uint64_t written_ = 0;
};

}  // namespace ctl
