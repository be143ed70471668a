/* http/judge: the operator's rules applied to one message, called by the
 * framer where a message is judged (http.h says when: a request as soon as
 * it ends, a response before export). A direct call into the rule engine,
 * with the worker's rules (match::Active) that the stage hands the framer
 * between bursts; what the verdict does to the connection's packets the
 * framer notes on the Conn (Conn::acts) and the stage applies to its own
 * flow record after the call.
 *
 * Thread: the worker's (its Scratch and Counters). No allocation.
 */
#pragma once

#include "flow/flow.h"
#include "match/match.h"

namespace http {

struct Message;

/* The connection as the rules see it: client and server by key side. */
match::FlowView flow_view(const flow::Key& k, int client) noexcept;

/* Matches m, sets m.rule_index and its rule's name and tag. */
match::Result judge(const match::Active& a, Message& m) noexcept;

/* Names m.rule_index's rule and tag in m (a response that takes its
 * request's verdict: the request's record may be gone by then). */
void describe(const match::Active& a, Message& m) noexcept;

}  // namespace http
