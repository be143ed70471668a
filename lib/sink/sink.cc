#include "sink/sink.h"

#include <chrono>

#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>

namespace sink {

struct SinkSet::Output {
  struct File {
    FileSpec spec;
    OutputStats stats;
    std::unique_ptr<sink::File> file;
  };
  std::vector<std::unique_ptr<File>> files;
  std::vector<Source> sources;
};

namespace {

/* Records taken from one ring, formatted in parallel, written in order. */
struct Batch {
  SinkSet* set = nullptr;
  void* out = nullptr;  // SinkSet::Output*
  const Source* src = nullptr;
  unsigned n = 0;
  void* recs[256];
  std::vector<std::vector<std::string>> text;  // per file, per record
};

}  // namespace

SinkSet::SinkSet() = default;
SinkSet::~SinkSet() { stop(); }

bool SinkSet::add(std::vector<FileSpec> files, std::vector<Source> sources) {
  auto o = std::make_unique<Output>();
  o->sources = std::move(sources);
  for (FileSpec& fs : files) {
    auto file = std::make_unique<Output::File>();
    file->spec = std::move(fs);
    file->file = std::make_unique<sink::File>(file->spec.path, file->spec.options, &file->stats);
    if (!file->file->open()) return false;  // the files opened so far close with `o`
    o->files.push_back(std::move(file));
  }
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
                b->text.resize(o.files.size());
                for (size_t f = 0; f < o.files.size(); f++) {
                  b->text[f].resize(b->n);
                  for (unsigned i = 0; i < b->n; i++)
                    b->text[f][i] = o.files[f]->spec.format(b->recs[i]);
                }
                return b;
              }) &
          tbb::make_filter<std::shared_ptr<Batch>, void>(
              tbb::filter_mode::serial_in_order, [](std::shared_ptr<Batch> b) {
                Output& o = *static_cast<Output*>(b->out);
                for (size_t f = 0; f < o.files.size(); f++) {
                  sink::File& file = *o.files[f]->file;
                  for (const std::string& t : b->text[f]) file.write(t);
                }
                if (b->src->release)
                  for (unsigned i = 0; i < b->n; i++) b->src->release(b->src->ctx, b->recs[i]);
                // Offline, a record may come from a pool its stage added
                // (inspect::Stage::grow): each goes back to its own.
                for (unsigned i = 0; i < b->n; i++)
                  rte_mempool_put(rte_mempool_from_obj(b->recs[i]), b->recs[i]);
              }));
  return any;
}

void SinkSet::flush_all() {
  for (auto& o : outs_)
    for (auto& file : o->files) file->file->flush();
}

void SinkSet::reopen_all() {
  for (auto& o : outs_)
    for (auto& file : o->files) file->file->reopen();
  reopens_done_.fetch_add(1, std::memory_order_acq_rel);
}

void SinkSet::start(unsigned threads, unsigned flush_ms) {
  threads_ = threads ? threads : 1;
  flush_ms_ = flush_ms ? flush_ms : 1000;
  stop_ = false;
  running_ = true;
  thread_ = std::thread([this] {
    tbb::task_arena arena{static_cast<int>(threads_)};
    arena.execute([this] {
      using Clock = std::chrono::steady_clock;
      const auto every = std::chrono::milliseconds(flush_ms_);
      auto last_flush = Clock::now();
      while (!stop_.load(std::memory_order_acquire)) {
        // Between pipeline runs no record is half written: the place to
        // reopen (what the rings hold goes to the new files) and flush.
        if (reopen_.exchange(false, std::memory_order_acq_rel)) reopen_all();
        // Idle rings: sleep a little; the workers' rings absorb the wait
        // (record_ring records per worker and kind).
        if (!pass()) std::this_thread::sleep_for(std::chrono::microseconds(500));
        if (Clock::now() - last_flush >= every) {
          flush_all();
          last_flush = Clock::now();
        }
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
    for (auto& file : o->files) ok &= file->file->close();
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
    for (const auto& file : o->files)
      v.push_back({file->spec.name, file->file->current_path(), &file->stats, depth});
  }
  return v;
}

}  // namespace sink
