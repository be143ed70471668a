/* app/run: start-up, the control loop and shutdown of one Loom process.
 * main.cc parses the command line; this file builds the Runtime from a
 * validated Config, launches the workers and waits. All set-up, no packet
 * code (the shape of DPDK's examples/l3fwd main). */
#pragma once

#include <string>

#include "ctl/config.h"

namespace app {

struct RunOptions {
  std::string out_dir;        // where stats.json/run.json go ("" live: none)
  double duration_s = 0;      // stop after this long (0: until signal/EOF)
  bool check_flows = false;   // set the ports up, print the rte_flow rules, exit
  bool progress = false;      // offline: draw the progress line (stderr is a terminal, no --quiet)
};

/* Returns the process exit code. */
int run(ctl::Config cfg, const RunOptions& opt);

}  // namespace app
