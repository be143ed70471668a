#include "ctl/eal_args.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "flow/flow.h"
#include "http/http.h"
#include "ctl/plan.h"
#include "port/port.h"

namespace ctl {

unsigned auto_memory_mb(uint32_t mbufs, uint16_t data_room) {
  // Per mbuf: the data room, the rte_mbuf header (128 B) and the mempool's
  // object header and padding (~64 B).
  const uint64_t pool = uint64_t(mbufs) * (data_room + 192u);
  const uint64_t mb = (2 * pool >> 20) + 128;
  return unsigned(mb);
}

unsigned inspect_memory_mb(const Config& c) {
  // Per flow: the table's record, index and free-stack entry, and the
  // connection record (with both directions' stream fingerprints when
  // streams.jsonl is written). Per worker: the record ring and pool.
  // Without hugepages these tables are mapped outside EAL memory
  // (core/mem.h) and the reservation only goes unused.
  const UnitCosts u = unit_costs(c);
  // HTTP: the pool of connection states (the framer's per-connection
  // state, ctl::http_conns of them), message records (each plus the
  // mempool's header) and the raw capture buffers.
  const uint64_t http_fixed =
      c.http.enabled ? http_conns(c) * u.http_conn +
                           uint64_t(c.outputs.record_ring + 1023) * (sizeof(http::Message) + 64) +
                           (raw_buffers(c) ? uint64_t(c.http.capture_bytes + 64) * c.http.capture_buffers : 0)
                     : 0;
  // The mirror pool: one per process, mbufs_per_worker each.
  const uint64_t mirror = c.mirror.enabled ? uint64_t(c.mirror.mbufs_per_worker) * (2048 + 128 + 192) : 0;
  // packets.pcap: the lookback ring and the records.
  const uint64_t pcap =
      c.outputs.pcap ? (uint64_t(c.outputs.pcap_snaplen) + 64) * (c.outputs.pcap_lookback + 8192) : 0;
  const uint64_t per_worker = u.flow * c.flow.max_flows_per_worker +
                              uint64_t(c.outputs.record_ring) * 2 * 256 + http_fixed + pcap + mirror;
  return unsigned((per_worker * c.workers.size() >> 20) + 16);
}

std::vector<std::string> eal_args(const Config& c, uint32_t mbufs, unsigned extra_mb) {
  std::vector<std::string> a = {"loom"};
  a.push_back("--lcores=" + c.eal.lcores);
  a.push_back("--main-lcore=" + std::to_string(c.eal.main_lcore));
  a.push_back("--file-prefix=" + c.eal.file_prefix);
  switch (c.eal.memory) {
    case Memory::kNoHuge:
      a.push_back("--no-huge");
      // No shared-config files: a no-huge primary cannot serve secondaries
      // anyway (dpdk-proc-info panics against one), and offline runs then
      // leave nothing behind under /var/run/dpdk but the telemetry socket.
      a.push_back("--no-shconf");
      a.push_back("-m");
      a.push_back(std::to_string(
          c.eal.memory_mb ? c.eal.memory_mb : auto_memory_mb(mbufs, c.mbuf_data_room) + extra_mb));
      break;
    case Memory::kInMemory:
      a.push_back("--in-memory");
      if (c.eal.memory_mb) {
        a.push_back("-m");
        a.push_back(std::to_string(c.eal.memory_mb));
      }
      break;
    case Memory::kHugepages:
      // The page files stay while Loom runs (no --huge-unlink): secondary
      // processes such as dpdk-dumpcap map the memory through them. Loom
      // removes them on every exit (ctl/prefix.h); after a SIGKILL, EAL
      // clears them at the next start on the prefix.
      if (c.eal.memory_mb) {
        a.push_back("-m");
        a.push_back(std::to_string(c.eal.memory_mb));
      }
      break;
  }
  bool any_pci = false;
  for (const auto& p : c.ports) {
    if (port::is_vdev(p.spec.device)) {
      a.push_back("--vdev=" + p.spec.device);
    } else {
      any_pci = true;
      a.push_back("--allow=" + p.spec.device);
    }
  }
  if (c.mirror.enabled) {
    const bool vdev = port::is_vdev(c.mirror.device);
    a.push_back((vdev ? "--vdev=" : "--allow=") + c.mirror.device);
    any_pci |= !vdev;
  }
  // Without a PCI port, probing PCI would only grab devices Loom does not
  // own (on VMs, the host's own virtio NIC).
  if (!any_pci) a.push_back("--no-pci");
  for (const auto& v : c.eal.vdevs) a.push_back("--vdev=" + v);
  if (!c.eal.telemetry) a.push_back("--no-telemetry");
  for (const auto& x : c.eal.extra_args) a.push_back(x);
  return a;
}

uint64_t machine_memory_bytes() {
  std::ifstream mi("/proc/meminfo");
  uint64_t avail_kb = 0, free_pages = 0, page_kb = 0;
  for (std::string line; std::getline(mi, line);) {
    std::istringstream in(line);
    std::string key;
    uint64_t v = 0;
    in >> key >> v;
    if (key == "MemAvailable:") avail_kb = v;
    else if (key == "HugePages_Free:") free_pages = v;
    else if (key == "Hugepagesize:") page_kb = v;
  }
  return (avail_kb + free_pages * page_kb) * 1024;
}

std::string memory_precheck(const Config& c) {
  if (c.eal.memory == Memory::kNoHuge) return {};
  long free_pages = -1;
  std::ifstream mi("/proc/meminfo");
  for (std::string line; std::getline(mi, line);)
    if (line.rfind("HugePages_Free:", 0) == 0) free_pages = std::stol(line.substr(15));
  const std::string mode = memory_name(c.eal.memory);
  // in-memory needs no hugetlbfs mount (EAL uses memfd) but still needs
  // free pages; hugepages mode needs both.
  if (free_pages == 0)
    return "eal.memory = \"" + mode + "\" but the host has no free hugepages; reserve some (echo "
           "512 > /proc/sys/vm/nr_hugepages) or use memory = \"no-huge\"";
  if (c.eal.memory != Memory::kHugepages) return {};
  bool mounted = false;
  std::ifstream mounts("/proc/mounts");
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream in(line);
    std::string dev, dir, type;
    in >> dev >> dir >> type;
    if (type == "hugetlbfs") mounted = true;
  }
  if (!mounted)
    return "eal.memory = \"hugepages\" but no hugetlbfs is mounted; mount one (mount -t "
           "hugetlbfs nodev /dev/hugepages) or use memory = \"in-memory\" or \"no-huge\"";
  return {};
}

}  // namespace ctl
