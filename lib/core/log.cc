#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

namespace core {

int log_type() noexcept {
  // Function-local static: registered on first use, which may be before
  // rte_eal_init (config errors are logged before EAL exists).
  static const int type = [] {
    int t = rte_log_register_type_and_pick_level("loom", RTE_LOG_INFO);
    return t < 0 ? RTE_LOGTYPE_USER1 : t;
  }();
  return type;
}

namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};
std::atomic<void (*)()> g_hook{nullptr};

const char* level_name(uint32_t level) {
  static const char* const kNames[] = {"?",     "emerg",  "alert", "crit",
                                       "error", "warning", "notice", "info", "debug"};
  return level < sizeof kNames / sizeof kNames[0] ? kNames[level] : "debug";
}

void json_escape(std::string& out, std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out += ch;
        }
    }
  }
}

void write_all(const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(STDERR_FILENO, s.data() + off, s.size() - off);
    if (n <= 0) return;  // nowhere to complain to
    off += size_t(n);
  }
}

/* rte_vlog sets the message's level, then vfprintf + fflush: the text of
 * one call arrives here (unbuffered stream), possibly without its newline
 * (DPDK continues some lines over several calls), so the unfinished part
 * waits per thread for the rest. */
ssize_t cookie_write(void*, const char* buf, size_t n) {
  thread_local std::string pending;
  pending.append(buf, n);
  size_t start = 0;
  for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    const int lvl = rte_log_cur_msg_loglevel();
    if (auto hook = g_hook.load(std::memory_order_acquire)) hook();
    write_all(format_log_line(g_format.load(std::memory_order_relaxed), now,
                              lvl > 0 ? uint32_t(lvl) : RTE_LOG_INFO,
                              std::string_view(pending).substr(start, nl - start)));
  }
  pending.erase(0, start);
  return ssize_t(n);
}

}  // namespace

std::string format_log_line(LogFormat f, const timespec& when, uint32_t level,
                            std::string_view line) {
  tm t{};
  gmtime_r(&when.tv_sec, &t);
  char ts[40];
  const size_t len = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &t);
  std::snprintf(ts + len, sizeof ts - len, ".%06ldZ", long(when.tv_nsec / 1000));
  std::string out;
  if (f == LogFormat::kText) {
    out = ts;
    out += ' ';
    for (const char* p = level_name(level); *p; p++) out += char(*p - 'a' + 'A');
    out += ' ';
    out.append(line);
    out += '\n';
    return out;
  }
  // "loom: ...", "EAL: ...": the component before the first ": " (a word
  // of letters, digits and '_' only), when there is one.
  std::string_view source, msg = line;
  const size_t colon = line.find(": ");
  if (colon != std::string_view::npos && colon > 0 && colon <= 32 &&
      line.substr(0, colon).find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == std::string_view::npos) {
    source = line.substr(0, colon);
    msg = line.substr(colon + 2);
  }
  out = "{\"time\":\"";
  out += ts;
  out += "\",\"level\":\"";
  out += level_name(level);
  out += '"';
  if (!source.empty()) {
    out += ",\"source\":\"";
    json_escape(out, source);
    out += '"';
  }
  out += ",\"message\":\"";
  json_escape(out, msg);
  out += "\"}\n";
  return out;
}

void log_to_stderr(LogFormat f) {
  g_format.store(f, std::memory_order_relaxed);
  static FILE* stream = [] {
    cookie_io_functions_t io{};
    io.write = cookie_write;
    FILE* s = fopencookie(nullptr, "w", io);
    if (s) setvbuf(s, nullptr, _IONBF, 0);
    return s;
  }();
  if (stream) rte_openlog_stream(stream);
}

void set_log_line_hook(void (*hook)()) { g_hook.store(hook, std::memory_order_release); }

}  // namespace core
