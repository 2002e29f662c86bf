// Tests of the per-call-site profile (evaluate/site_profile.hpp) and of
// `evoalloc trace sites`: exact numbers on a hand-made trace, agreement with
// `trace info` on the espresso trace, the command's text, JSON and errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "evaluate/site_profile.hpp"
#include "evaluate/trace.hpp"
#include "evaluate/trace_stats.hpp"
#include "tests/common/cli_helpers.hpp"

using namespace evo;
namespace fs = std::filesystem;

namespace {

/// Four sites with known sizes and lifetimes (the expected numbers are worked out
/// in the comments; "between" = bytes created strictly between creation and end).
Trace hand_trace() {
  Trace t;
  t.sites = {CallSite{}, CallSite{"/bin/prog", 0x100, "make_node"}, CallSite{"/bin/prog", 0x200, ""},
             CallSite{"/lib/libc.so.6", 0x300, "strdup"}, CallSite{"/bin/prog", 0x400, "only_frees"}};
  t.push(OpKind::Malloc, 0, 16, 0, 0, 1);    // 0  site 1, created 16
  t.push(OpKind::Malloc, 1, 100, 0, 0, 2);   // 1  site 2, created 116
  t.push(OpKind::Free, 0, 0, 0, 0, 1);       // 2  op 0 ends: 2 ops, 100 between
  t.push(OpKind::Malloc, 0, 32, 0, 0, 1);    // 3  site 1, created 148
  t.push(OpKind::Calloc, 2, 200, 0, 0, 3);   // 4  site 3, created 348
  t.push(OpKind::Free, 0, 0, 0, 0, 1);       // 5  op 3 ends: 2 ops, 200 between
  t.push(OpKind::Realloc, 3, 64, 0, 0, 1);   // 6  realloc(NULL, 64): site 1, created 412
  t.push(OpKind::Realloc, 3, 128, 0, 0, 1);  // 7  resize: no new object
  t.push(OpKind::Memalign, 4, 48, 6, 0, 2);  // 8  site 2, created 460
  t.push(OpKind::Realloc, 3, 0, 0, 0, 1);    // 9  realloc(p, 0): op 6 ends: 3 ops, 48 between
  t.push(OpKind::Malloc, 0, 8, 0, 0, 1);     // 10 site 1, created 468; never freed
  t.push(OpKind::Free, 1, 0, 0, 0, 2);       // 11 op 1 ends: 10 ops, 352 between
  t.push(OpKind::Malloc, 4, 24, 0, 0, 3);    // 12 missed free: op 8 never freed; site 3, created 492
  t.push(OpKind::Free, 2, 0, 0, 0, 3);       // 13 op 4 ends: 9 ops, 144 between
  t.push(OpKind::Free, 4, 0, 0, 0, 3);       // 14 op 12 ends: 2 ops, 0 between
  t.push(OpKind::Free, 5, 0, 0, 0, 4);       // 15 free of an empty slot: nothing
  t.push(OpKind::Realloc, 6, 0, 0, 0, 4);    // 16 realloc(NULL, 0): nothing created
  t.push(OpKind::Malloc, 5, 4096, 0, 0, 0);  // 17 unknown site; never freed
  t.finish();
  return t;
}

const std::string kBin = std::string(EVOALLOC_BINARY_DIR) + "/app/evoalloc";
const std::string kEspresso = std::string(EVOALLOC_SOURCE_DIR) + "/traces/espresso.trace";

fs::path scratch(const std::string& name) { return test::scratch_file("sites", name, true); }

test::CmdOutput run(const std::string& args) {
  return test::run_split(kBin + " " + args, scratch("stdout"), scratch("stderr"));
}

/// The value of the first `"key":` at or after `from` in a JSON text (as text).
std::string json_value(const std::string& json, const std::string& key, std::size_t from = 0) {
  const std::size_t at = json.find("\"" + key + "\":", from);
  if (at == std::string::npos) return "";
  const std::size_t b = at + key.size() + 3;
  return json.substr(b, json.find_first_of(",}]", b) - b);
}

}  // namespace

TEST_CASE("nearest_rank: exact nearest-rank quantiles") {
  std::vector<std::uint64_t> v;
  CHECK(nearest_rank(v, 50) == 0);
  v = {4, 1, 3, 2};
  CHECK(nearest_rank(v, 50) == 2);
  CHECK(nearest_rank(v, 90) == 4);
  CHECK(nearest_rank(v, 25) == 1);
  v = {7};
  CHECK(nearest_rank(v, 50) == 7);
  CHECK(nearest_rank(v, 90) == 7);
  v = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  CHECK(nearest_rank(v, 90) == 9);
  CHECK(nearest_rank(v, 91) == 10);
  CHECK(nearest_rank(v, 100) == 10);
  CHECK(nearest_rank(v, 1) == 1);
}

