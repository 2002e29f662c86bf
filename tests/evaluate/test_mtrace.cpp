// Tests of evaluate/import/mtrace: every line form on a hand-written log, malformed
// lines named by number, zstd input, and the real espresso log checked against an
// independent count of its lines.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "evaluate/import/mtrace.hpp"
#include "tests/common/cli_helpers.hpp"
#include "tests/common/trace_checks.hpp"

using namespace evo;
namespace fs = std::filesystem;

namespace {

const std::string kData = std::string(EVOALLOC_SOURCE_DIR) + "/tests/evaluate/data/";

fs::path scratch(const std::string& name) { return test::scratch_file("mtrace", name); }

std::string import_error(const std::string& text) {
  fs::path p = scratch("bad.mtrace");
  test::write_file(p, text);
  return test::error_message([&] { import_mtrace(p.string()); });
}

struct Expect {
  OpKind kind;
  std::uint32_t object;
  std::uint64_t size;
  std::uint32_t site;
};

void check_all_forms(const Trace& t, const ImportStats& st) {
  const Expect want[] = {
      {OpKind::Malloc, 0, 16, 1},   {OpKind::Malloc, 1, 1024, 2}, {OpKind::Malloc, 2, 0, 3},
      {OpKind::Malloc, 3, 32, 0},   {OpKind::Realloc, 0, 64, 1},  {OpKind::Realloc, 1, 2048, 0},
      {OpKind::Malloc, 4, 48, 0},   {OpKind::Free, 0, 0, 0},      {OpKind::Free, 2, 0, 0},
      {OpKind::Malloc, 2, 24, 4},   {OpKind::Free, 3, 0, 0},
  };
  evo::test::check_ops(t, want, [](const Op& op, const Expect& w) {
    CHECK(op.site == w.site);
    CHECK(op.thread == 0);
  });
  REQUIRE(t.sites.size() == 5);
  CHECK(t.sites[1] == CallSite{"./prog", 0x1234, ""});
  CHECK(t.sites[2] == CallSite{"/lib/x86_64-linux-gnu/libc.so.6", 0x758cc, "_IO_file_doallocate+8c"});
  CHECK(t.sites[3] == CallSite{"", 0x7f0000001234, ""});
  CHECK(t.sites[4] == CallSite{"./prog", 0x1224, "main-10"});
  CHECK(t.objects == 5);
  CHECK(t.threads == 1);
  CHECK(t.peak_live == 2192);
  evo::test::check_counters(t, {{"unmatched_frees", 2}, {"free_null", 1}, {"failed_allocs", 2}, {"address_reuse", 0}});
  evo::test::check_stats({{"lines", st.lines, 21}, {"allocs", st.allocs, 6}, {"frees", st.frees, 3},
                          {"reallocs", st.reallocs, 2}, {"ops", st.ops, 11}, {"sites", st.sites, 4}});
}

}  // namespace

TEST_CASE("mtrace: every line form of a hand-written log") {
  ImportStats st;
  Trace t = import_mtrace(kData + "all_forms.mtrace", &st);
  check_all_forms(t, st);
}

TEST_CASE("mtrace: import to a file, plain and zstd input, gives the same trace") {
  fs::path out = scratch("all_forms.trace");
  ImportStats st = import_mtrace(kData + "all_forms.mtrace", out.string());
  check_all_forms(read_trace(out.string()), st);

  const std::string z = test::zstd_compress(test::slurp(kData + "all_forms.mtrace"));
  fs::path zp = scratch("all_forms.log");  // no .zst suffix: detected by magic
  test::write_file(zp, z);
  ImportStats zst;
  check_all_forms(import_mtrace(zp.string(), &zst), zst);

  // A cut zstd stream is an error, not a silently shorter trace.
  test::write_file(zp, z.substr(0, z.size() - 3));
  CHECK_THROWS_WITH_AS(import_mtrace(zp.string()), doctest::Contains("truncated zstd stream"), std::runtime_error);
}

