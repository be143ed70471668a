// sink::SinkSet over real rte_rings and mempools, with its real sink
// thread and oneTBB pipeline: every record reaches every file of its
// output once, in its ring's order; `release` runs on each record before
// it goes back to its pool; a reopen moves writing to a new file and
// loses or repeats nothing; stop() drains what the rings still hold; a
// Writer gets each record with its text; the counters match the files.
#include "sink/sink.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../eal_env.h"

namespace {

/* A record as a worker makes one: fixed size, from a pool, pointing at
 * bytes of its own (what `release` frees, as the raw capture is). */
struct Rec {
  uint32_t src;
  uint32_t seq;
  char* raw;  // heap, freed by release
};

std::string text_of(const void* r) {
  const Rec& x = *static_cast<const Rec*>(r);
  return "{\"src\":" + std::to_string(x.src) + ",\"seq\":" + std::to_string(x.seq) + ",\"raw\":\"" +
         (x.raw ? x.raw : "FREED") + "\"}\n";
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/* (src, seq) of every line of `text`, in file order. */
std::vector<std::pair<uint32_t, uint32_t>> parse(const std::string& text) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    unsigned s, q;
    char raw[64];
    if (std::sscanf(l.c_str(), "{\"src\":%u,\"seq\":%u,\"raw\":\"%63[^\"]\"}", &s, &q, raw) == 3 &&
        std::string(raw) == "r" + std::to_string(s) + "_" + std::to_string(q))
      out.emplace_back(s, q);
    else
      out.emplace_back(UINT32_MAX, UINT32_MAX);  // a line that is not a whole, intact record
  }
  return out;
}

/* Every record of each source once, in seq order (sources interleave). */
void expect_every_record_in_order(const std::vector<std::pair<uint32_t, uint32_t>>& lines,
                                  const std::vector<uint32_t>& per_source) {
  std::vector<uint32_t> next(per_source.size(), 0);
  for (const auto& [s, q] : lines) {
    ASSERT_LT(s, per_source.size()) << "a malformed line";
    ASSERT_EQ(q, next[s]) << "source " << s << ": out of order, lost or repeated";
    next[s]++;
  }
  EXPECT_EQ(next, per_source);
}

class SinkSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(loomtest::test_pool(), nullptr);
    char t[] = "/tmp/loom-sinkset-test.XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    dir = t;
  }
  void TearDown() override {
    EXPECT_EQ(early_put, 0u) << "a record went back to its pool before its release ran";
    EXPECT_EQ(double_release, 0u);
    for (rte_ring* r : rings) rte_ring_free(r);
    for (rte_mempool* p : pools) rte_mempool_free(p);
    std::system(("rm -rf " + dir).c_str());
  }

  /* A worker's ring and record pool. */
  sink::Source source(unsigned ring_size = 256, unsigned records = 1023) {
    const unsigned n = loomtest::next_name();
    rte_ring* r = rte_ring_create(("sst_ring" + std::to_string(n)).c_str(), ring_size, 0,
                                  RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_mempool* p = rte_mempool_create(("sst_pool" + std::to_string(n)).c_str(), records, sizeof(Rec), 0, 0,
                                        nullptr, nullptr, nullptr, nullptr, 0, 0);
    EXPECT_NE(r, nullptr);
    EXPECT_NE(p, nullptr);
    rings.push_back(r);
    pools.push_back(p);
    sink::Source s;
    s.ring = r;
    s.pool = p;
    s.release = [](void* ctx, void* rec) { static_cast<SinkSetTest*>(ctx)->release(rec); };
    s.ctx = this;
    return s;
  }

  /* As a worker does: a record from the pool onto the ring, waiting
   * while the ring or the pool is full (the offline policy). */
  void push(const sink::Source& s, uint32_t src, uint32_t seq) {
    void* obj;
    while (rte_mempool_get(s.pool, &obj) != 0) std::this_thread::yield();
    Rec* r = static_cast<Rec*>(obj);
    r->src = src;
    r->seq = seq;
    const std::string raw = "r" + std::to_string(src) + "_" + std::to_string(seq);
    r->raw = strdup(raw.c_str());
    got_from[pool_index(s.pool)].fetch_add(1);
    while (rte_ring_sp_enqueue(s.ring, obj) != 0) std::this_thread::yield();
  }

  /* The sink thread, per record, before the record goes back to its pool:
   * the record is still taken from its pool (in use), and whole. */
  void release(void* rec) {
    Rec* r = static_cast<Rec*>(rec);
    rte_mempool* p = rte_mempool_from_obj(rec);
    std::lock_guard<std::mutex> lock(mu);
    // Every record released before may be back in the pool; this one may
    // not: in use >= taken - released before. (`taken` is counted just
    // after each get, so it may lag the pool: never a false alarm.)
    const uint64_t taken = got_from[pool_index(p)].load();
    if (uint64_t(rte_mempool_in_use_count(p)) + released[p] < taken) early_put++;
    if (!r->raw) double_release++;
    free(r->raw);
    r->raw = nullptr;
    released[p]++;
  }

  size_t pool_index(const rte_mempool* p) const {
    for (size_t i = 0; i < pools.size(); i++)
      if (pools[i] == p) return i;
    return kMaxPools - 1;
  }

  unsigned in_use() const {
    unsigned n = 0;
    for (rte_mempool* p : pools) n += rte_mempool_in_use_count(p);
    return n;
  }

  sink::FileSpec file(const std::string& name) {
    sink::FileSpec f;
    f.name = name;
    f.path = dir + "/" + name + ".jsonl";
    f.format = text_of;
    return f;
  }

  std::string dir;
  std::vector<rte_ring*> rings;
  std::vector<rte_mempool*> pools;
  std::mutex mu;
  std::map<rte_mempool*, uint64_t> released;
  unsigned early_put = 0, double_release = 0;
  static constexpr size_t kMaxPools = 8;
  std::atomic<uint64_t> got_from[kMaxPools] = {};  // records taken from each pool
};

