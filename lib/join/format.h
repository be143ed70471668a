/* join/format: what each record looks like when it leaves the host.
 *
 * The workers fill fixed records on the fast path (http::Message,
 * inspect::StreamRecord, inspect::PacketRecord: the producers' types, what
 * they hand over a ring); turning one into the bytes of a file or a Kafka
 * message happens here, on the sink's formatting stage, next to the join
 * fields (join.h) that message_line() and stream_line() append. So the
 * http and inspect libraries produce records and know no output format.
 *
 * Thread: any (the sink's parallel stage); pure functions of the record.
 */
#pragma once

#include <cstdint>
#include <string>

#include "http/http.h"
#include "inspect/pcap_out.h"
#include "inspect/streams.h"

namespace join {

/* One messages.jsonl line without the join fields, newline included. */
std::string message_json(const http::Message& m);

/* goreplay's record separator, written after every record (anchors.md). */
inline constexpr const char kGorSeparator[] = "\n\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89\n";

/* The record in goreplay's .gor format ("1 <id> <ts_ns> <latency_ns>\n",
 * the raw message, the separator); empty for a record with no raw bytes
 * or an interim response. */
std::string message_gor(const http::Message& m);

/* One streams.jsonl line without the join fields, newline included. */
std::string stream_json(const inspect::StreamRecord& r);

/* packets.pcap's global header (nanosecond timestamps, Ethernet) and one
 * record. */
std::string pcap_file_header(uint32_t snaplen);
std::string pcap_record(const inspect::PacketRecord& r);

}  // namespace join
