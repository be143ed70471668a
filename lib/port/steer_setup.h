/* port/steer_setup: the start-up side of steering (port/steer.h) over
 * every port as set up: install the rules where the NIC takes them all,
 * log each rule's result and say which ports fall back to software (the
 * workers check every frame either way); or, for `loom --check-flows`,
 * validate and print the verdicts on stdout instead.
 *
 * Thread: the main lcore, after the ports are started.
 */
#pragma once

#include <vector>

#include "port/port.h"
#include "port/steer.h"

namespace port {

/* One report per port, in `ports`' order (uninstall each at shutdown). */
std::vector<InstallReport> steer_ports(const std::vector<PortState>& ports, const SteerSpec& spec,
                                       bool check_only);

}  // namespace port
