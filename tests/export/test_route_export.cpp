// The exported library of a routing design (core/route/router.hpp, export/site_map.hpp):
// a program that allocates from two known functions is recorded on a short input,
// a route design is exported from that trace, and the library, preloaded into the
// same program on a longer input, sends each function's blocks to its class (counted
// by EVOALLOC_STATS) and leaves the program's output unchanged. Also: the generated
// design.hpp and the exporter's refusals.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "core/export/exporter.hpp"
#include "core/spec.hpp"
#include "tests/common/cli_helpers.hpp"
#include "tests/export/export_lib.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kBin = export_test::binary_dir() + "/app/evoalloc";
const std::string kProg = export_test::binary_dir() + "/tests/export/evoalloc_test_export_route_sites";
const char* const kRoute = "route life=4K short=[slab slab=64K] long=[pad] rest=[superblock]";
// the program test: the rest sub-design hardened, the whole design too
const char* const kRouteHardened = "route life=4K short=[slab slab=64K] long=[pad] rest=[superblock harden=checked] harden=canary";

fs::path scratch(const std::string& name) { return evo::test::scratch_file("route_export", name, true); }

/// The number after `key ` in the stats line (or -1).
long long count_after(const std::string& line, const std::string& key) {
  const std::size_t at = line.find(key + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(line.substr(at + key.size() + 1));
}

evo::ExportRequest request(const std::string& sentence) {
  evo::ExportRequest r;
  std::string err;
  REQUIRE_MESSAGE(evo::parse_spec(sentence, r.spec, &err), err);
  r.name = "rx";
  r.out_dir = scratch("rx").string();
  r.source_dir = export_test::source_dir();
  return r;
}

}  // namespace

TEST_CASE("route export: design.hpp holds the sub-designs and the table of classified sites") {
  evo::ExportRequest r = request(kRoute);
  r.sites = {
      {"/opt/prog", 0x300, {100, 0, 64}, ""},     // short (p90 64 <= 4K)
      {"./prog", 0x100, {100, 90, 0}, ""},        // long (90% kept): same module file
      {"/usr/lib/libc.so.6", 0x50, {3, 0, 0}, ""},  // too few objects: rest, not listed
      {"/opt/prog", 0x200, {100, 0, 1 << 20}, ""},  // lives long, freed: rest
      {"/usr/lib/libstdc++.so.6.0.30", 0xa958c, {500, 0, 16}, "operator new(unsigned long)"},  // short
  };
  std::string err;
  const std::string h = evo::export_design_header(r, &err);
  REQUIRE_MESSAGE(!h.empty(), err);
  CHECK(h.find("#define EVO_EXPORT_ROUTE 1") != std::string::npos);
  CHECK(h.find("#define EVO_EXPORT_ROUTE_LONG 1") != std::string::npos);
  CHECK(h.find("struct RouteShort {") != std::string::npos);
  CHECK(h.find("using Backend = evo::simple::Slab;") != std::string::npos);
  CHECK(h.find("struct RouteLong {") != std::string::npos);
  CHECK(h.find("evo::pad_add_rows(v);") != std::string::npos);  // pad: its row, from its file
  CHECK(h.find("struct RouteRest {") != std::string::npos);
  CHECK(h.find("2 short-lived, 1 long-lived and 2 other sites") != std::string::npos);
  // the library's operator new replaces libstdc++'s: it takes that site's class
  CHECK(h.find("kRouteNewSite = 1;") != std::string::npos);
  // sorted by module file, then offset; module paths cut to the file name
  const std::size_t a = h.find("{\"prog\", 0x100, 1},  // long");
  const std::size_t b = h.find("{\"prog\", 0x300, 0},  // short");
  CHECK(a != std::string::npos);
  CHECK(b != std::string::npos);
  CHECK(a < b);
  CHECK(h.find("kRouteSiteCount = 3;") != std::string::npos);
  CHECK(h.find("libc.so.6") == std::string::npos);
  const auto src = evo::export_core_sources(r.spec);
  for (const char* f : {"core/route/router.cpp", "core/instance.cpp", "core/simple/noreuse.cpp"})
    CHECK_MESSAGE(std::find(src.begin(), src.end(), f) != src.end(), f);

  // refusals, each naming the fix
  evo::ExportRequest no_sites = request(kRoute);
  CHECK(evo::export_design_header(no_sites, &err).empty());
  CHECK(err.find("give the trace") != std::string::npos);
  evo::ExportRequest tlh = r;
  tlh.threads = "tlh";
  CHECK(evo::export_design_header(tlh, &err).empty());
  CHECK(err.find("use --threads lock") != std::string::npos);
  // a hardened sub-design: its struct names the mode (the runtime wraps its row)
  evo::ExportRequest hardened = request("route short=[slab harden=canary]");
  hardened.sites = r.sites;
  const std::string hh = evo::export_design_header(hardened, &err);
  REQUIRE_MESSAGE(!hh.empty(), err);
  CHECK(hh.find("static constexpr const char* kHarden = \"canary\";") != std::string::npos);
}

TEST_CASE("route export: learned on a short run, the library routes a longer run's sites by return address") {
  // 1. record the program on a short input
  const fs::path trace = scratch("short.trace");
  const evo::test::CmdOutput rec =
      evo::test::run_split(kBin + " record -o " + trace.string() + " -- " + kProg + " 200", scratch("rec.out"),
                           scratch("rec.err"));
  REQUIRE_MESSAGE(rec.code == 0, rec.err);
  // 2. export a route design from it (the CLI classifies the trace's sites)
  const fs::path out = fs::path(export_test::libs_dir()) / "x_route";
  const evo::test::CmdOutput ex = evo::test::run_split(
      kBin + " export --allocator '" + kRouteHardened + "' --trace " + trace.string() +
          " --name x_route --out " + out.string() + " --jobs 2",
      scratch("ex.out"), scratch("ex.err"));
  const std::string ex_log = ex.err + ex.out + export_test::slurp((out / "build.log").string());
  REQUIRE_MESSAGE(ex.code == 0, ex_log);
  const std::string h = export_test::slurp((out / "design.hpp").string());
  CHECK(h.find("// short") != std::string::npos);
  CHECK(h.find("// long") != std::string::npos);

  // 3. a longer run of the same binary under the library: 50 blocks a round from
  // churn (short), one from keep (long), a few others (main's array, stdio: rest)
  const std::string plain = evo::test::run_split(kProg + " 1000", scratch("p.out"), scratch("p.err")).out;
  const evo::test::CmdOutput run = evo::test::run_split(
      "EVOALLOC_STATS=1 LD_PRELOAD=" + (out / "libx_route.so").string() + " " + kProg + " 1000", scratch("r.out"),
      scratch("r.err"));
  REQUIRE_MESSAGE(run.code == 0, run.err);
  CHECK(run.out == plain);
  CAPTURE(run.err);
  CHECK(count_after(run.err, "route short") == 50000);
  CHECK(count_after(run.err, "long") == 1000);
  const long long rest = count_after(run.err, "rest");
  CHECK(rest >= 1);
  CHECK(rest <= 10);
}
