/* http: who is the client, from a connection's first payload.
 *
 * Without a SYN, the ports only guess (a client may use port 53, a server
 * port 40000). The first bytes decide better: a request line begins with a
 * method, a status line with "HTTP/". Methods are any RFC 9110 token, but
 * to keep binary data from passing for one the hint takes upper-case
 * letters, '-' and '_' only (every registered method, QUERY and CCM_POST
 * included), 2 to 24 of them, then a space.
 *
 * Thread: any; pure.
 */
#pragma once

#include <cstdint>

namespace http {

/* +1: these bytes' sender is the client; -1: it is the server; 0: they do
 * not say. */
inline int client_hint(const uint8_t* p, uint32_t len) noexcept {
  if (len >= 5 && (p[0] | 0x20) == 'h' && (p[1] | 0x20) == 't' && (p[2] | 0x20) == 't' &&
      (p[3] | 0x20) == 'p' && p[4] == '/')
    return -1;
  uint32_t i = 0;
  while (i < len && i < 25 && ((p[i] >= 'A' && p[i] <= 'Z') || p[i] == '-' || p[i] == '_')) i++;
  if (i < 2 || i > 24) return 0;
  if (i == len) return 0;  // the method may go on in the next segment: no word yet
  return p[i] == ' ' ? 1 : 0;
}

}  // namespace http
