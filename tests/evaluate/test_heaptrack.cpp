// Tests of evaluate/import/heaptrack: the heaptrack raw data importer. A
// hand-written log covers every line form; a real `heaptrack -r` recording of
// tests/evaluate/data/heaptrack_prog.c is imported, replayed, and compared with
// `evoalloc record` of the same program.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "evaluate/import/heaptrack.hpp"
#include "evaluate/replay.hpp"
#include "tests/common/cli_helpers.hpp"
#include "tests/common/trace_checks.hpp"

using namespace evo;
namespace fs = std::filesystem;

namespace {

const std::string kBin = std::string(EVOALLOC_BINARY_DIR) + "/app/evoalloc";
const std::string kProg = std::string(EVOALLOC_BINARY_DIR) + "/tests/evaluate/evoalloc_test_heaptrack_prog";

using test::quote;

/// A file in this process's scratch folder (removed when the test program ends).
fs::path scratch(const std::string& name) { return test::scratch_file("ht", name, true); }

/// Runs a shell command; returns its exit status; stdout+stderr go to *out.
int run(const std::string& cmd, std::string* out = nullptr) { return test::run_logged(cmd, scratch("cmd.log"), out); }

// Every line form heaptrack 1.4 writes, plus oddities. Comments: what each line
// becomes (objects are slots: freed ids are reused, most recent first).
const char* const kLog =
    "v 10400 3\n"                                        // 1
    "x 9 /bin/prog\n"                                    // 2  the executable: module "x"
    "X /bin/prog --flag\n"                               // 3
    "I 1000 5e298d\n"                                    // 4
    "m 1 -\n"                                            // 5  reset (empty anyway)
    "m 1 x 400000 0 2000\n"                              // 6  /bin/prog [0x400000, 0x402000)
    "m e /opt/my lib.so 7f0000000000 0 1000 2000 3000\n" // 7  a path with a space, two segments
    "t 4000ff 0\n"                                       // 8  node 1: /bin/prog 0x100
    "t 7f00000024ff 1\n"                                 // 9  node 2: /opt/my lib.so 0x2500
    "t 7f00000017ff 0\n"                                 // 10 node 3: the gap between segments
    "+ 10 1 1000\n"                                      // 11 obj 0, 16 B, site 1
    "+ 20 2 2000\n"                                      // 12 obj 1, 32 B, site 2
    "+ 30 3 3000\n"                                      // 13 obj 2, 48 B, site 3 (unresolved)
    "+ 40 1 4000\n"                                      // 14 obj 3, 64 B, site 1 again
    "- 2000\n"                                           // 15 free obj 1
    "- 5000\n"                                           // 16 unknown pointer: unmatched_frees
    "- 0\n"                                              // 17 free_null
    "c a\n"                                              // 18
    "R 3b3\n"                                            // 19
    "Z 1 2 a future kind\n"                              // 20 unknown kind: skipped, counted
    "Q\n"                                                // 21 unknown kind alone
    "+ 50 0 6000\n"                                      // 22 obj 1 (reused), 80 B, no backtrace: site 0
    "+ 8 1 0\n"                                          // 23 NULL: failed_allocs
    "A\n"                                                // 24
    "m 1 -\n"                                            // 25 reset: /bin/prog and my lib.so gone
    "m 9 /lib/b.so 7f0000000000 0 4000\n"                // 26 another module at the same base
    "t 4000ff 0\n"                                       // 27 node 4: no module now: [0x400100]
    "t 7f00000024ff 0\n"                                 // 28 node 5: /lib/b.so 0x2500
    "+ 60 2 7000\n"                                      // 29 obj 4, 96 B, node 2 keeps its module: site 2
    "+ 70 5 7100\n"                                      // 30 obj 5, 112 B, site 4 (/lib/b.so)
    "+ 80 4 7200\n"                                      // 31 obj 6, 128 B, site 5 (unresolved)
    "- 1000\n"                                           // 32 free obj 0
    "+ 90 1 4000\n";                                     // 33 obj 0, 144 B, site 1; 0x4000 still live: address_reuse

void check(const Trace& t, const HeaptrackStats& st) {
  struct E {
    OpKind kind;
    std::uint32_t object;
    std::uint64_t size;
    std::uint32_t site;
  };
  const E want[] = {{OpKind::Malloc, 0, 16, 1},  {OpKind::Malloc, 1, 32, 2},  {OpKind::Malloc, 2, 48, 3},
                    {OpKind::Malloc, 3, 64, 1},  {OpKind::Free, 1, 0, 0},     {OpKind::Malloc, 1, 80, 0},
                    {OpKind::Malloc, 4, 96, 2},  {OpKind::Malloc, 5, 112, 4}, {OpKind::Malloc, 6, 128, 5},
                    {OpKind::Free, 0, 0, 0},     {OpKind::Malloc, 0, 144, 1}};
  evo::test::check_ops(t, want, [](const Op& op, const E& w) {
    CHECK(op.site == w.site);
    CHECK(op.thread == 0);
    CHECK(op.align_log2 == 0);
  });
  const std::vector<CallSite> sites = {{},
                                       {"/bin/prog", 0x100, ""},
                                       {"/opt/my lib.so", 0x2500, ""},
                                       {"", 0x7f0000001800, ""},
                                       {"/lib/b.so", 0x2500, ""},
                                       {"", 0x400100, ""}};
  CHECK(t.sites == sites);
  CHECK(t.threads == 1);
  CHECK(t.objects == 7);
  CHECK(t.meta_value("program") == "/bin/prog");
  CHECK(t.meta_value("command") == "/bin/prog --flag");
  CHECK(t.meta_value("source").rfind("heaptrack:", 0) == 0);
  evo::test::check_counters(t, {{"unmatched_frees", 1}, {"free_null", 1}, {"failed_allocs", 1},
                                {"address_reuse", 1}, {"realloc_null", 0}, {"realloc_zero", 0}});
  evo::test::check_stats({{"lines", st.lines, 33}, {"ops", st.ops, 11}, {"allocs", st.allocs, 9},
                          {"frees", st.frees, 2}, {"sites", st.sites, 5}, {"objects", st.objects, 7},
                          {"unknown_lines", st.unknown_lines, 2}, {"module_resets", st.module_resets, 2},
                          {"trace_nodes", st.trace_nodes, 5}, {"unresolved_sites", st.unresolved_sites, 2},
                          {"sites_with_symbol", st.sites_with_symbol, 0},
                          {"modules_not_matched", st.modules_not_matched, 3}});  // no such files here
}

fs::path write(const std::string& name, const std::string& text) {
  fs::path p = scratch(name);
  test::write_file(p, text);
  return p;
}

std::string error_of(const std::string& text) {
  fs::path p = write("bad.raw", text);
  return test::error_message([&] { import_heaptrack(p.string()); });
}

bool have(const std::string& prog) { return run("command -v " + prog) == 0; }

/// Sizes of the allocations heaptrack 1.4 can see in a trace made by `evoalloc
/// record`: every allocating op except memalign and pvalloc (not intercepted) and
/// realloc(p, 0) (not written).
std::map<std::uint64_t, int> visible_sizes(const Trace& t) {
  std::map<std::uint64_t, int> n;
  for (std::size_t i = 0; i < t.ops.size(); ++i) {
    const Op& op = t.ops[i];
    if (op.kind == OpKind::Free || op.kind == OpKind::Memalign || op.kind == OpKind::Pvalloc) continue;
    if (op.kind == OpKind::Realloc && t.size_of(i) == 0) continue;
    ++n[t.size_of(i)];
  }
  return n;
}

bool in_prog(const CallSite& cs) { return cs.module.ends_with("/evoalloc_test_heaptrack_prog"); }

}  // namespace

