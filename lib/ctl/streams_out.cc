#include "ctl/streams_out.h"

#include <unistd.h>

namespace ctl {

JsonlWriter::~JsonlWriter() { close(); }

JsonlWriter JsonlWriter::streams() {
  return JsonlWriter([](const inspect::Stage& s) { return s.ring(); },
                     [](const inspect::Stage& s) { return s.record_pool(); },
                     [](const void* r) {
                       return inspect::record_json(*static_cast<const inspect::StreamRecord*>(r));
                     });
}

JsonlWriter JsonlWriter::messages() {
  return JsonlWriter([](const inspect::Stage& s) { return s.message_ring(); },
                     [](const inspect::Stage& s) { return s.message_pool(); },
                     [](const void* r) {
                       return http::message_json(*static_cast<const http::Message*>(r));
                     });
}

bool JsonlWriter::open(const std::string& path) {
  f_ = std::fopen(path.c_str(), "w");
  if (!f_) return false;
  // 1 MiB stdio buffer: a line is ~300 bytes, so a write(2) per ~3500 lines.
  std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
  return true;
}

void JsonlWriter::drain(const std::vector<inspect::Stage*>& stages) {
  for (inspect::Stage* s : stages) {
    rte_ring* ring = ring_(*s);
    if (!ring) continue;
    void* objs[64];
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst(ring, objs, 64, nullptr)) > 0) {
      for (unsigned i = 0; f_ && i < n; i++) {
        const std::string line = format_(objs[i]);
        std::fwrite(line.data(), 1, line.size(), f_);
        std::fputc('\n', f_);
        written_++;
      }
      rte_mempool_put_bulk(pool_(*s), objs, n);
    }
  }
}

bool JsonlWriter::close() {
  if (!f_) return true;
  bool ok = std::fflush(f_) == 0 && ::fsync(fileno(f_)) == 0;
  ok &= std::fclose(f_) == 0;
  f_ = nullptr;
  return ok;
}

}  // namespace ctl
