// The modeled metrics of a design are the same whatever thread evaluates it and
// whatever the process heap did before (issue #6): every family keeps all its
// metadata inside the instance's own reservation (core/source/meta_arena.hpp), and
// the cache model renames pages by first touch, so nothing depends on where the
// process heap happens to place things. For a handful of designs of EVERY family
// (first, middle and last row, hardened variants, fitted classes), evaluate_design
// on an espresso prefix runs in one std::thread, then after heap noise in another,
// and every metric (except wall time) must be identical.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/registry.hpp"
#include "evaluate/metrics.hpp"
#include "evaluate/trace.hpp"
#include "tests/core/stress.hpp"

namespace {

using evo::test::heap_noise;
using evo::test::with_harden;

constexpr std::uint64_t kMaxOps = evo::test::stress_ops(30000, 6000);

const evo::Trace& espresso() {
  static const evo::Trace t = evo::read_trace(std::string(EVOALLOC_SOURCE_DIR) + "/traces/espresso.trace");
  return t;
}

/// First, middle and last row of every family, the first hardened both ways, and fitted classes.
std::vector<std::string> sample() {
  std::map<std::string, std::vector<std::string>> by_family;
  for (const evo::RegistryRow& r : evo::rows()) by_family[std::string(r.family)].push_back(r.name);
  std::vector<std::string> out;
  for (auto& [family, names] : by_family) {
    out.push_back(names.front());
    if (names.size() > 2) out.push_back(names[names.size() / 2]);
    if (names.size() > 1) out.push_back(names.back());
    out.push_back(with_harden(names.front(), "canary"));
    out.push_back(with_harden(names.front(), "checked"));
  }
  out.push_back("superblock classes=fitted:24 bins=fullness-array alg=bitmap pagemap=radix3 cache=eager");
  out.push_back("block classes=fitted:16 fit=best coalesce=deferred search=larger");
  return out;
}

/// Bitwise equality of two doubles (NaN equals NaN).
bool same(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b)); }

}  // namespace

TEST_CASE("modeled metrics of every family are identical across threads and heap states") {
  const evo::Trace& t = espresso();
  std::vector<evo::SizeCount> hist = evo::size_histogram(t);
  evo::EvalOptions opt;
  opt.speed_mode = evo::SpeedMode::Modeled;
  opt.max_ops = kMaxOps;
  const std::vector<std::string> designs = sample();
  CHECK(designs.size() >= 40);

  std::vector<evo::Metrics> first(designs.size()), second(designs.size());
  std::thread a([&] {
    for (std::size_t i = 0; i < designs.size(); ++i) first[i] = evo::evaluate_design(designs[i], t, hist, opt);
  });
  a.join();
  std::vector<std::vector<char>> keep;
  heap_noise(1, keep, 200, 5000);
  std::thread b([&] {
    std::vector<std::vector<char>> local;
    for (std::size_t i = 0; i < designs.size(); ++i) {
      heap_noise(i + 2, local, 200, 5000);  // a different heap before every design
      second[i] = evo::evaluate_design(designs[i], t, hist, opt);
    }
  });
  b.join();

  for (std::size_t i = 0; i < designs.size(); ++i) {
    CAPTURE(designs[i]);
    const evo::Metrics& x = first[i];
    const evo::Metrics& y = second[i];
    REQUIRE_MESSAGE(x.feasible, x.reason);
    CHECK(x.meta_touches > 0);
    CHECK(x.feasible == y.feasible);
    CHECK(x.ops == y.ops);
    CHECK(x.peak_footprint == y.peak_footprint);
    CHECK(x.peak_live_requested == y.peak_live_requested);
    CHECK(x.peak_live_usable == y.peak_live_usable);
    CHECK(x.os_calls == y.os_calls);
    CHECK(x.meta_touches == y.meta_touches);
    CHECK(x.meta_l1_misses == y.meta_l1_misses);
    CHECK(x.meta_l2_misses == y.meta_l2_misses);
    CHECK(x.l1_misses == y.l1_misses);
    CHECK(x.l2_misses == y.l2_misses);
    CHECK(x.pages == y.pages);
    CHECK(same(x.speed, y.speed));
    CHECK(same(x.fragmentation, y.fragmentation));
    CHECK(same(x.quality, y.quality));
    CHECK(same(x.frag_internal, y.frag_internal));
    CHECK(same(x.frag_external, y.frag_external));
  }
}
