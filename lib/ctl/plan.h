/* ctl/plan: what a startup file implies for the workers' inspection, as a
 * pure function of the parsed Config (no EAL, no ports), so that every
 * mapping from a key to the stage's setting (units, derived sizes, which
 * outputs need which records) is in one place and unit-tested
 * (tests/ctl/plan_test.cc).
 *
 * Thread: any; pure.
 */
#pragma once

#include "ctl/config.h"
#include "inspect/stage.h"

namespace ctl {

/* The inspection stage's config for `c`; `have_out_dir`: outputs are
 * written (offline --out, or live outputs.dir). */
inspect::Config stage_config(const Config& c, bool have_out_dir);

}  // namespace ctl
