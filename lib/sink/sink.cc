#include "sink/sink.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>

namespace sink {

struct SinkSet::Output {
  std::string name, path;
  Format format;
  std::vector<Source> sources;
  FILE* f = nullptr;
  OutputStats stats;
};

namespace {

/* Records taken from one ring, formatted in parallel, written in order. */
struct Batch {
  SinkSet* set = nullptr;
  void* out = nullptr;  // SinkSet::Output*
  const Source* src = nullptr;
  unsigned n = 0;
  void* recs[256];
  std::vector<std::string> lines;
};

}  // namespace

SinkSet::SinkSet() = default;
SinkSet::~SinkSet() { stop(); }

bool SinkSet::add(const std::string& name, const std::string& path, Format format,
                  std::vector<Source> sources) {
  auto o = std::make_unique<Output>();
  o->name = name;
  o->path = path;
  o->format = format;
  o->sources = std::move(sources);
  o->f = std::fopen(path.c_str(), "w");
  if (!o->f) return false;
  // 1 MiB stdio buffer: a line is 300-700 bytes, so one write(2) per
  // ~2000 lines.
  std::setvbuf(o->f, nullptr, _IOFBF, 1 << 20);
  outs_.push_back(std::move(o));
  return true;
}

bool SinkSet::pass() {
  size_t oi = 0, si = 0;  // next ring to take from, in a fixed order
  bool any = false;
  tbb::parallel_pipeline(
      /*max_number_of_live_tokens=*/4 * threads_,
      tbb::make_filter<void, std::shared_ptr<Batch>>(
          tbb::filter_mode::serial_in_order,
          [&](tbb::flow_control& fc) -> std::shared_ptr<Batch> {
            while (oi < outs_.size()) {
              Output& o = *outs_[oi];
              if (si >= o.sources.size()) {
                oi++;
                si = 0;
                continue;
              }
              const Source& s = o.sources[si];
              auto b = std::make_shared<Batch>();
              b->n = s.ring ? rte_ring_sc_dequeue_burst(s.ring, b->recs, 256, nullptr) : 0;
              if (b->n < 256) si++;  // ring emptied: next one
              if (b->n == 0) continue;
              b->out = &o;
              b->src = &s;
              any = true;
              return b;
            }
            fc.stop();
            return nullptr;
          }) &
          tbb::make_filter<std::shared_ptr<Batch>, std::shared_ptr<Batch>>(
              tbb::filter_mode::parallel,
              [](std::shared_ptr<Batch> b) {
                const Output& o = *static_cast<Output*>(b->out);
                b->lines.resize(b->n);
                for (unsigned i = 0; i < b->n; i++) b->lines[i] = o.format(b->recs[i]);
                return b;
              }) &
          tbb::make_filter<std::shared_ptr<Batch>, void>(
              tbb::filter_mode::serial_in_order, [](std::shared_ptr<Batch> b) {
                Output& o = *static_cast<Output*>(b->out);
                uint64_t bytes = 0;
                for (std::string& l : b->lines) {
                  l += '\n';
                  if (std::fwrite(l.data(), 1, l.size(), o.f) != l.size())
                    o.stats.write_errors.fetch_add(1, std::memory_order_relaxed);
                  bytes += l.size();
                }
                rte_mempool_put_bulk(b->src->pool, b->recs, b->n);
                o.stats.lines.fetch_add(b->n, std::memory_order_relaxed);
                o.stats.bytes.fetch_add(bytes, std::memory_order_relaxed);
              }));
  return any;
}

void SinkSet::start(unsigned threads) {
  threads_ = threads ? threads : 1;
  stop_ = false;
  running_ = true;
  thread_ = std::thread([this] {
    tbb::task_arena arena{static_cast<int>(threads_)};
    arena.execute([this] {
      while (!stop_.load(std::memory_order_acquire)) {
        // Idle rings: sleep a little; the workers' rings absorb the wait
        // (record_ring records per worker and kind).
        if (!pass()) std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    });
  });
}

void SinkSet::drain_now() {
  if (running_) return;  // the thread does it
  while (pass()) {
  }
}

bool SinkSet::stop() {
  if (running_) {
    stop_.store(true, std::memory_order_release);
    thread_.join();
    running_ = false;
  }
  while (pass()) {
  }
  bool ok = true;
  for (auto& o : outs_) {
    if (!o->f) continue;
    ok &= std::fflush(o->f) == 0 && ::fsync(fileno(o->f)) == 0;
    ok &= std::fclose(o->f) == 0;
    ok &= o->stats.write_errors.load() == 0;
    o->f = nullptr;
    // The rings belong to the stages, which may be freed next: forget them.
    o->sources.clear();
  }
  return ok;
}

std::vector<SinkSet::View> SinkSet::outputs() const {
  std::vector<View> v;
  for (const auto& o : outs_) {
    uint64_t depth = 0;
    for (const Source& s : o->sources)
      if (s.ring) depth += rte_ring_count(s.ring);
    v.push_back({o->name, o->path, &o->stats, depth});
  }
  return v;
}

}  // namespace sink