TEST_CASE("heaptrack: every line form, modules and resets, oddities counted") {
  fs::path plain = write("forms.raw", kLog);
  HeaptrackStats st;
  check(import_heaptrack(plain.string(), &st), st);
  // The same through the streaming writer and read back.
  fs::path out = scratch("forms.trace");
  HeaptrackStats st2 = import_heaptrack(plain.string(), out.string());
  check(read_trace(out.string()), st2);
  // zstd-compressed (detected by magic, not name), with CRLF line ends.
  std::string crlf;
  for (char c : std::string(kLog)) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  fs::path z = write("forms.raw.zst", test::zstd_compress(crlf));
  HeaptrackStats st3;
  check(import_heaptrack(z.string(), &st3), st3);
}

TEST_CASE("heaptrack: malformed lines are named by number") {
  CHECK(error_of("+ 10 0\n").find("bad.raw:1: malformed heaptrack line, expected '+ SIZE TRACE PTR'") !=
        std::string::npos);
  CHECK(error_of("v 10400 3\n+ 10 1 1000\n").find(":2: malformed heaptrack line, expected TRACE naming a 't' node") !=
        std::string::npos);
  CHECK(error_of("t 400000 0\nt 400010 3\n").find(":2: malformed heaptrack line, expected PARENT") != std::string::npos);
  CHECK(error_of("- zz\n").find(":1: malformed heaptrack line, expected '- PTR'") != std::string::npos);
  CHECK(error_of("+ 10 0 12345678901234567\n").find(":1: ") != std::string::npos);  // 17 hex digits
  CHECK(error_of("m 20 /short 1000\n").find("expected 'm LEN PATH BASE") != std::string::npos);
  CHECK(error_of("m 5 /a.so 1000 0\n").find("expected 'm LEN PATH BASE") != std::string::npos);  // odd segment
  CHECK(error_of("m 1 - 5\n").find("nothing after 'm 1 -'") != std::string::npos);
  CHECK(error_of("x 5 /bin/prog\n").find("expected 'x LEN EXE'") != std::string::npos);
  CHECK(error_of("x ffffffffffffffff\n").find("expected 'x LEN EXE'") != std::string::npos);  // LEN + 1 wraps
  CHECK(error_of("m ffffffffffffffff /a.so 0\n").find("expected 'm LEN PATH BASE") != std::string::npos);
  CHECK(error_of("v 1\n").find("expected 'v VERSION FILEVERSION'") != std::string::npos);
  CHECK(error_of("I 1000\n").find("expected 'I PAGESIZE PAGES'") != std::string::npos);
  CHECK(error_of("c\n").find("expected 'c TIMESTAMP'") != std::string::npos);
  CHECK(error_of("R 1 2\n").find("expected 'R RSS'") != std::string::npos);
  CHECK(error_of("A 1\n").find("expected 'A' alone") != std::string::npos);
  CHECK(error_of("ab 1 2\n").find(":1: malformed heaptrack line, expected a one-character line kind") !=
        std::string::npos);
  CHECK(error_of(" + 1 2 3\n").find(":1: ") != std::string::npos);
  // Blank lines are accepted and counted.
  CHECK(error_of("t 1 0\n\n- 10 20\n").find("bad.raw:3: malformed heaptrack line, expected '- PTR'") !=
        std::string::npos);
  // An interpreted heaptrack file (recorded without -r): '+' has one field.
  CHECK(error_of("v 10400 3\ns 5 /a.so\na 11c00 4\n+ 0\n").find(":4: ") != std::string::npos);
  CHECK(error_of("+ 0\n").find("interpreted heaptrack file: record with heaptrack -r") != std::string::npos);
  // Truncated zstd: the import stops with a clear error.
  std::string z = test::zstd_compress(kLog);
  fs::path cut = write("cut.raw.zst", z.substr(0, z.size() / 2));
  CHECK_THROWS_WITH_AS(import_heaptrack(cut.string()), doctest::Contains("truncated zstd stream"), std::runtime_error);
  CHECK_THROWS_WITH_AS(import_heaptrack(scratch("missing.raw").string()), doctest::Contains("cannot open"),
                       std::runtime_error);
  // A failed import leaves no output file.
  fs::path out = scratch("never.trace");
  CHECK_THROWS(import_heaptrack(cut.string(), out.string()));
  CHECK(!fs::exists(out));
  CHECK(!fs::exists(out.string() + ".tmp"));
}

