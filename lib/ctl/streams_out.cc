#include "ctl/streams_out.h"

#include <unistd.h>

namespace ctl {

StreamWriter::~StreamWriter() { close(); }

bool StreamWriter::open(const std::string& path) {
  f_ = std::fopen(path.c_str(), "w");
  if (!f_) return false;
  // 1 MiB stdio buffer: a line is ~300 bytes, so a write(2) per ~3500 lines.
  std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
  return true;
}

void StreamWriter::drain(const std::vector<inspect::Stage*>& stages) {
  for (inspect::Stage* s : stages) {
    if (!s->ring()) continue;
    void* objs[64];
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst(s->ring(), objs, 64, nullptr)) > 0) {
      for (unsigned i = 0; i < n; i++) {
        if (f_) {
          const std::string line = inspect::record_json(*static_cast<inspect::StreamRecord*>(objs[i]));
          std::fwrite(line.data(), 1, line.size(), f_);
          std::fputc('\n', f_);
          written_++;
        }
      }
      rte_mempool_put_bulk(s->record_pool(), objs, n);
    }
  }
}

bool StreamWriter::close() {
  if (!f_) return true;
  bool ok = std::fflush(f_) == 0 && ::fsync(fileno(f_)) == 0;
  ok &= std::fclose(f_) == 0;
  f_ = nullptr;
  return ok;
}

}  // namespace ctl