TEST_F(SinkSetTest, EveryRecordOnceInRingOrderAndReleasedBeforeItsPool) {
  sink::SinkSet set;
  const sink::Source a = source(), b = source();
  ASSERT_TRUE(set.add({file("messages")}, {a, b}));
  set.start(2, 10);
  // Two producers, as two workers: more records than the rings hold, so
  // the sink takes them while they are being made.
  constexpr uint32_t kN = 3000;
  std::thread pa([&] { for (uint32_t i = 0; i < kN; i++) push(a, 0, i); });
  std::thread pb([&] { for (uint32_t i = 0; i < kN / 2; i++) push(b, 1, i); });
  pa.join();
  pb.join();
  ASSERT_TRUE(set.stop());
  expect_every_record_in_order(parse(read_all(dir + "/messages.jsonl")), {kN, kN / 2});
  EXPECT_EQ(released[a.pool], kN);
  EXPECT_EQ(released[b.pool], kN / 2);
  EXPECT_EQ(early_put, 0u);
  EXPECT_EQ(double_release, 0u);
  EXPECT_EQ(in_use(), 0u);  // every record back in its pool
  const auto v = set.outputs();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].stats->lines.load(), uint64_t(kN + kN / 2));
  EXPECT_EQ(v[0].stats->bytes.load(), read_all(dir + "/messages.jsonl").size());
  EXPECT_EQ(v[0].depth, 0u);
}

TEST_F(SinkSetTest, StopDrainsWhatTheRingsHold) {
  sink::SinkSet set;
  const sink::Source a = source(1024, 2047);
  ASSERT_TRUE(set.add({file("streams")}, {a}));
  // Filled while no sink thread runs: stop() alone must write them.
  for (uint32_t i = 0; i < 1000; i++) push(a, 0, i);
  EXPECT_EQ(set.outputs()[0].depth, 1000u);
  ASSERT_TRUE(set.stop());
  expect_every_record_in_order(parse(read_all(dir + "/streams.jsonl")), {1000});
  EXPECT_EQ(rte_ring_count(a.ring), 0u);
  EXPECT_EQ(in_use(), 0u);
  // And with the thread running, records pushed just before stop().
  sink::SinkSet set2;
  const sink::Source b = source(1024, 2047);
  ASSERT_TRUE(set2.add({file("more")}, {b}));
  set2.start(1, 1000);
  for (uint32_t i = 0; i < 900; i++) push(b, 0, i);
  ASSERT_TRUE(set2.stop());
  expect_every_record_in_order(parse(read_all(dir + "/more.jsonl")), {900});
  EXPECT_EQ(in_use(), 0u);
}

