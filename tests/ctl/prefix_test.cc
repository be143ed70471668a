// ctl::PrefixGuard: one holder per EAL prefix, a clear refusal for the
// next, leftovers of a dead run cleared, the directory gone afterwards.
#include "ctl/prefix.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <string>

namespace {

bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

}  // namespace

TEST(PrefixGuard, RefusesASecondHolderAndRemovesTheDirectoryAtTheEnd) {
  const std::string prefix = "appliance-guard-" + std::to_string(getpid());
  const std::string dir = ctl::runtime_dir_for(prefix);
  // A run that died here left a socket behind.
  ASSERT_EQ(system(("mkdir -p " + dir + " && touch " + dir + "/dpdk_telemetry.v2").c_str()), 0);
  {
    ctl::PrefixGuard g(prefix);
    EXPECT_FALSE(exists(dir + "/dpdk_telemetry.v2"));  // cleared at start
    std::ofstream(dir + "/config") << "x";             // what EAL makes meanwhile
    // Another process on the same prefix: refused, naming the holder; and
    // it leaves the holder's files alone.
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        ctl::PrefixGuard second(prefix);
        _exit(1);
      } catch (const std::runtime_error& e) {
        const std::string m = e.what();
        _exit(m.find("another Loom (pid " + std::to_string(getppid()) + ")") != std::string::npos &&
                      m.find(prefix) != std::string::npos
                  ? 0
                  : 2);
      }
    }
    int st = 0;
    waitpid(pid, &st, 0);
    ASSERT_TRUE(WIFEXITED(st));
    EXPECT_EQ(WEXITSTATUS(st), 0);
    EXPECT_TRUE(exists(dir + "/config"));
    EXPECT_TRUE(exists(dir + "/loom.lock"));
  }
  EXPECT_FALSE(exists(dir));
  // Free again: the next one takes it.
  { ctl::PrefixGuard again(prefix); }
  EXPECT_FALSE(exists(dir));
}

TEST(PrefixGuard, ACrashStillRemovesTheDirectory) {
  const std::string prefix = "appliance-crash-" + std::to_string(getpid());
  const std::string dir = ctl::runtime_dir_for(prefix);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ctl::PrefixGuard g(prefix);
    ctl::PrefixGuard::install_crash_handlers();
    std::ofstream(dir + "/config") << "x";
    abort();
  }
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);  // still dies of its signal
  EXPECT_FALSE(exists(dir));
}
