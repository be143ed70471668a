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

#include "inspect/pcap_out.h"
#include "inspect/streams.h"

namespace join {

/* One streams.jsonl line without the join fields, newline included. */
std::string stream_json(const inspect::StreamRecord& r);

/* packets.pcap's global header (nanosecond timestamps, Ethernet) and one
 * record. */
std::string pcap_file_header(uint32_t snaplen);
std::string pcap_record(const inspect::PacketRecord& r);

}  // namespace join
