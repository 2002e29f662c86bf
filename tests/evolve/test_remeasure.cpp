// Tests of evolve/remeasure: the front's measured speed in interleaved rounds.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "evaluate/workload.hpp"
#include "evolve/archive.hpp"
#include "evolve/remeasure.hpp"

using namespace evo;

TEST_CASE("every chosen design gets its best round; a failing one NaN; the rest untouched") {
  const std::vector<std::string> paths{std::string(EVOALLOC_SOURCE_DIR) + "/traces/espresso.trace"};
  const Workloads w = load_workloads(paths, [](const std::string&, const Trace&) {
    EvalOptions o;
    o.max_ops = 5000;
    o.speed_mode = SpeedMode::Measured;
    o.measure_cutoff_ns = 1e-9;  // would cut every design short: the re-measure drops it
    return o;
  });
  Archive a;
  for (const char* s : {"slab slab=16K align=16 source=mmap harden=off front=none retain=256K",
                        "superblock classes=jemalloc sb=64K bins=unordered alg=bitmap pagemap=flat cache=lazy "
                        "large=16K align=16 source=mmap harden=off",
                        "nonsense", "pad"}) {
    ArchiveEntry e;
    e.sentence = s;
    e.metrics.speed_measured_ns = -1;  // a value the re-measure must replace (or leave, for the last)
    a.add(e);
  }
  std::ostringstream progress;
  remeasure_front(a, {0, 1, 2}, w, 3, &progress);
  CHECK(a.entries()[0].metrics.speed_measured_ns > 0);
  CHECK(a.entries()[1].metrics.speed_measured_ns > 0);
  CHECK(std::isnan(a.entries()[2].metrics.speed_measured_ns));
  CHECK(a.entries()[3].metrics.speed_measured_ns == -1);
  const std::string said = progress.str();
  CHECK(said.find("round 1/3 (3 designs)") != std::string::npos);
  CHECK(said.find("round 3/3 (3 designs)") != std::string::npos);
  // One round: the warm-up and one timed replay.
  a.entries()[0].metrics.speed_measured_ns = -1;
  remeasure_front(a, {0}, w, 1, nullptr);
  CHECK(a.entries()[0].metrics.speed_measured_ns > 0);
}
