// sink::File: part names as goreplay numbers them, rotation by size and by
// age at record boundaries, the header at the start of every part, gzip.
#include "sink/file.h"

#include <gtest/gtest.h>
#include <unistd.h>
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