TEST_CASE("mtrace: malformed lines are named by number") {
  struct Case {
    const char* text;
    const char* where;
    const char* what;
  };
  const Case cases[] = {
      {"= Start\n* 0x10 0x20\n", ":2: ", "malformed mtrace line"},
      {"+ 0x10\n", ":1: ", "'+ ADDR SIZE'"},
      {"+ 0xzz 0x10\n", ":1: ", "'+ ADDR SIZE'"},
      {"+ 0x10 0x20 extra\n", ":1: ", "'+ ADDR SIZE'"},
      {"+ 0x11111111111111111 0x10\n", ":1: ", "'+ ADDR SIZE'"},
      {"- 0x10 0x20\n", ":1: ", "'- ADDR'"},
      {"= Start\n\n> 0x10 0x20\n", ":3: ", "a '<' line before"},
      {"< 0x10\n+ 0x20 0x10\n", ":2: ", "after a '<' line"},
      {"+ 0x10 0x10\n< 0x10\n", ":2: ", "ends after '<'"},
      {"@ ./prog:[0x12 + 0x10 0x10\n", ":1: ", "'@ CALLER[ADDR] '"},
      {"@ ./prog:main+1)[0x12] + 0x10 0x10\n", ":1: ", "FILE:(SYMBOL+OFF)[ADDR]"},
      {"x\n", ":1: ", "malformed mtrace line"},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.text));
    std::string err = import_error(c.text);
    CHECK(err.find(std::string("bad.mtrace") + c.where) != std::string::npos);
    CHECK(err.find(c.what) != std::string::npos);
    CHECK(err.find('\n') == std::string::npos);
  }
  CHECK(import_error("").empty());  // an empty log is an empty trace
  fs::path missing = scratch("missing.mtrace");
  CHECK_THROWS_WITH_AS(import_mtrace(missing.string()), doctest::Contains("cannot open"), std::runtime_error);
  CHECK_THROWS_WITH_AS(import_mtrace(fs::temp_directory_path().string()), doctest::Contains("is a directory"),
                       std::runtime_error);
}

TEST_CASE("mtrace: the espresso log, counted against an independent scan of its lines") {
  const std::string log = std::string(EVOALLOC_SOURCE_DIR) + "/../shared/traces/espresso.mtrace.zst";
  if (!fs::exists(log)) {
    MESSAGE("skipped: " << log << " not present");
    return;
  }
  // Independent count: the zstd command-line tool and a plain scan of each event's first character.
  std::uint64_t plus = 0, plus_nil = 0, minus = 0, minus_nil = 0, lt = 0, gt = 0, bang = 0, lines = 0;
  {
    std::string cmd = "zstd -dc '" + log + "'";
    std::FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char* line = nullptr;
    std::size_t cap = 0;
    while (getline(&line, &cap, p) > 0) {
      ++lines;
      std::string_view s(line);
      if (s.starts_with("@ ")) s.remove_prefix(s.find("] ") + 2);
      const bool nil = s.size() > 2 && s.substr(2).starts_with("(nil)");
      switch (s[0]) {
        case '+': (nil ? plus_nil : plus)++; break;
        case '-': (nil ? minus_nil : minus)++; break;
        case '<': ++lt; break;
        case '>': ++gt; break;
        case '!': ++bang; break;
        default: break;
      }
    }
    std::free(line);
    CHECK(pclose(p) == 0);
  }
  CHECK(plus == 1659384);  // the shared README's figures
  CHECK(minus == 1659383);
  CHECK(lt == 16128);
  CHECK(gt == 16128);

  ImportStats st;
  Trace t = import_mtrace(log, &st);
  CHECK(st.lines == lines);
  CHECK(st.allocs == plus);
  CHECK(st.frees + st.unmatched_frees == minus);
  CHECK(st.free_null == minus_nil);
  CHECK(st.reallocs == lt);
  CHECK(st.failed_allocs == plus_nil + bang);
  CHECK(st.ops == plus + minus + lt - st.unmatched_frees);
  CHECK(t.ops.size() == st.ops);
  CHECK(t.peak_live == 351674);
  CHECK(size_histogram(t).size() == 701);
}
