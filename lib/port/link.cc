#include "port/link.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstring>

#include <rte_ethdev.h>

#include "core/log.h"

namespace port {

namespace {
uint64_t now_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}
}  // namespace

bool link_up_now(uint16_t port_id) {
  rte_eth_link link;
  std::memset(&link, 0, sizeof link);
  if (rte_eth_link_get_nowait(port_id, &link) != 0) return true;  // cannot tell: assume unchanged
  if (!link.link_status) return false;
  rte_eth_dev_info info;
  if (rte_eth_dev_info_get(port_id, &info) != 0 || info.if_index == 0) return true;
  char name[IF_NAMESIZE];
  if (!if_indextoname(info.if_index, name)) return true;
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return true;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name, sizeof name);
  const bool got = ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
  ::close(s);
  // IFF_RUNNING: administratively up and carrier present (for a veth, the
  // peer is up too).
  return !got || (ifr.ifr_flags & IFF_RUNNING) != 0;
}

void LinkWatch::add(uint16_t port_id, std::string name, bool up) {
  auto p = std::make_unique<Port>();
  p->id = port_id;
  p->name = std::move(name);
  p->up = up;
  p->since_ns = up ? 0 : now_ns();
  ports_.push_back(std::move(p));
}

unsigned LinkWatch::poll() {
  const uint64_t now = now_ns();
  unsigned changed = 0;
  for (auto& p : ports_) {
    const bool up = link_up_now(p->id);
    if (up == p->up.load(std::memory_order_relaxed)) continue;
    changed++;
    if (!up) {
      p->since_ns.store(now, std::memory_order_relaxed);
      p->downs.fetch_add(1, std::memory_order_relaxed);
      p->up.store(false, std::memory_order_release);
      LOOM_LOG(WARNING, "port %s: link down (%" PRIu64 " time(s) so far); still polling", p->name.c_str(),
               p->downs.load(std::memory_order_relaxed));
    } else {
      const uint64_t d = now - p->since_ns.load(std::memory_order_relaxed);
      p->down_ns.fetch_add(d, std::memory_order_relaxed);
      p->ups.fetch_add(1, std::memory_order_relaxed);
      p->up.store(true, std::memory_order_release);
      LOOM_LOG(INFO, "port %s: link up again after %.1f s down", p->name.c_str(), double(d) / 1e9);
    }
  }
  return changed;
}

LinkWatch::View LinkWatch::view(uint16_t port_id) const {
  View v;
  for (const auto& p : ports_) {
    if (p->id != port_id) continue;
    v.up = p->up.load(std::memory_order_acquire);
    v.downs = p->downs.load(std::memory_order_relaxed);
    v.ups = p->ups.load(std::memory_order_relaxed);
    uint64_t ns = p->down_ns.load(std::memory_order_relaxed);
    if (!v.up) ns += now_ns() - p->since_ns.load(std::memory_order_relaxed);
    v.down_ms = ns / 1000000;
  }
  return v;
}

}  // namespace port
