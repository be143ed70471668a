/* mirror/target: the collector mirror copies go to, as the prober
 * (prober.h) offers it to the workers.
 *
 * A header of its own because the fast path (inspect's MirrorSend) needs
 * only this type, not the prober's thread, locks and ethdev calls.
 *
 * Thread: immutable once offered; any thread reads it.
 */
#pragma once

#include <cstddef>
#include <cstdint>

#include "mirror/encap.h"

namespace mirror {

/* [[collectors]] entries at most: the workers count copies per collector
 * in fixed arrays of this size. */
constexpr size_t kMaxCollectors = 16;

/* The outer headers towards the chosen collector. The worker copies the
 * template (it counts IPv4 IDs and GRE sequence numbers). */
struct CollectorTarget {
  EncapTemplate tmpl;
  uint16_t index = 0;  // in the collectors list's order (< kMaxCollectors)
};

}  // namespace mirror
