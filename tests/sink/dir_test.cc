// sink::prepare_dir: an earlier run's files are refused, kept, moved or
// removed as the policy says, and nothing else in the directory is touched.
#include "sink/dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace {

std::string temp_dir() {
  char t[] = "/tmp/loom-dir-test.XXXXXX";
  return mkdtemp(t);
}

void put(const std::string& p, const std::string& s) { std::ofstream(p) << s; }

std::string get(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

/* A directory as a first run left it, plus files that are not Loom's. */
std::string earlier_run() {
  const std::string d = temp_dir();
  put(d + "/messages.jsonl", "m1\n");
  put(d + "/streams.jsonl", "s1\n");
  put(d + "/http_0.gor.gz", "g");
  put(d + "/stats.json", "{}");
  put(d + "/messages.jsonl.1", "rotated by logrotate\n");
  put(d + "/notes.txt", "the operator's\n");
  return d;
}

}  // namespace

TEST(SinkDir, KnowsLoomsFilesAndOnlyThem) {
  for (const char* n : {"messages.jsonl", "streams.jsonl", "http.gor", "http_12.gor",
                        "http_3.gor.gz", "packets.pcap", "packets_0.pcap.gz", "messages_7.jsonl",
                        "stats.json", "run.json"})
    EXPECT_TRUE(sink::is_loom_file(n)) << n;
  for (const char* n : {"messages.jsonl.1", "messages.jsonl.2.gz", "http_x.gor", "http_.gor",
                        "notes.txt", "stats.json.tmp", "run-20260101T000000Z", "mymessages.jsonl"})
    EXPECT_FALSE(sink::is_loom_file(n)) << n;
}

TEST(SinkDir, AnEmptyOrForeignDirectoryIsFineUnderEveryPolicy) {
  const std::string d = temp_dir();
  put(d + "/notes.txt", "x");
  for (auto p : {sink::Existing::kRefuse, sink::Existing::kAppend, sink::Existing::kRotate,
                 sink::Existing::kReplace})
    EXPECT_EQ(sink::prepare_dir(d, p), "") << sink::existing_name(p);
  EXPECT_EQ(get(d + "/notes.txt"), "x");
}

TEST(SinkDir, RefuseNamesTheDirectoryTheFilesAndTheWayOut) {
  const std::string d = earlier_run();
  const std::string why = sink::prepare_dir(d, sink::Existing::kRefuse);
  EXPECT_NE(why.find(d), std::string::npos) << why;
  EXPECT_NE(why.find("messages.jsonl"), std::string::npos) << why;
  EXPECT_NE(why.find("existing = \"append\""), std::string::npos) << why;
  EXPECT_NE(why.find("--existing"), std::string::npos) << why;
  EXPECT_EQ(get(d + "/messages.jsonl"), "m1\n");  // nothing touched
  EXPECT_EQ(sink::loom_files(d).size(), 4u);
}

TEST(SinkDir, AppendKeepsEverything) {
  const std::string d = earlier_run();
  EXPECT_EQ(sink::prepare_dir(d, sink::Existing::kAppend), "");
  EXPECT_EQ(get(d + "/messages.jsonl"), "m1\n");
  EXPECT_EQ(sink::loom_files(d).size(), 4u);
}

TEST(SinkDir, RotateMovesLoomsFilesIntoARunDirectoryAndLeavesTheRest) {
  const std::string d = earlier_run();
  std::string to;
  EXPECT_EQ(sink::prepare_dir(d, sink::Existing::kRotate, &to), "");
  ASSERT_FALSE(to.empty());
  EXPECT_EQ(to.rfind(d + "/run-", 0), 0u) << to;
  EXPECT_TRUE(sink::loom_files(d).empty());
  EXPECT_EQ(get(to + "/messages.jsonl"), "m1\n");
  EXPECT_EQ(get(to + "/streams.jsonl"), "s1\n");
  EXPECT_TRUE(exists(to + "/http_0.gor.gz"));
  EXPECT_TRUE(exists(to + "/stats.json"));
  EXPECT_TRUE(exists(d + "/messages.jsonl.1"));  // logrotate's, not Loom's
  EXPECT_TRUE(exists(d + "/notes.txt"));
  // A second rotation in the same second gets a directory of its own.
  put(d + "/messages.jsonl", "m2\n");
  struct stat st;
  ASSERT_EQ(stat(to.c_str(), &st), 0);
  std::string to2;
  EXPECT_EQ(sink::prepare_dir(d, sink::Existing::kRotate, &to2), "");
  EXPECT_NE(to2, to);
  EXPECT_EQ(get(to2 + "/messages.jsonl"), "m2\n");
  EXPECT_EQ(get(to + "/messages.jsonl"), "m1\n");
}

TEST(SinkDir, ReplaceRemovesOnlyLoomsFiles) {
  const std::string d = earlier_run();
  EXPECT_EQ(sink::prepare_dir(d, sink::Existing::kReplace), "");
  EXPECT_TRUE(sink::loom_files(d).empty());
  EXPECT_TRUE(exists(d + "/messages.jsonl.1"));
  EXPECT_TRUE(exists(d + "/notes.txt"));
}
