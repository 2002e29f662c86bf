// Tests of evaluate/import/record_allocs: the Android malloc-debug log importer.
#include <doctest/doctest.h>

#include <filesystem>
#include <stdexcept>

#include "evaluate/import/record_allocs.hpp"
#include "tests/common/cli_helpers.hpp"
#include "tests/common/trace_checks.hpp"

using namespace evo;
namespace fs = std::filesystem;

namespace {
const std::string kLog = std::string(EVOALLOC_SOURCE_DIR) + "/tests/evaluate/data/record_allocs.txt";

fs::path scratch(const std::string& name) { return test::scratch_file("ra", name); }

void check(const Trace& t, const ImportStats& st) {
  struct E {
    OpKind kind;
    std::uint32_t object;
    std::uint64_t size;
    std::uint8_t align;
    std::uint16_t thread;
  };
  const E want[] = {{OpKind::Malloc, 0, 48, 0, 0},         {OpKind::Calloc, 1, 32, 0, 0},
                    {OpKind::Memalign, 2, 100, 6, 1},      {OpKind::Realloc, 0, 96, 0, 1},
                    {OpKind::Realloc, 3, 10, 0, 1},        {OpKind::Free, 1, 0, 0, 0},
                    {OpKind::Realloc, 3, 0, 0, 1},         {OpKind::PosixMemalign, 3, 8, 12, 2},
                    {OpKind::Valloc, 1, 10, 12, 2}};
  evo::test::check_ops(t, want, [](const Op& op, const E& w) {
    CHECK(op.align_log2 == w.align);
    CHECK(op.thread == w.thread);
  });
  CHECK(t.threads == 3);
  evo::test::check_counters(t, {{"free_null", 1}, {"unmatched_frees", 1}, {"failed_allocs", 1},
                                {"realloc_null", 1}, {"realloc_zero", 1}});
  CHECK(st.lines == 13);
  CHECK(st.ops == 9);
}

std::string error_of(const std::string& text) {
  fs::path p = scratch("bad.txt");
  test::write_file(p, text);
  return test::error_message([&] { import_record_allocs(p.string()); });
}
}  // namespace

TEST_CASE("record_allocs: every action, threads, oddities counted") {
  ImportStats st;
  check(import_record_allocs(kLog, &st), st);
  fs::path out = scratch("ra.trace");
  ImportStats st2 = import_record_allocs(kLog, out.string());
  check(read_trace(out.string()), st2);
}

TEST_CASE("record_allocs: malformed lines are named by number") {
  CHECK(error_of("100: malloc 0x10\n").find("bad.txt:1: malformed record_allocs line") != std::string::npos);
  CHECK(error_of("100: malloc 0x10 8\nxyz\n").find(":2: ") != std::string::npos);
  CHECK(error_of("100: mmap 0x10 8\n").find("an action") != std::string::npos);
  CHECK(error_of("100: free 0xzz\n").find("numbers after 'free'") != std::string::npos);
  CHECK(error_of("100: calloc 0x10 0xffffffffffffffff 16\n").find("NMEMB*SIZE") != std::string::npos);
  CHECK(error_of("").empty());
}
