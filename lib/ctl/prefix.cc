#include "ctl/prefix.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ctl {

namespace {

// Everything the signal-safe removal needs, filled before EAL starts.
constexpr int kMaxHugeDirs = 8;
char g_dir[PATH_MAX];
char g_huge[kMaxHugeDirs][PATH_MAX];
int g_n_huge = 0;
char g_map_prefix[NAME_MAX + 1];  // "<prefix>map_"
std::atomic<bool> g_armed{false};
int g_lock_fd = -1;

struct sigaction g_old[NSIG];
const int kCrash[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

struct Dirent64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

bool starts_with(const char* s, const char* p) {
  while (*p)
    if (*s++ != *p++) return false;
  return true;
}

/* Unlinks the entries of `dir` whose name starts with `only` ("" = all),
 * except `keep`. Signal-safe: no allocation, no stdio, no opendir. */
void unlink_entries(const char* dir, const char* only, const char* keep) {
  const int fd = ::open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  alignas(8) char buf[8192];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      const Dirent64* e = reinterpret_cast<const Dirent64*>(buf + off);
      off += e->reclen;
      if (std::strcmp(e->name, ".") == 0 || std::strcmp(e->name, "..") == 0) continue;
      if (keep && std::strcmp(e->name, keep) == 0) continue;
      if (!starts_with(e->name, only)) continue;
      ::unlinkat(fd, e->name, 0);
    }
  }
  ::close(fd);
}

void on_crash(int sig) {
  PrefixGuard::remove_now();
  // Back to the earlier handler; returning re-runs the faulting
  // instruction (or abort() raises again), which then reaches it.
  ::sigaction(sig, &g_old[sig], nullptr);
  if (sig == SIGABRT || sig == SIGFPE) ::raise(sig);
}

bool mkdir_p(const std::string& d) {
  for (size_t i = 1; i <= d.size(); i++) {
    if (i < d.size() && d[i] != '/') continue;
    if (::mkdir(d.substr(0, i).c_str(), 0700) != 0 && errno != EEXIST) return false;
  }
  return true;
}

}  // namespace

std::string runtime_dir_for(const std::string& prefix) {
  std::string base = "/var/run";
  if (::getuid() != 0) {
    const char* x = std::getenv("XDG_RUNTIME_DIR");
    base = x && *x ? x : "/tmp";
  }
  return base + "/dpdk/" + prefix;
}

PrefixGuard::PrefixGuard(const std::string& prefix) {
  const std::string dir = runtime_dir_for(prefix);
  const std::string lock = dir + "/loom.lock";
  if (dir.size() >= sizeof g_dir || prefix.size() + 5 > NAME_MAX)
    throw std::runtime_error("eal.file_prefix \"" + prefix + "\" makes too long a path");
  for (int attempt = 0;; attempt++) {
    if (!mkdir_p(dir))
      throw std::runtime_error("cannot create the DPDK runtime directory " + dir + ": " +
                               std::strerror(errno));
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
      throw std::runtime_error("cannot open " + lock + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      // A Loom that is just exiting lets go within moments (a restart
      // overlapping its predecessor's shutdown): wait for it, briefly.
      if (errno == EWOULDBLOCK && attempt < 20) {
        ::close(fd);
        ::usleep(100 * 1000);
        continue;
      }
      char pid[32] = {0};
      (void)::pread(fd, pid, sizeof pid - 1, 0);
      ::close(fd);
      for (char* p = pid; *p; p++)
        if (*p == '\n') *p = 0;
      throw std::runtime_error(
          "another Loom" + (pid[0] ? " (pid " + std::string(pid) + ")" : std::string()) +
          " is running with eal.file_prefix \"" + prefix + "\" (it holds " + lock +
          "); it keeps its telemetry socket. Give this one its own file_prefix in [eal], "
          "or stop the other first");
    }
    // The holder before us may have removed the directory after we opened
    // the lock file: then our lock is on a file nobody else can see.
    struct stat a, b;
    if (::fstat(fd, &a) != 0 || ::stat(lock.c_str(), &b) != 0 || a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev) {
      ::close(fd);
      continue;
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) (void)::pwrite(fd, pid.data(), pid.size(), 0);
    g_lock_fd = fd;
    break;
  }
  std::snprintf(g_dir, sizeof g_dir, "%s", dir.c_str());
  std::snprintf(g_map_prefix, sizeof g_map_prefix, "%smap_", prefix.c_str());
  // What a run that died on this prefix left (a socket, memory maps).
  unlink_entries(g_dir, "", "loom.lock");
  g_n_huge = 0;
  std::ifstream mounts("/proc/mounts");
  for (std::string line; std::getline(mounts, line) && g_n_huge < kMaxHugeDirs;) {
    std::istringstream in(line);
    std::string dev, mnt, type;
    in >> dev >> mnt >> type;
    if (type == "hugetlbfs" && mnt.size() < PATH_MAX)
      std::snprintf(g_huge[g_n_huge++], PATH_MAX, "%s", mnt.c_str());
  }
  g_armed.store(true);
}

PrefixGuard::~PrefixGuard() { remove_now(); }

void PrefixGuard::remove_now() noexcept {
  if (!g_armed.exchange(false)) return;
  // Page files first: they hold hugepages until unlinked (EAL keeps them
  // so secondaries such as dpdk-dumpcap can map the memory).
  // Twice: entries unlinked while a getdents64 buffer is read may hide
  // others from that pass.
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < g_n_huge; i++) unlink_entries(g_huge[i], g_map_prefix, nullptr);
    unlink_entries(g_dir, "", nullptr);
  }
  ::rmdir(g_dir);
  if (g_lock_fd >= 0) ::close(g_lock_fd);
  g_lock_fd = -1;
}

void PrefixGuard::install_crash_handlers() noexcept {
  for (int sig : kCrash) {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, &g_old[sig]);
  }
}

}  // namespace ctl
