/* ctl/streams_out: writes streams.jsonl from the workers' record rings.
 *
 * Runs on the main lcore only: it drains every worker's single-consumer
 * ring, formats each record as one JSON line and gives the record back to
 * its pool. Lines of one worker come out in the order that worker ended
 * its connections, so a one-worker offline run writes the same file every
 * time. close() flushes and fsyncs.
 */
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "inspect/stage.h"

namespace ctl {

class StreamWriter {
 public:
  ~StreamWriter();
  bool open(const std::string& path);  // false: errno says why
  void drain(const std::vector<inspect::Stage*>& stages);
  bool close();
  bool is_open() const { return f_ != nullptr; }
  uint64_t written() const { return written_; }

 private:
  FILE* f_ = nullptr;
  uint64_t written_ = 0;
};

}  // namespace ctl