TEST_CASE("heaptrack: evoalloc import --format heaptrack") {
  if (!fs::exists(kBin)) {
    MESSAGE("evoalloc binary not built: CLI not tested");
    return;
  }
  fs::path in = write("cli.raw", kLog);
  fs::path out = scratch("cli.trace");
  std::string log;
  CHECK(run(quote(kBin) + " import --format heaptrack " + quote(in.string()) + " -o " + quote(out.string()), &log) == 0);
  CHECK(log.find("33 lines, 11 ops (9 allocations, 2 frees, 0 reallocs), 7 object slots, 5 call sites") !=
        std::string::npos);
  CHECK(log.find("2 lines of unknown kinds skipped") != std::string::npos);
  CHECK(log.find("0 call sites named; 3 modules missing here") != std::string::npos);
  HeaptrackStats st;
  st.lines = 33, st.ops = 11, st.allocs = 9, st.frees = 2, st.sites = 5, st.objects = 7;
  st.unknown_lines = 2, st.module_resets = 2, st.trace_nodes = 5, st.unresolved_sites = 2, st.modules_not_matched = 3;
  check(read_trace(out.string()), st);
  // A malformed line: exit code 1 and the line named; an unknown format: usage error.
  fs::path bad = write("cli_bad.raw", "v 10400 3\n- 10 20\n");
  CHECK(run(quote(kBin) + " import --format heaptrack " + quote(bad.string()) + " -o " + quote(out.string()), &log) == 1);
  CHECK(log.find("cli_bad.raw:2: malformed heaptrack line") != std::string::npos);
  CHECK(run(quote(kBin) + " import --format heaptrak " + quote(in.string()) + " -o " + quote(out.string()), &log) == 2);
  CHECK(log.find("expected: mtrace, record_allocs, heaptrack") != std::string::npos);
}

