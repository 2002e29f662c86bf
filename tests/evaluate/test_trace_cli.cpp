// Tests of the trace commands as a user runs them: `evoalloc import`, `trace info`,
// `replay` on good and bad input (exit codes 0/1/2, one-line errors, no crash).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "evaluate/trace.hpp"
#include "tests/common/cli_helpers.hpp"

using namespace evo;
namespace fs = std::filesystem;

namespace {

const std::string kBin = std::string(EVOALLOC_BINARY_DIR) + "/app/evoalloc";
const std::string kData = std::string(EVOALLOC_SOURCE_DIR) + "/tests/evaluate/data/";

fs::path scratch(const std::string& name) { return test::scratch_file("cli", name); }

using Out = test::CmdOutput;

Out run(const std::string& args) { return test::run_split(kBin + " " + args, scratch("stdout"), scratch("stderr")); }

using test::write_file;

/// A failing run: exit 1 and exactly one line on stderr naming the command.
void expect_failure(const Out& r, const std::string& cmd, const std::string& what) {
  CAPTURE(r.err);
  CHECK(r.code == 1);
  CHECK(r.err.rfind("evoalloc " + cmd + ": ", 0) == 0);
  CHECK(r.err.find(what) != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

}  // namespace

TEST_CASE("import, trace info (text and JSON) and replay on a small log") {
  fs::path t = scratch("forms.trace");
  Out r = run("import --format mtrace " + kData + "all_forms.mtrace -o " + t.string());
  CHECK(r.code == 0);
  CHECK(r.out.find("11 ops") != std::string::npos);
  CHECK(r.out.find("unmatched frees 2") != std::string::npos);

  r = run("trace info " + t.string() + " --json");
  CHECK(r.code == 0);
  for (const char* key : {"\"ops\":{\"malloc\":6,\"calloc\":0,\"realloc\":2,\"free\":3,\"aligned\":0", "\"objects\":6",
                          "\"peak_live_bytes\":2192", "\"distinct_sizes\":8", "\"threads\":1", "\"unmatched_frees\":2"}) {
    CAPTURE(key);
    CHECK(r.out.find(key) != std::string::npos);
  }
  r = run("trace info " + t.string());
  CHECK(r.code == 0);
  CHECK(r.out.find("peak live: 2192 bytes") != std::string::npos);
  CHECK(r.out.find("./prog:(main-10)[0x1224]") != std::string::npos);

  for (const char* mode : {"--system", "--null", "--allocator pad", "--allocator superblock --check"}) {
    CAPTURE(mode);
    r = run("replay " + t.string() + " " + mode + " --repeat 2 --json");
    CHECK(r.code == 0);
    CHECK(r.out.find("\"ops\":11") != std::string::npos);
    CHECK(r.out.find("\"peak_live_bytes\":2192") != std::string::npos);
  }
}

TEST_CASE("bad trace files: exit 1 with one clear line, never a crash") {
  fs::path good = scratch("good.trace");
  REQUIRE(run("import " + kData + "all_forms.mtrace -o " + good.string()).code == 0);
  const std::string b = test::slurp(good);
  fs::path bad = scratch("bad.trace");
  struct Case {
    std::string bytes;
    const char* what;
  };
  std::string version = b, flipped = b;
  version[8] = 2;
  flipped[b.size() / 2 + 8] = static_cast<char>(flipped[b.size() / 2 + 8] ^ 0x5a);
  const Case cases[] = {{"", "empty file"},
                        {"not a trace at all\n", "bad magic"},
                        {version, "version 2 unsupported"},
                        {b.substr(0, b.size() / 2), "truncated"},
                        {flipped, "corrupt"}};
  for (const Case& c : cases) {
    CAPTURE(c.what);
    write_file(bad, c.bytes);
    expect_failure(run("trace info " + bad.string()), "trace", c.what);
    expect_failure(run("replay " + bad.string()), "replay", c.what);
  }
  expect_failure(run("trace info " + scratch("missing.trace").string()), "trace", "cannot open");
  expect_failure(run("replay " + fs::temp_directory_path().string()), "replay", "is a directory");

  // A cut-short trace is still summarised with --allow-truncated (warning on stderr).
  write_file(bad, b.substr(0, b.size() - 4));
  Out r = run("trace info --allow-truncated " + bad.string());
  CHECK(r.code == 0);
  CHECK(r.err.find("truncated") != std::string::npos);
}

TEST_CASE("bad logs and bad command lines") {
  fs::path log = scratch("bad.mtrace");
  write_file(log, "= Start\n+ 0x10 0x20\n- 0x10 junk\n");
  expect_failure(run("import " + log.string() + " -o " + scratch("o.trace").string()), "import", "bad.mtrace:3:");
  CHECK_FALSE(fs::exists(scratch("o.trace")));  // nothing half-written
  CHECK_FALSE(fs::exists(scratch("o.trace.tmp")));

  CHECK(run("import " + log.string()).code == 2);                          // no -o
  CHECK(run("import --format heap " + log.string() + " -o x").code == 2);  // unknown format
  CHECK(run("trace").code == 2);
  CHECK(run("trace summary x").code == 2);
  CHECK(run("replay").code == 2);
  CHECK(run("replay x --system --null").code == 2);
  CHECK(run("replay x --repeat 0").code == 2);
  fs::path good = scratch("g.trace");
  REQUIRE(run("import " + kData + "all_forms.mtrace -o " + good.string()).code == 0);
  Out r = run("replay " + good.string() + " --allocator 'nosuchfamily'");
  CHECK(r.code == 2);
  CHECK(r.err.find("unknown allocator family") != std::string::npos);
  // Counts are digits only (Boost would wrap "-5" to 2^64 - 5 and replay everything).
  r = run("replay " + good.string() + " --max-ops -5");
  CHECK(r.code == 2);
  CHECK(r.err.find("max-ops") != std::string::npos);
  CHECK(run("grammar enumerate --limit -1").code == 2);
  CHECK(run("grammar enumerate --max-range-values 2x --count").code == 2);
  // A trace without ops replays; its undefined figures are null in JSON, not inf/nan.
  fs::path empty_log = scratch("empty.mtrace"), empty = scratch("empty.trace");
  write_file(empty_log, "= Start\n= End\n");
  REQUIRE(run("import " + empty_log.string() + " -o " + empty.string()).code == 0);
  r = run("replay " + empty.string() + " --json -k 1");
  CAPTURE(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("\"ops\":0") != std::string::npos);
  CHECK(r.out.find("\"ns_per_op_best\":null") != std::string::npos);
  CHECK(r.out.find("\"fragmentation\":null") != std::string::npos);
  CHECK(r.out.find("inf") == std::string::npos);
  CHECK(r.out.find("nan") == std::string::npos);
  CHECK(run("trace info --help").code == 0);
  CHECK(run("replay --help").code == 0);
  CHECK(run("import --help").code == 0);
  CHECK(run("record --help").code == 0);
}
