#include "sink/dir.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace sink {

namespace {

// The outputs whose parts may be numbered ("messages_3.jsonl") and
// compressed; stats.json and run.json are single files.
const char* const kParted[][2] = {
    {"streams", ".jsonl"}, {"messages", ".jsonl"}, {"http", ".gor"}, {"packets", ".pcap"}};

bool ends_with(const std::string& s, const std::string& t) {
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

}  // namespace

const char* existing_name(Existing e) noexcept {
  switch (e) {
    case Existing::kRefuse: return "refuse";
    case Existing::kAppend: return "append";
    case Existing::kRotate: return "rotate";
    case Existing::kReplace: return "replace";
  }
  return "?";
}

bool is_loom_file(const std::string& name) {
  if (name == "stats.json" || name == "run.json") return true;
  std::string n = name;
  if (ends_with(n, ".gz")) n.resize(n.size() - 3);
  for (const auto& p : kParted) {
    const std::string stem = p[0], ext = p[1];
    if (n == stem + ext) return true;
    if (!ends_with(n, ext) || n.compare(0, stem.size() + 1, stem + "_") != 0) continue;
    const std::string num = n.substr(stem.size() + 1, n.size() - stem.size() - 1 - ext.size());
    if (!num.empty() && std::all_of(num.begin(), num.end(), ::isdigit)) return true;
  }
  return false;
}

std::vector<std::string> loom_files(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (is_loom_file(e->d_name)) out.push_back(e->d_name);
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string prepare_dir(const std::string& dir, Existing policy, std::string* moved_to) {
  if (moved_to) moved_to->clear();
  const std::vector<std::string> files = loom_files(dir);
  if (files.empty() || policy == Existing::kAppend) return {};
  if (policy == Existing::kRefuse) {
    std::string list;
    for (size_t i = 0; i < files.size() && i < 4; i++) list += (i ? ", " : "") + files[i];
    if (files.size() > 4) list += ", ... (" + std::to_string(files.size()) + " files)";
    return "the output directory " + dir + " already holds an earlier run's files (" + list +
           "); Loom does not overwrite them. Give another --out, or choose what to do with "
           "them: [outputs] existing = \"append\" (continue them), \"rotate\" (move them into " +
           dir + "/run-<time>/) or \"replace\" (delete them), or --existing MODE";
  }
  if (policy == Existing::kReplace) {
    for (const std::string& f : files)
      if (::unlink((dir + "/" + f).c_str()) != 0 && errno != ENOENT)
        return "cannot remove " + dir + "/" + f + " (outputs.existing = \"replace\"): " +
               std::strerror(errno);
    return {};
  }
  // rotate: named after the last time the earlier run wrote, so the
  // directories of successive runs sort in the order the runs happened.
  time_t newest = 0;
  for (const std::string& f : files) {
    struct stat st;
    if (::stat((dir + "/" + f).c_str(), &st) == 0) newest = std::max(newest, st.st_mtime);
  }
  if (newest == 0) newest = ::time(nullptr);
  char stamp[32];
  struct tm tm;
  gmtime_r(&newest, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::string to = dir + "/run-" + stamp;
  for (int i = 1; ::mkdir(to.c_str(), 0755) != 0; i++) {
    if (errno != EEXIST || i > 1000)
      return "cannot create " + to + " (outputs.existing = \"rotate\"): " + std::strerror(errno);
    to = dir + "/run-" + stamp + "-" + std::to_string(i);
  }
  for (const std::string& f : files)
    if (::rename((dir + "/" + f).c_str(), (to + "/" + f).c_str()) != 0)
      return "cannot move " + dir + "/" + f + " into " + to + " (outputs.existing = \"rotate\"): " +
             std::strerror(errno);
  if (moved_to) *moved_to = to;
  return {};
}

}  // namespace sink
