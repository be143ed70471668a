/* sink/append: a plain output file that holds whole records, or none of
 * one.
 *
 * stdio's buffer flushes at any byte: when the disk fills mid-flush, the
 * file keeps the first part of a record and, once space returns, the next
 * flush appends after it, leaving a torn JSON line (or .gor record) in the
 * middle of the file, and the lost records are still counted as written.
 * Here the buffer remembers where each record ends; a write that fails
 * part-way (ENOSPC, EFBIG, EIO) cuts the file back to the last whole
 * record (ftruncate; not possible on a pipe, where nothing was torn by a
 * full disk anyway), and the records that did not fit are dropped and
 * returned to the caller to count. Nothing is retried or held: the next
 * flush tries again, so writing resumes by itself when space returns.
 *
 * Thread: one writer (the sink's serial stage). Allocates its buffer once.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sink {

class Appender {
 public:
  explicit Appender(size_t buffer_bytes = 1u << 20) : cap_(buffer_bytes) {}
  ~Appender() { close(); }
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;

  /* Creates or truncates `path`; false (errno set) when it cannot. */
  bool open(const std::string& path);
  bool is_open() const { return fd_ >= 0; }

  /* Adds `n` bytes as one record, writing the buffer first when it would
   * overflow. `counted`: a record the caller counts (a header is not).
   * Returns how many counted records a failed write dropped. */
  uint64_t append(const void* p, size_t n, bool counted = true);

  /* Writes what is buffered. Returns the counted records dropped. */
  uint64_t flush();

  /* Flushes, fsyncs and closes; *lost gets the counted records dropped by
   * that last flush. False if the flush, fsync or close failed. Idempotent. */
  bool close(uint64_t* lost = nullptr);

  /* Failed write(2)s so far (each may drop several records). */
  uint64_t write_errors() const { return write_errors_; }
  /* errno of the last failed write (0: none), for the exit message. */
  int last_errno() const { return last_errno_; }

 private:
  int fd_ = -1;
  size_t cap_;
  std::string buf_;
  std::vector<uint32_t> ends_;  // end offset in buf_ of each record; top bit: counted
  uint64_t write_errors_ = 0;
  int last_errno_ = 0;
};

}  // namespace sink
