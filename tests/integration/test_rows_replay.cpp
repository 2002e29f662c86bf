// Replays the real espresso trace (traces/espresso.trace, 3.3M requests imported from
// ../shared/traces/espresso.mtrace.zst; its first 1.2M ops) through a sample of registry rows with the
// replay's checking on (alignment, usable size, no overlap, contents) and
// validate(Full) at intervals. The sample walks the 225 superblock rows with a stride
// coprime to every axis, so each bin, algorithm, pagemap and cache value appears,
// plus non-default numerics (fitted classes from the trace's histogram, tiny and huge
// superblocks) and one row of every other family.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "core/instance.hpp"
#include "evaluate/replay.hpp"
#include "evaluate/trace.hpp"

namespace {

#ifdef EVOALLOC_SANITIZE
constexpr std::uint64_t kMaxOps = 150000;  // a prefix under ASan
#else
constexpr std::uint64_t kMaxOps = 1200000; // a third of the trace (the whole took 57 s of
                                           // CI time, mostly rows unmapping and remapping)
#endif

const evo::Trace& espresso() {
  static const evo::Trace t = evo::read_trace(std::string(EVOALLOC_SOURCE_DIR) + "/traces/espresso.trace");
  return t;
}

std::vector<std::string> sample() {
  std::vector<std::string> superblock, others;
  std::set<std::string> families_seen;
  for (const evo::RegistryRow& r : evo::rows()) {
    if (r.family == "superblock") superblock.push_back(r.name);
    else if (families_seen.insert(std::string(r.family)).second) others.push_back(r.name);
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < superblock.size(); i += 11) out.push_back(superblock[i]);  // 21 rows
  out.insert(out.end(), others.begin(), others.end());
  out.push_back("superblock classes=fitted:24 bins=fullness-array alg=bitmap pagemap=radix3 cache=eager");
  out.push_back("superblock classes=pow2 sb=4K large=2K bins=mtf alg=stack pagemap=radix2 cache=none");
  out.push_back("superblock classes=linear:64 sb=1M large=512K bins=fullness-mtf alg=reap pagemap=flat cache=lazy align=64");
  return out;
}

}  // namespace

TEST_CASE("espresso replays through a sample of registry rows with checking on") {
  const evo::Trace& t = espresso();
  REQUIRE(t.ops.size() > 3000000);
  std::vector<evo::SizeCount> hist = evo::size_histogram(t);
  std::vector<std::string> names = sample();
  CHECK(names.size() >= 20);
  std::size_t superblock_rows = 0;
  for (const std::string& name : names) {
    CAPTURE(name);
    evo::InstanceOptions opt;
    opt.size_histogram = hist;
    std::string err;
    evo::Instance inst = evo::Instance::create(name, opt, &err);
    REQUIRE_MESSAGE(inst, err);
    superblock_rows += inst.row().family == "superblock";
    evo::ReplayOptions ro;
    ro.check = true;
    ro.validate_every = 500000;
    ro.max_ops = kMaxOps;
    evo::ReplayResult r = evo::replay(t, inst, ro);
    CHECK_MESSAGE(r.ok, r.error);
    CHECK(r.failed_allocs == 0);
    CHECK(r.ops == kMaxOps);
    CHECK(r.final_stats.peak_footprint >= r.peak_live_requested);
    CHECK(inst.validate(evo::ValidateLevel::Full, &err));
  }
  CHECK(superblock_rows >= 20);
}
