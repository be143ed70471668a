/* sink/file: one output file as the sink writes it — plain or gzip, and
 * cut into numbered parts by size or age.
 *
 * Rotation follows goreplay's own file output, so its --input-file (which
 * takes a glob and reads ".gz" files) replays the parts as they are:
 * "http.gor" becomes "http_0.gor", "http_1.gor", ... and gzip adds ".gz".
 * JSON Lines files rotate the same way ("messages_0.jsonl", ...). A part
 * ends only between records, and every part starts with the format's
 * header (pcap's global header), so each part stands alone. Parts are
 * flushed and fsynced when they close.
 *
 * A plain file always ends on a record boundary: records are buffered
 * whole (1 MiB) and handed to write(2) whole, never cut where a stdio
 * buffer happens to fill; a failed or short write is cut back to the last
 * whole record (ftruncate) and counted. flush() pushes the buffer out (the
 * sink calls it at least once a second, so a live file is readable by jq
 * after a second of quiet). A gzip part is a valid stream up to its last
 * flush (Z_SYNC_FLUSH) and whole once closed.
 *
 * Files are opened with O_APPEND: an existing file is continued, never
 * truncated (the output directory's policy, sink/dir.h, decided before
 * whether earlier files are kept, moved or removed). The header is written
 * only into an empty file. reopen() closes and opens the same path again:
 * after logrotate renamed it, a new file starts; nothing buffered is lost.
 *
 * gzip runs at level 1 on the sink thread's in-order writer: it costs the
 * writer, never a worker (a slower writer means fuller rings, which drop
 * and count live). Age is measured on the writer's steady clock, checked
 * when a record arrives: an idle output does not open empty parts.
 *
 * Thread: one writer at a time (the sink's serial stage, or the sink
 * thread between pipeline runs); stats may be read by anyone.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace sink {

struct OutputStats {
  std::atomic<uint64_t> lines{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> write_errors{0};
  std::atomic<uint64_t> parts{0};    // files opened (1 without rotation)
  std::atomic<uint64_t> reopens{0};  // reopen() calls (logrotate's signal)
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

  /* Opens the first part; false (errno set) if it cannot be created. With
   * rotation, parts an earlier run left are continued after: the first
   * part written is the one after the highest existing. */
  bool open();
  /* Appends one record, starting a new part first when the current one is
   * full or old. Failures are counted in stats->write_errors. */
  void write(const std::string& record);
  /* Hands every buffered record to the kernel (gzip: a sync flush). */
  bool flush();
  /* Flushes, closes and opens the current part's path again (appending if
   * it is still there, creating it if it was renamed). */
  bool reopen();
  /* Flushes, fsyncs and closes; false if anything failed. Idempotent. */
  bool close();

  /* The part being written (telemetry). */
  std::string current_path() const { return part_path(part_); }
  /* "dir/http.gor" -> "dir/http_3.gor.gz" (rotation on, gzip on). */
  std::string part_path(uint64_t part) const;

 private:
  bool open_part();
  bool close_part();
  bool put(const void* p, size_t n);
  bool drain();  // plain: write buf_ out whole

  std::string path_;
  FileOptions opt_;
  OutputStats* stats_;
  int fd_ = -1;           // plain
  void* gz_ = nullptr;    // gzFile
  std::string buf_;       // plain: whole records not yet written
  std::vector<size_t> ends_;  // plain: where each record in buf_ ends
  uint64_t on_disk_ = 0;  // plain: bytes of whole records in the file
  std::atomic<uint64_t> part_{0};
  uint64_t part_bytes_ = 0;
  uint64_t flushed_bytes_ = 0;  // gzip: part_bytes_ at the last flush
  uint64_t part_records_ = 0;
  int64_t opened_ns_ = 0;
};

}  // namespace sink