TEST_CASE("site_profiles: counts, sizes, lifetimes in ops and bytes, never freed, order") {
  const Trace t = hand_trace();
  const std::vector<SiteProfile> p = site_profiles(t);
  // Site 4 only frees: left out. Sites 2 and 3 tie at 2 allocations: lower id first.
  REQUIRE(p.size() == 4);
  CHECK(p[0].site == 1);
  CHECK(p[1].site == 2);
  CHECK(p[2].site == 3);
  CHECK(p[3].site == 0);

  // Per site: allocs, bytes, size min/median/p90/max, freed, never freed, share,
  // lifetime in ops median/p90, in bytes median/p90.
  struct Expect {
    std::uint32_t site;
    std::uint64_t allocs, bytes, size_min, size_median, size_p90, size_max, freed, never_freed;
    double share;
    std::uint64_t ops_median, ops_p90, bytes_median, bytes_p90;
  };
  const Expect expect[] = {
      // sizes 16, 32, 64, 8; lifetimes 2, 2, 3 ops; 100, 200, 48 bytes; one lost
      {1, 4, 120, 8, 16, 64, 64, 3, 1, 0.25, 2, 3, 100, 200},
      // sizes 100, 48; op 1 freed after 10 ops, 352 bytes; op 8 lost
      {2, 2, 148, 48, 48, 100, 100, 1, 1, 0.5, 10, 10, 352, 352},
      // sizes 200 (calloc), 24; lifetimes 9, 2 ops; 144, 0 bytes
      {3, 2, 224, 24, 24, 200, 200, 2, 0, 0.0, 2, 9, 0, 144},
      // the unknown site: one block never freed, no lifetimes
      {0, 1, 4096, 4096, 4096, 4096, 4096, 0, 1, 1.0, 0, 0, 0, 0},
  };
  for (std::size_t i = 0; i < p.size(); ++i) {
    const SiteProfile& g = p[i];
    const Expect& e = expect[i];
    CAPTURE(e.site);
    CHECK(g.where == t.sites[e.site]);
    CHECK(g.allocs == e.allocs);
    CHECK(g.bytes == e.bytes);
    CHECK(g.size_min == e.size_min);
    CHECK(g.size_median == e.size_median);
    CHECK(g.size_p90 == e.size_p90);
    CHECK(g.size_max == e.size_max);
    CHECK(g.freed == e.freed);
    CHECK(g.never_freed == e.never_freed);
    CHECK(g.never_freed_share() == doctest::Approx(e.share));
    CHECK(g.lifetime_ops_median == e.ops_median);
    CHECK(g.lifetime_ops_p90 == e.ops_p90);
    CHECK(g.lifetime_bytes_median == e.bytes_median);
    CHECK(g.lifetime_bytes_p90 == e.bytes_p90);
  }
}

TEST_CASE("site_profiles: an empty trace has no sites") {
  Trace t;
  t.finish();
  CHECK(site_profiles(t).empty());
}

TEST_CASE("site_profiles on espresso agree with trace info") {
  const Trace t = read_trace(kEspresso);
  const std::vector<SiteProfile> p = site_profiles(t);
  const TraceStats st = trace_stats(kEspresso);
  REQUIRE(p.size() > 1);
  std::uint64_t allocs = 0, never = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    CAPTURE(i);
    allocs += p[i].allocs;
    never += p[i].never_freed;
    CHECK(p[i].allocs > 0);
    CHECK(p[i].size_min <= p[i].size_median);
    CHECK(p[i].size_median <= p[i].size_p90);
    CHECK(p[i].size_p90 <= p[i].size_max);
    CHECK(p[i].lifetime_ops_median <= p[i].lifetime_ops_p90);
    CHECK(p[i].lifetime_bytes_median <= p[i].lifetime_bytes_p90);
    CHECK(p[i].freed + p[i].never_freed == p[i].allocs);
    if (i > 0)
      CHECK((p[i - 1].allocs > p[i].allocs || (p[i - 1].allocs == p[i].allocs && p[i - 1].site < p[i].site)));
  }
  // The same objects as trace info, and the same top sites in the same order.
  CHECK(allocs == st.objects);
  CHECK(never == st.never_freed);
  REQUIRE(st.top_sites.size() <= p.size());
  for (std::size_t i = 0; i < st.top_sites.size(); ++i) {
    CAPTURE(i);
    CHECK(p[i].site == st.top_sites[i].site);
    CHECK(p[i].allocs == st.top_sites[i].allocs);
    CHECK(p[i].bytes == st.top_sites[i].bytes);
  }
}

