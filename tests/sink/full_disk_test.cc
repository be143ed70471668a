// sink::File on a full disk: a write that fails part-way
// leaves only whole records in the file, the dropped ones are counted (not
// as written), and writing resumes by itself once space returns. The disk
// fills by RLIMIT_FSIZE: the kernel then writes up to the limit and fails
// the rest (EFBIG), just as a full filesystem does with ENOSPC.
#include "sink/file.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string temp_dir() {
  char t[] = "/tmp/loom-full-disk-test.XXXXXX";
  return mkdtemp(t);
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<std::string> v;
  std::string l;
  while (std::getline(f, l)) v.push_back(l);
  return v;
}

std::string record(int i) {
  std::string r = "{\"n\": " + std::to_string(i) + ", \"pad\": \"";
  r.append(size_t(50 + i % 37), 'x');
  return r + "\"}\n";
}

/* Sets the file size limit for this process (SIGXFSZ ignored, so a write
 * past it fails with EFBIG instead of killing the test). */
struct FsizeLimit {
  rlimit old{};
  explicit FsizeLimit(rlim_t bytes) {
    std::signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    set(bytes);
  }
  void set(rlim_t bytes) {
    rlimit r = old;
    r.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &r);
  }
  ~FsizeLimit() { setrlimit(RLIMIT_FSIZE, &old); }
};

bool whole(const std::vector<std::string>& lines) {
  for (const std::string& l : lines)
    if (l.size() < 2 || l.front() != '{' || l.back() != '}') return false;
  return true;
}

TEST(SinkFullDisk, AHeaderIsNotCountedAsALostRecord) {
  // A pcap-like output: the part's header is in the buffer with the first
  // records when the first write fails; only the records count as lost.
  const std::string dir = temp_dir();
  sink::OutputStats st;
  sink::FileOptions opt;
  opt.header = "HEADER\n";
  {
    sink::File f(dir + "/p.out", opt, &st);
    ASSERT_TRUE(f.open());
    FsizeLimit limit(3);  // not even the header fits
    for (int i = 0; i < 10; i++) f.write(record(i));
    EXPECT_FALSE(f.flush());
    limit.set(RLIM_INFINITY);
    for (int i = 10; i < 15; i++) f.write(record(i));
    EXPECT_TRUE(f.flush());
    f.close();
  }
  EXPECT_EQ(st.lost.load(), 10u);
  EXPECT_EQ(st.lines.load(), 5u);
  const auto lines = lines_of(dir + "/p.out");
  ASSERT_EQ(lines.size(), 5u);  // the header went with the failed write
  EXPECT_EQ(lines.front() + "\n", record(10));
  std::system(("rm -rf " + dir).c_str());
}

TEST(SinkFullDisk, LostRecordsAreCountedOutOfWrittenAndWritingResumes) {
  const std::string dir = temp_dir();
  sink::OutputStats st;
  sink::FileOptions opt;
  {
    sink::File f(dir + "/m.jsonl", opt, &st);
    ASSERT_TRUE(f.open());
    FsizeLimit limit(64 * 1024);
    // More than the 1 MiB buffer: flushes hit the limit.
    for (int i = 0; i < 20000; i++) f.write(record(i));
    limit.set(RLIM_INFINITY);
    for (int i = 20000; i < 20100; i++) f.write(record(i));
    EXPECT_FALSE(f.close());  // the run had write errors: reported
  }
  const auto lines = lines_of(dir + "/m.jsonl");
  EXPECT_TRUE(whole(lines));
  EXPECT_GT(st.write_errors.load(), 0u);
  EXPECT_GT(st.lost.load(), 0u);
  EXPECT_EQ(st.lines.load(), lines.size());
  EXPECT_EQ(st.lines.load() + st.lost.load(), 20100u);
  EXPECT_EQ(lines.back() + "\n", record(20099));
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
