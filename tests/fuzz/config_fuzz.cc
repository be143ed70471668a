// libFuzzer target for the startup-file reader: any text, as a TOML file.
// Checks: no crash or sanitizer report; parse_config() either returns a
// Config or throws ConfigErrors (nothing else escapes), every error has a
// message and names the file, and a Config that loads also plans
// (ctl::stage_config) and offline-converts without throwing.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ctl/config.h"
#include "ctl/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 << 10) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const ctl::Config c = ctl::parse_config(text, "fuzz.toml");
    (void)ctl::stage_config(c, true);
    (void)ctl::stage_config(c, false);
    if (c.mode != ctl::Mode::kOffline) (void)ctl::offline_config("/dev/null", &c);
  } catch (const ctl::ConfigErrors& e) {
    if (e.errors.empty()) std::abort();
    for (const ctl::ConfigError& err : e.errors)
      if (err.message.empty() || err.str().rfind("fuzz.toml:", 0) != 0) {
        std::fprintf(stderr, "config_fuzz: error without a place or message: %s\n", err.str().c_str());
        std::abort();
      }
  }
  return 0;
}
