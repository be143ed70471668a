/* sink/file: one output file as the sink writes it — plain or gzip, and
 * cut into numbered parts by size or age.
 *
 * Rotation follows goreplay's own file output, so its --input-file (which
 * takes a glob and reads ".gz" files) replays the parts as they are:
 * "http.gor" becomes "http_0.gor", "http_1.gor", ... and gzip adds ".gz".
 * A part ends only between records, and every part starts with the
 * format's header (pcap's global header), so each part stands alone.
 * Parts are flushed and fsynced when they close.
 *
 * gzip runs at level 1 on the sink thread's in-order writer: it costs the
 * writer, never a worker (a slower writer means fuller rings, which drop
 * and count live). Age is measured on the writer's steady clock, checked
 * when a record arrives: an idle output does not open empty parts.
 *
 * Thread: one writer at a time (the sink's serial stage); stats may be
 * read by anyone.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "sink/append.h"

namespace sink {

struct OutputStats {
  std::atomic<uint64_t> lines{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> write_errors{0};
  std::atomic<uint64_t> parts{0};  // files opened (1 without rotation)
  // Records taken but dropped because a write failed (a full disk): they
  // are not in the file and not in `lines` (plain files; sink/append.h).
  std::atomic<uint64_t> lost{0};
};

struct FileOptions {
  std::string header;         // written at the start of every part
  uint64_t rotate_bytes = 0;  // uncompressed bytes per part; 0: no size limit
  uint32_t rotate_seconds = 0;  // age of a part; 0: no age limit
  bool gzip = false;
};

class File {
 public:
  File(std::string path, FileOptions opt, OutputStats* stats);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  /* Opens the first part; false (errno set) if it cannot be created. */
  bool open();
  /* Appends one record, starting a new part first when the current one is
   * full or old. Failures are counted in stats->write_errors. */
  void write(const std::string& record);
  /* Flushes, fsyncs and closes; false if anything failed. Idempotent. */
  bool close();

  /* The part being written (telemetry). */
  std::string current_path() const { return part_path(part_); }
  /* "dir/http.gor" -> "dir/http_3.gor.gz" (rotation on, gzip on). */
  std::string part_path(uint64_t part) const;

 private:
  bool open_part();
  bool close_part();
  bool put(const void* p, size_t n, bool counted = true);
  void count_lost(uint64_t n);

  std::string path_;
  FileOptions opt_;
  OutputStats* stats_;
  void* f_ = nullptr;     // gzFile, or &plain_ while a plain part is open
  Appender plain_;        // plain parts: whole records or none (ENOSPC)
  std::atomic<uint64_t> part_{0};
  uint64_t part_bytes_ = 0;
  uint64_t part_records_ = 0;
  int64_t opened_ns_ = 0;
};

}  // namespace sink
