/* join: the fields that let Loom's records join with what other tools log
 * about the same connections, and with each other across a fleet.
 *
 * Every messages.jsonl and streams.jsonl record (and its Kafka copy) ends
 * with:
 *   community_id  Community ID v1 (github.com/corelight/community-id-spec),
 *                 the flow hash Zeek's and Suricata's logs carry: SHA-1 of
 *                 seed, ordered addresses, protocol and ports, base64, "1:";
 *   sensor        [sensor] name (default: the host name);
 *   schema        kSchema, bumped on any incompatible change of a record
 *                 (docs/schema/ has a JSON Schema for each kind);
 *   conn_id       flow::connection_id in hex, the same for a connection's
 *                 messages and streams (and the Kafka key of both);
 *   ts_first, ts_last (streams: first_ts, last_ts)  RFC 3339 in UTC with
 *                 nanoseconds, beside the *_ns numbers;
 *   headers       messages only, with [http] headers: the carried values
 *                 by lower-case name (repeats joined with ", ").
 * The record's own format (join/format.h: message_json, stream_json)
 * writes the rest unchanged; these functions append to its line.
 *
 * Thread: the sink's formatting stage (any thread); Meta is built once on
 * the control path and read-only afterwards. SHA-1 comes from libcrypto
 * (OpenSSL 3 uses the CPU's SHA extensions). Allocates the line.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "http/http.h"
#include "inspect/stage.h"

namespace join {

constexpr int kSchema = 1;
constexpr uint8_t kTcp = 6;

struct Meta {
  std::string sensor;
  uint16_t seed = 0;
  std::vector<std::string> headers;  // [http] headers, in order: Message::hdrs indexes them
};

/* Community ID v1 of a flow given either way round: "1:" + base64 of the
 * SHA-1. Addresses are 4 (ipver 4) or 16 bytes in network order. */
std::string community_id(uint16_t seed, uint8_t proto, int ipver, const uint8_t* saddr,
                         const uint8_t* daddr, uint16_t sport, uint16_t dport);
/* ... of a TCP flow key (its innermost connection). */
std::string community_id(const flow::Key& k, uint16_t seed);

/* RFC 3339 UTC with nine fraction digits: 2023-11-14T22:13:20.123456789Z. */
void rfc3339(std::string& o, uint64_t ns);

/* "0123456789abcdef": a connection id as its 16 hex digits (Kafka key). */
std::string conn_key(uint64_t conn_id);

/* The record's line with the join fields, newline included. */
std::string message_line(const http::Message& m, const Meta& meta);
std::string stream_line(const inspect::StreamRecord& r, const Meta& meta);

/* The host name (the default sensor), "unknown" if it has none. */
std::string host_name();

}  // namespace join