TEST_CASE("trace sites: text table and JSON of the hand-made trace") {
  const fs::path file = scratch("hand.trace");
  write_trace(file.string(), hand_trace());

  test::CmdOutput r = run("trace sites " + file.string());
  CAPTURE(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  std::istringstream in(r.out);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines.size() == 7);  // totals, units, header, 4 sites
  CHECK(lines[0] == "ops: 18, allocations: 9 at 4 call sites");
  // Right-aligned columns: every row as long as the header up to the call site.
  const std::size_t site_col = lines[2].find("call site");
  REQUIRE(site_col != std::string::npos);
  CHECK(lines[3].substr(site_col) == "/bin/prog:(make_node)[0x100]");
  CHECK(lines[4].substr(site_col) == "/bin/prog:[0x200]");
  CHECK(lines[5].substr(site_col) == "/lib/libc.so.6:(strdup)[0x300]");
  CHECK(lines[6].substr(site_col) == "(unknown)");
  std::istringstream row(lines[3]);
  std::vector<std::string> cells;
  for (std::string c; row >> c;) cells.push_back(c);
  const std::vector<std::string> want = {"1", "4", "120", "16", "64", "2", "3", "100", "200", "25.0%"};
  REQUIRE(cells.size() == want.size() + 1);
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(cells[i] == want[i]);

  r = run("trace sites " + file.string() + " --top 2");
  REQUIRE(r.code == 0);
  CHECK(r.out.rfind("ops: 18, allocations: 9 at 4 call sites (top 2 by allocations)\n", 0) == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 5);

  r = run("trace sites --json " + file.string() + " --top 0");
  REQUIRE(r.code == 0);
  CHECK(r.out.rfind("{\"ops\":18,\"allocs\":9,\"site_count\":4,\"sites\":[{\"site\":1,", 0) == 0);
  CHECK(r.out.find("{\"site\":1,\"module\":\"/bin/prog\",\"offset\":256,\"symbol\":\"make_node\",\"allocs\":4,"
                   "\"bytes\":120,\"size_min\":8,\"size_median\":16,\"size_p90\":64,\"size_max\":64,\"freed\":3,"
                   "\"never_freed\":1,\"never_freed_share\":0.25,\"lifetime_ops_median\":2,\"lifetime_ops_p90\":3,"
                   "\"lifetime_bytes_median\":100,\"lifetime_bytes_p90\":200}") != std::string::npos);
  const std::size_t s2 = r.out.find("{\"site\":2,");
  REQUIRE(s2 != std::string::npos);
  CHECK(json_value(r.out, "never_freed_share", s2) == "0.5");
  CHECK(json_value(r.out, "lifetime_bytes_median", s2) == "352");
  CHECK(r.out.find("{\"site\":3,") > s2);
  CHECK(r.out.find("{\"site\":4,") == std::string::npos);
  CHECK(r.out.substr(r.out.size() - 3) == "]}\n");
}

TEST_CASE("trace sites on espresso: many sites, most allocations first") {
  test::CmdOutput r = run("trace sites " + kEspresso + " --json --top 0");
  REQUIRE(r.code == 0);
  const std::uint64_t count = std::stoull(json_value(r.out, "site_count"));
  CHECK(count > 1);
  std::vector<std::uint64_t> allocs;
  for (std::size_t at = r.out.find("{\"site\":"); at != std::string::npos; at = r.out.find("{\"site\":", at + 1))
    allocs.push_back(std::stoull(json_value(r.out, "allocs", at)));
  CHECK(allocs.size() == count);
  CHECK(std::is_sorted(allocs.rbegin(), allocs.rend()));

  r = run("trace sites " + kEspresso + " --top 3");
  REQUIRE(r.code == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 6);  // totals, units, header, 3 sites
}

TEST_CASE("trace sites: bad input and bad command lines") {
  test::CmdOutput r = run("trace sites " + scratch("missing.trace").string());
  CHECK(r.code == 1);
  CHECK(r.err.rfind("evoalloc trace: ", 0) == 0);
  CHECK(r.err.find("missing.trace") != std::string::npos);
  CHECK(r.err.find("cannot open") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);

  const fs::path junk = scratch("junk.trace");
  test::write_file(junk, "not a trace\n");
  r = run("trace sites " + junk.string());
  CHECK(r.code == 1);
  CHECK(r.err.find("bad magic") != std::string::npos);

  r = run("trace sites " + kEspresso + " --bogus");
  CHECK(r.code == 2);
  CHECK(r.err.find("bogus") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  r = run("trace sites " + kEspresso + " --top -3");
  CHECK(r.code == 2);
  CHECK(r.err.find("top") != std::string::npos);
  CHECK(run("trace sites").code == 2);  // no trace
  r = run("trace site " + kEspresso);
  CHECK(r.code == 2);
  CHECK(r.err.find("expected: info, sites") != std::string::npos);

  r = run("trace sites --help");
  CHECK(r.code == 0);
  CHECK(r.out.find("--top") != std::string::npos);
  CHECK(r.out.find("Documentation: docs/traces.md") != std::string::npos);
}

TEST_CASE("site_lives: what routing designs classify sites by, indexed by site id") {
  const Trace t = hand_trace();
  const std::vector<SiteLife> s = site_lives(t);
  REQUIRE(s.size() == t.sites.size());
  // {allocs, never_freed, lifetime_bytes_p90}, as site_profiles above
  CHECK(s[0].allocs == 1);
  CHECK(s[0].never_freed == 1);
  CHECK(s[1].allocs == 4);
  CHECK(s[1].never_freed == 1);
  CHECK(s[1].lifetime_bytes_p90 == 200);
  CHECK(s[2].allocs == 2);
  CHECK(s[2].lifetime_bytes_p90 == 352);
  CHECK(s[3].never_freed == 0);
  CHECK(s[3].lifetime_bytes_p90 == 144);
  CHECK(s[4].allocs == 0);  // only frees
}
