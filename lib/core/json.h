/* core/json: appending JSON Lines fields to a std::string, for the sink's
 * record formatters (messages.jsonl, streams.jsonl).
 *
 * Those run once per message on the sink thread, and in offline mode a
 * lossless worker waits for that thread: with snprintf() a message record
 * cost ~15,000 instructions and the sink, not the worker, set the pace
 * (docs/performance.md). These append digits and escaped bytes directly.
 */
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>

namespace core::json {

/* A string literal, without strlen(). */
template <size_t N>
inline void lit(std::string& o, const char (&s)[N]) {
  o.append(s, N - 1);
}

inline void num(std::string& o, uint64_t v) {
  char b[24];
  o.append(b, std::to_chars(b, b + sizeof b, v).ptr);
}

inline void num(std::string& o, int64_t v) {
  char b[24];
  o.append(b, std::to_chars(b, b + sizeof b, v).ptr);
}

inline void boolean(std::string& o, bool v) { o += v ? "true" : "false"; }

/* Lower-case hex of n bytes, no quotes. */
inline void hex(std::string& o, const uint8_t* p, size_t n) {
  static constexpr char x[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    o += x[p[i] >> 4];
    o += x[p[i] & 15];
  }
}

/* A quoted JSON string of raw bytes: quote and backslash escaped, and every
 * control or non-ASCII byte as \u00XX on its own, so the line stays valid
 * JSON whatever the wire carried. Runs of plain bytes are appended whole. */
inline void str(std::string& o, const char* s, size_t n) {
  static constexpr char x[] = "0123456789abcdef";
  o += '"';
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    const unsigned char ch = static_cast<unsigned char>(s[i]);
    const bool plain = ch >= 0x20 && ch < 0x7F && ch != '"' && ch != '\\';
    if (plain) continue;
    o.append(s + run, i - run);
    run = i + 1;
    if (ch == '"' || ch == '\\') {
      o += '\\';
      o += char(ch);
    } else {
      const char e[6] = {'\\', 'u', '0', '0', x[ch >> 4], x[ch & 15]};
      o.append(e, 6);
    }
  }
  o.append(s + run, n - run);
  o += '"';
}

}  // namespace core::json