TEST_F(SinkSetTest, ReopenMovesToANewFileLosingAndRepeatingNothing) {
  sink::SinkSet set;
  const sink::Source a = source();
  ASSERT_TRUE(set.add({file("messages")}, {a}));
  set.start(2, 5);
  const std::string path = dir + "/messages.jsonl";
  constexpr uint32_t kN = 6000;
  std::atomic<uint32_t> made{0};
  std::thread producer([&] {
    for (uint32_t i = 0; i < kN; i++) {
      push(a, 0, i);
      made = i + 1;
    }
  });
  while (made.load() < kN / 3) std::this_thread::yield();
  // logrotate's move, then its signal: while the producer goes on.
  ASSERT_EQ(std::rename(path.c_str(), (path + ".1").c_str()), 0);
  set.request_reopen();
  for (int i = 0; i < 2000 && set.reopens() == 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(set.reopens(), 1u);
  producer.join();
  ASSERT_TRUE(set.stop());
  const auto old_lines = parse(read_all(path + ".1"));
  const auto new_lines = parse(read_all(path));
  EXPECT_GE(old_lines.size(), size_t(kN / 3 - 256)) << "what was written before stays in the moved file";
  EXPECT_GT(new_lines.size(), 0u) << "writing moved to the new file";
  auto all = old_lines;
  all.insert(all.end(), new_lines.begin(), new_lines.end());
  expect_every_record_in_order(all, {kN});
  EXPECT_EQ(set.outputs()[0].stats->reopens.load(), 1u);
  EXPECT_EQ(in_use(), 0u);
}

/* A Writer that keeps what it is given (the Kafka output's place). */
class KeepWriter : public sink::Writer {
 public:
  bool open() override { return opened = true; }
  void write(const void* record, const std::string& text) override {
    const Rec& r = *static_cast<const Rec*>(record);
    got.emplace_back(r.seq, text);
    // The record is whole while the writer has it: release comes after.
    if (!r.raw) freed_before_write++;
  }
  void poll() override { polls++; }
  bool close() override {
    closed = true;
    return true;
  }
  std::string where() const override { return "keep://test"; }
  void visit(const sink::CounterFn& f) const override {
    f("kept", core::CounterKind::counter, "records kept", got.size());
  }
  bool opened = false, closed = false;
  std::vector<std::pair<uint32_t, std::string>> got;
  unsigned freed_before_write = 0;
  std::atomic<uint64_t> polls{0};
};

TEST_F(SinkSetTest, AWriterGetsEachRecordWithItsText) {
  sink::SinkSet set;
  const sink::Source a = source();
  auto w = std::make_shared<KeepWriter>();
  sink::FileSpec to_writer;
  to_writer.name = "kafka";
  to_writer.format = text_of;
  to_writer.writer = w;
  to_writer.text_of = 0;  // the file's text, formatted once
  ASSERT_TRUE(set.add({file("messages"), to_writer}, {a}));
  EXPECT_TRUE(w->opened);
  set.start(2, 10);
  constexpr uint32_t kN = 1500;
  for (uint32_t i = 0; i < kN; i++) push(a, 0, i);
  ASSERT_TRUE(set.stop());
  EXPECT_TRUE(w->closed);
  EXPECT_GT(w->polls.load(), 0u);
  ASSERT_EQ(w->got.size(), kN);
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < kN; i++) {
    EXPECT_EQ(w->got[i].first, i);
    EXPECT_EQ(w->got[i].second, "{\"src\":0,\"seq\":" + std::to_string(i) + ",\"raw\":\"r0_" + std::to_string(i) + "\"}\n");
    bytes += w->got[i].second.size();
  }
  EXPECT_EQ(w->freed_before_write, 0u);
  // The file has the same records, and each output counts what it took.
  const std::string text = read_all(dir + "/messages.jsonl");
  expect_every_record_in_order(parse(text), {kN});
  const auto v = set.outputs();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].name, "messages");
  EXPECT_EQ(v[0].stats->lines.load(), kN);
  EXPECT_EQ(v[0].stats->bytes.load(), text.size());
  EXPECT_EQ(v[0].writer, nullptr);
  EXPECT_EQ(v[1].name, "kafka");
  EXPECT_EQ(v[1].path, "keep://test");
  EXPECT_EQ(v[1].stats->lines.load(), kN);
  EXPECT_EQ(v[1].stats->bytes.load(), bytes);
  EXPECT_EQ(bytes, text.size());
  EXPECT_EQ(v[1].writer, w.get());
  EXPECT_EQ(released[a.pool], kN);  // once per record, not once per file
  EXPECT_EQ(in_use(), 0u);
}

TEST_F(SinkSetTest, AnEmptyTextIsWrittenNowhere) {
  sink::SinkSet set;
  const sink::Source a = source();
  sink::FileSpec f = file("odd");
  // The formatter may decline a record (nothing to write): odd seqs only.
  f.format = [](const void* r) {
    return static_cast<const Rec*>(r)->seq % 2 ? text_of(r) : std::string();
  };
  auto w = std::make_shared<KeepWriter>();
  sink::FileSpec to_writer;
  to_writer.name = "kafka";
  to_writer.format = f.format;
  to_writer.writer = w;
  ASSERT_TRUE(set.add({f, to_writer}, {a}));
  for (uint32_t i = 0; i < 100; i++) push(a, 0, i);
  ASSERT_TRUE(set.stop());
  const auto lines = parse(read_all(dir + "/odd.jsonl"));
  ASSERT_EQ(lines.size(), 50u);
  for (size_t i = 0; i < lines.size(); i++) EXPECT_EQ(lines[i].second, 2 * i + 1);
  EXPECT_EQ(w->got.size(), 50u);
  EXPECT_EQ(set.outputs()[1].stats->lines.load(), 50u);
  EXPECT_EQ(released[a.pool], 100u);  // declined records still go back
  EXPECT_EQ(in_use(), 0u);
}

TEST_F(SinkSetTest, AFileThatCannotBeCreatedIsRefused) {
  sink::SinkSet set;
  sink::FileSpec f = file("x");
  f.path = dir + "/no/such/dir/x.jsonl";
  EXPECT_FALSE(set.add({f}, {source()}));
  EXPECT_TRUE(set.outputs().empty());
  EXPECT_TRUE(set.stop());
}

}  // namespace
