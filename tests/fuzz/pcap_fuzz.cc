// libFuzzer target for the capture readers Loom runs before net_pcap:
// the record count that ends offline runs (with its damage report), the
// link type (classic pcap and pcapng, every section), the snap length and
// the cut-records scan. The input is written to a file of this process's
// own and read back through the real path-based functions.
// Checks: no crash, hang or sanitizer report; a count never exceeds what
// the file's size allows (16 bytes per record at least); damage is
// reported at a record the count reached, at an offset inside the file.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "ctl/pcap_count.h"

namespace {

const std::string& path() {
  static const std::string p = "/tmp/loom-pcap-fuzz." + std::to_string(getpid()) + ".pcap";
  return p;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "pcap_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = ::open(path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot write the input file");
  for (size_t done = 0; done < size;) {
    const ssize_t w = ::write(fd, data + done, size - done);
    if (w <= 0) fail("short write");
    done += size_t(w);
  }
  ::close(fd);
  ctl::PcapDamage dmg;
  const auto n = ctl::count_pcap_records(path(), nullptr, &dmg);
  if (n && size >= 24 && *n > (size - 24) / 16) fail("more records counted than the file can hold");
  if (dmg.found) {
    if (!n || dmg.record != *n + 1) fail("damage not at the record after the last counted");
    if (dmg.offset + 16 > size) fail("damage offset outside the file");
    if (dmg.caplen <= ctl::kPcapMaxCaplen) fail("damage reported for a length libpcap accepts");
    if (dmg.str(path()).empty()) fail("no sentence");
  }
  try {
    (void)ctl::capture_link_type(path());
  } catch (const std::runtime_error&) {
    // A link type Loom does not decode, or pcapng interfaces that differ:
    // the documented refusals.
  }
  (void)ctl::capture_snaplen(path());
  (void)ctl::capture_has_cut_records(path());
  return 0;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::atexit([] { ::unlink(path().c_str()); });
  return 0;
}