TEST_CASE("heaptrack: a real recording imports, replays and matches evoalloc record") {
  if (!have("heaptrack") || !have("zstd")) {
    MESSAGE("heaptrack (or zstd) not installed: real recording not tested");
    return;
  }
  REQUIRE(fs::exists(kProg));
  const fs::path base = scratch("prog");
  std::string log;
  REQUIRE_MESSAGE(run("heaptrack -r -o " + quote(base.string()) + " " + quote(kProg), &log) == 0, log);
  const std::string raw = base.string() + ".raw.zst";
  REQUIRE(fs::exists(raw));

  // An independent count of the raw file's '+' and '-' lines.
  const fs::path text = scratch("prog.raw.txt");
  REQUIRE(run("zstd -q -d -f -o " + quote(text.string()) + " " + quote(raw)) == 0);
  std::uint64_t plus = 0, minus = 0;
  {
    std::ifstream in(text);
    for (std::string line; std::getline(in, line);) {
      plus += line.rfind("+ ", 0) == 0;
      minus += line.rfind("- ", 0) == 0;
    }
  }
  REQUIRE(plus > 900);  // the program makes 923 visible allocations

  HeaptrackStats st;
  Trace t = import_heaptrack(raw, &st);
  std::uint64_t mallocs = 0, frees = 0, other = 0;
  std::vector<bool> live(t.objects, false);
  for (const Op& op : t.ops) {
    if (op.kind == OpKind::Malloc) ++mallocs, live[op.object] = true;
    else if (op.kind == OpKind::Free) ++frees, live[op.object] = false;
    else ++other;
  }
  CHECK(mallocs == plus);
  CHECK(st.failed_allocs == 0);
  CHECK(frees + st.unmatched_frees + st.free_null == minus);
  CHECK(frees == st.frees);
  CHECK(other == 0);
  CHECK(st.unknown_lines == 0);
  CHECK(st.unresolved_sites == 0);
  CHECK(t.threads == 1);
  CHECK(in_prog({t.meta_value("program"), 0, ""}));
  // The free of the memalign'ed block (heaptrack did not see it allocated) is
  // the only unknown pointer; the block of realloc(z, 0) (not written) stays live.
  CHECK(st.unmatched_frees == 1);
  CHECK(std::count(live.begin(), live.end(), true) == 1);

  ReplayResult r = replay_system(t);
  CHECK_MESSAGE(r.ok, r.error);
  CHECK(r.ops == t.ops.size());

  // The same program under evoalloc's own recorder.
  if (!fs::exists(kBin)) {
    MESSAGE("evoalloc binary not built: comparison with `evoalloc record` skipped");
    return;
  }
  const fs::path rec = scratch("prog.trace");
  REQUIRE_MESSAGE(run(quote(kBin) + " record -o " + quote(rec.string()) + " -- " + quote(kProg), &log) == 0, log);
  Trace e = read_trace(rec.string());

  // Same number of allocations of each size. Heaptrack's preload library pulls
  // libstdc++ into the (C) program, whose emergency exception pool is allocated
  // when it loads: one allocation heaptrack records that the program itself does
  // not make; it is the only one outside the program's own code.
  std::map<std::uint64_t, int> ht_sizes;
  int from_libstdcxx = 0, elsewhere = 0;
  for (std::size_t i = 0; i < t.ops.size(); ++i) {
    if (t.ops[i].kind != OpKind::Malloc) continue;
    const CallSite& cs = t.sites[t.ops[i].site];
    if (cs.module.find("libstdc++") != std::string::npos) {
      ++from_libstdcxx;
      continue;
    }
    elsewhere += !in_prog(cs);
    ++ht_sizes[t.size_of(i)];
  }
  CHECK(from_libstdcxx == 1);
  CHECK(elsewhere == 0);
  CHECK(ht_sizes == visible_sizes(e));

  // Same call sites, allocation by allocation: heaptrack's sites (return address
  // relative to the module's base) are the recorder's (module + file offset).
  std::map<std::uint64_t, int> ht_sites, rec_sites;
  for (const Op& op : t.ops)
    if (op.kind == OpKind::Malloc && in_prog(t.sites[op.site])) ++ht_sites[t.sites[op.site].offset];
  for (std::size_t i = 0; i < e.ops.size(); ++i) {
    const Op& op = e.ops[i];
    if (op.kind == OpKind::Free || op.kind == OpKind::Memalign || op.kind == OpKind::Pvalloc) continue;
    if (op.kind == OpKind::Realloc && e.size_of(i) == 0) continue;
    if (in_prog(e.sites[op.site])) ++rec_sites[e.sites[op.site].offset];
  }
  CHECK(ht_sites.size() >= 6);
  CHECK(ht_sites == rec_sites);

  // Named alike: the program is not stripped, every allocation in it is in main.
  std::map<std::uint64_t, std::string> ht_names, rec_names;
  for (const CallSite& cs : t.sites)
    if (in_prog(cs)) ht_names[cs.offset] = cs.symbol;
  for (const CallSite& cs : e.sites)
    if (in_prog(cs) && ht_names.count(cs.offset) != 0) rec_names[cs.offset] = cs.symbol;
  CHECK(ht_names == rec_names);
  for (const auto& [offset, name] : ht_names) CHECK(name == "main");
  CHECK(st.sites_with_symbol >= ht_names.size());
  CHECK(st.modules_not_matched == 0);
}

TEST_CASE("heaptrack: a module whose file differs from the recording is not named") {
  REQUIRE(fs::exists(kProg));
  char len[32];
  std::snprintf(len, sizeof len, "%zx", kProg.size());
  // The real program's file, but segments it does not have: another build.
  fs::path p = write("other_build.raw", std::string("m ") + len + " " + kProg + " 400000 0 10 1000 20\n" +
                                            "t 40100f 0\n+ 10 1 1000\n");
  HeaptrackStats st;
  Trace t = import_heaptrack(p.string(), &st);
  REQUIRE(t.sites.size() == 2);
  CHECK(t.sites[1] == CallSite{kProg, 0x1010, ""});
  CHECK(st.modules_not_matched == 1);
  CHECK(st.sites_with_symbol == 0);
}
