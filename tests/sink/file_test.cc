// sink::File: part names as goreplay numbers them, rotation by size and by
// age at record boundaries, the header at the start of every part, gzip.
#include "sink/file.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace {

std::string temp_dir() {
  char t[] = "/tmp/loom-file-test.XXXXXX";
  return mkdtemp(t);
}

std::string read_all(const std::string& path) {
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) {
    gzFile g = gzopen(path.c_str(), "rb");
    std::string out;
    char buf[4096];
    int n;
    while (g && (n = gzread(g, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
    if (g) gzclose(g);
    return out;
  }
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

TEST(SinkFile, PartNames) {
  sink::OutputStats st;
  EXPECT_EQ(sink::File("/d/http.gor", {}, &st).part_path(0), "/d/http.gor");
  sink::FileOptions rot;
  rot.rotate_bytes = 100;
  EXPECT_EQ(sink::File("/d/http.gor", rot, &st).part_path(3), "/d/http_3.gor");
  EXPECT_EQ(sink::File("/d.x/noext", rot, &st).part_path(1), "/d.x/noext_1");
  rot.gzip = true;
  EXPECT_EQ(sink::File("/d/packets.pcap", rot, &st).part_path(0), "/d/packets_0.pcap.gz");
}

TEST(SinkFile, RotatesBySizeBetweenRecordsWithHeaderEachPart) {
  const std::string dir = temp_dir();
  sink::OutputStats st;
  sink::FileOptions o;
  o.header = "HDR";
  o.rotate_bytes = 12;  // header + a 6-byte record + a 2-byte one fit; two 6-byte ones do not
  sink::File f(dir + "/out.bin", o, &st);
  ASSERT_TRUE(f.open());
  for (const char* r : {"aaaaaa", "bbbbbb", "cc", "dddddddddddddddd"}) f.write(r);
  ASSERT_TRUE(f.close());
  EXPECT_EQ(read_all(dir + "/out_0.bin"), "HDRaaaaaa");
  EXPECT_EQ(read_all(dir + "/out_1.bin"), "HDRbbbbbbcc");
  EXPECT_EQ(read_all(dir + "/out_2.bin"), "HDRdddddddddddddddd");  // a record over the limit still goes whole
  EXPECT_EQ(st.parts.load(), 3u);
  EXPECT_EQ(st.lines.load(), 4u);
  EXPECT_EQ(st.write_errors.load(), 0u);
}

TEST(SinkFile, RotatesByAgeOnlyWhenARecordArrives) {
  const std::string dir = temp_dir();
  sink::OutputStats st;
  sink::FileOptions o;
  o.rotate_seconds = 1;
  o.gzip = true;
  sink::File f(dir + "/http.gor", o, &st);
  ASSERT_TRUE(f.open());
  f.write("one");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_FALSE(exists(dir + "/http_1.gor.gz"));  // idle: no empty part
  f.write("two");
  ASSERT_TRUE(f.close());
  EXPECT_EQ(read_all(dir + "/http_0.gor.gz"), "one");
  EXPECT_EQ(read_all(dir + "/http_1.gor.gz"), "two");
  EXPECT_EQ(st.parts.load(), 2u);
}

TEST(SinkFile, UnwritableDirectoryFailsToOpen) {
  sink::OutputStats st;
  sink::File f("/nonexistent-dir/x.gor", {}, &st);
  EXPECT_FALSE(f.open());
}

}  // namespace

// 24/7 behaviour: append instead of truncate, header only into an empty
// file, reopen after a rename, whole records on disk at any moment.

TEST(SinkFile, ContinuesAnExistingFileAndWritesTheHeaderOnlyIntoAnEmptyOne) {
  const std::string dir = temp_dir();
  { std::ofstream(dir + "/out.bin") << "HDRold"; }
  sink::OutputStats st;
  sink::FileOptions o;
  o.header = "HDR";
  sink::File f(dir + "/out.bin", o, &st);
  ASSERT_TRUE(f.open());
  f.write("new");
  ASSERT_TRUE(f.close());
  EXPECT_EQ(read_all(dir + "/out.bin"), "HDRoldnew");
  sink::File g(dir + "/fresh.bin", o, &st);
  ASSERT_TRUE(g.open());
  g.write("x");
  ASSERT_TRUE(g.close());
  EXPECT_EQ(read_all(dir + "/fresh.bin"), "HDRx");
}

TEST(SinkFile, RotatedOutputContinuesAfterTheHighestExistingPart) {
  const std::string dir = temp_dir();
  { std::ofstream(dir + "/http_0.gor") << "a"; }
  { std::ofstream(dir + "/http_1.gor") << "b"; }
  sink::OutputStats st;
  sink::FileOptions o;
  o.rotate_bytes = 1000;
  sink::File f(dir + "/http.gor", o, &st);
  ASSERT_TRUE(f.open());
  f.write("c");
  ASSERT_TRUE(f.close());
  EXPECT_EQ(read_all(dir + "/http_0.gor"), "a");
  EXPECT_EQ(read_all(dir + "/http_1.gor"), "b");
  EXPECT_EQ(read_all(dir + "/http_2.gor"), "c");
}

TEST(SinkFile, ReopenAfterARenameLosesNoRecord) {
  for (bool gzip : {false, true}) {
    const std::string dir = temp_dir();
    sink::OutputStats st;
    sink::FileOptions o;
    o.gzip = gzip;
    o.header = "H\n";
    sink::File f(dir + "/m.jsonl", o, &st);
    const std::string path = f.current_path();
    const std::string renamed = gzip ? dir + "/old.jsonl.gz" : path + ".1";
    ASSERT_TRUE(f.open());
    std::string all;
    for (int i = 0; i < 100; i++) {
      const std::string r = "{\"n\":" + std::to_string(i) + "}\n";
      f.write(r);
      all += r;
      if (i == 49) {  // logrotate: rename, then the signal
        ASSERT_EQ(rename(path.c_str(), renamed.c_str()), 0);
        ASSERT_TRUE(f.reopen());
      }
    }
    ASSERT_TRUE(f.close());
    const std::string a = read_all(renamed), b = read_all(path);
    ASSERT_EQ(a.substr(0, 2), "H\n") << gzip;
    ASSERT_EQ(b.substr(0, 2), "H\n") << gzip;  // the new file stands alone
    EXPECT_EQ(a.substr(2) + b.substr(2), all) << gzip;
    EXPECT_EQ(st.reopens.load(), 1u);
    EXPECT_EQ(st.write_errors.load(), 0u);
  }
}

TEST(SinkFile, WhatIsOnDiskEndsOnARecordAndFlushWritesTheRest) {
  const std::string dir = temp_dir();
  sink::OutputStats st;
  sink::File f(dir + "/m.jsonl", {}, &st);
  ASSERT_TRUE(f.open());
  // 700-byte records: a 1 MiB buffer fills mid-record, stdio would cut one.
  const std::string rec = std::string(699, 'x') + "\n";
  for (int i = 0; i < 4000; i++) f.write(rec);
  std::string on_disk = read_all(dir + "/m.jsonl");
  EXPECT_GT(on_disk.size(), 0u);
  EXPECT_EQ(on_disk.size() % rec.size(), 0u);
  EXPECT_LT(on_disk.size(), 4000 * rec.size());
  ASSERT_TRUE(f.flush());
  on_disk = read_all(dir + "/m.jsonl");
  EXPECT_EQ(on_disk.size(), 4000 * rec.size());  // all of it, before close
  ASSERT_TRUE(f.close());
}

TEST(SinkFile, AFailedWriteIsCutBackToTheLastWholeRecordAndCounted) {
  const std::string dir = temp_dir();
  const std::string path = dir + "/m.jsonl";
  // RLIMIT_FSIZE is per process: in a child, which reports by exit code.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of death
    struct rlimit rl = {1000, 1000};
    setrlimit(RLIMIT_FSIZE, &rl);
    sink::OutputStats st;
    sink::File f(path, {}, &st);
    if (!f.open()) _exit(10);
    for (int i = 0; i < 100; i++) f.write(std::string(63, 'a' + i % 26) + "\n");
    const bool flushed = f.flush();
    f.close();
    // 1000 bytes hold 15 whole records of 64: 85 lost, and counted.
    _exit(!flushed && st.write_errors.load() == 85 ? 0 : 11);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const std::string on_disk = read_all(path);
  EXPECT_EQ(on_disk.size(), 15u * 64);
  EXPECT_EQ(on_disk.back(), '\n');
}
