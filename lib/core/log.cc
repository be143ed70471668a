#include "core/log.h"

namespace core {

int log_type() noexcept {
  // Function-local static: registered on first use, which may be before
  // rte_eal_init (config errors are logged before EAL exists).
  static const int type = [] {
    int t = rte_log_register_type_and_pick_level("loom", RTE_LOG_INFO);
    return t < 0 ? RTE_LOGTYPE_USER1 : t;
  }();
  return type;
}

}  // namespace core
