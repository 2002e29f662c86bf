// Tests of evaluate/program_run (one real program, measured) and
// evaluate/program_bench (side by side under several allocators), and of the
// `evoalloc bench` command on small real programs (coreutils).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "evaluate/program_bench.hpp"

using namespace evo;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("evoalloc_test_bench_" + std::to_string(getpid()));
  fs::create_directories(dir);
  return dir / name;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// A file of `n` shuffled numbers (deterministic), the input of `sort -n`.
fs::path numbers(int n) {
  fs::path p = scratch("numbers.txt");
  std::ofstream f(p);
  std::uint64_t x = 12345;
  for (int i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    f << (x >> 33) % 1000000 << '\n';
  }
  return p;
}

struct Out {
  int code;
  std::string out, err;
};

Out evoalloc(const std::string& args) {
  const std::string bin = std::string(EVOALLOC_BINARY_DIR) + "/app/evoalloc";
  fs::path o = scratch("stdout"), e = scratch("stderr");
  int st = std::system((bin + " " + args + " >" + o.string() + " 2>" + e.string()).c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), slurp(o), slurp(e)};
}

}  // namespace

TEST_CASE("run_program: exit status, output, environment, preload, timing") {
  ProgramSpec ps;
  ps.argv = {"sh", "-c", "echo \"$EVO_X:$LD_PRELOAD\"; exit 3"};
  ps.env = {{"EVO_X", "yes"}};
  ps.preload = "";  // no preload: the variable is unset for the child
  ps.stdout_path = scratch("o").string();
  ProgramResult r = run_program(ps);
  CHECK(r.error.empty());
  CHECK(r.exit_code == 3);
  CHECK_FALSE(r.ok());
  CHECK(r.status() == "exit 3");
  CHECK(slurp(ps.stdout_path) == "yes:\n");
  CHECK(r.wall_s > 0);
  CHECK(r.max_rss_kib > 0);

  ps.argv = {"sh", "-c", "kill -SEGV $$"};
  r = run_program(ps);
  CHECK(r.signal == SIGSEGV);
  CHECK(r.status().find("signal 11") != std::string::npos);

  ps.argv = {"sleep", "5"};
  ps.timeout_s = 0.2;
  r = run_program(ps);
  CHECK(r.timed_out);
  CHECK(r.wall_s < 4);
  ps.timeout_s = 0;

  ps.argv = {"/nonexistent/program"};
  r = run_program(ps);
  CHECK(r.error == "cannot run /nonexistent/program: No such file or directory");

  // A wrapper that execs the real program (as pyenv's python3 shim does), twice: the
  // later execs are not signals for the program (a SIGTRAP delivered would kill it).
  ps.argv = {"sh", "-c", "exec sh -c 'exec echo \"through two execs\"'"};
  r = run_program(ps);
  CHECK(r.status() == "exit 0");
  CHECK(r.ok());
  CHECK(slurp(ps.stdout_path) == "through two execs\n");
  CHECK(r.max_rss_kib > 0);
}

TEST_CASE("run_program: max RSS is the program's own, not the caller's") {
  // The caller holds 256 MiB; a program started from it must not inherit that figure.
  std::vector<char> big(std::size_t{256} << 20);
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = 1;
  ProgramSpec ps;
  ps.argv = {"true"};
  ProgramResult r = run_program(ps);
  REQUIRE(r.ok());
  CHECK(r.max_rss_kib > 100);
  CHECK(r.max_rss_kib < 64 * 1024);
  // A program that touches 100 MiB reports at least that.
  ps.argv = {"dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1", "status=none"};
  r = run_program(ps);
  REQUIRE(r.ok());
  CHECK(r.max_rss_kib >= 100 * 1024);
  CHECK(big[4096] == 1);
}

TEST_CASE("spearman: rank correlation with ties") {
  CHECK(spearman({1, 2, 3, 4}, {10, 20, 30, 40}) == doctest::Approx(1.0));
  CHECK(spearman({1, 2, 3, 4}, {4, 3, 2, 1}) == doctest::Approx(-1.0));
  CHECK(spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}) == doctest::Approx(0.8207826817));  // ties: average ranks
  CHECK(std::isnan(spearman({1, 2}, {1, 2})));
  CHECK(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
}

TEST_CASE("median_interval: order-statistic confidence intervals of a median") {
  // Values 1..n shuffled: the interval's ends are the ranks themselves. Ranks and
  // coverages as in the binomial tables (n = 15: ranks 4 and 12, 1 - 2 * 576 / 2^15).
  const auto ranks = [](std::size_t n) {
    std::vector<double> v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(static_cast<double>((i * 7) % n + 1));  // a permutation (7 and n coprime)
    return median_interval(v);
  };
  const Interval i15 = ranks(15);
  CHECK(i15.lo == 4);
  CHECK(i15.hi == 12);
  CHECK(i15.coverage == doctest::Approx(1 - 2 * 576.0 / 32768));
  const Interval i31 = ranks(31);
  CHECK(i31.lo == 10);
  CHECK(i31.hi == 22);
  CHECK(i31.coverage == doctest::Approx(0.97055).epsilon(1e-4));
  const Interval i6 = ranks(6);  // the fewest values with a 95% interval: the min-max
  CHECK(i6.lo == 1);
  CHECK(i6.hi == 6);
  CHECK(i6.coverage == doctest::Approx(1 - 2.0 / 64));
  const Interval i5 = ranks(5);  // too few: the min-max, below the level
  CHECK(i5.lo == 1);
  CHECK(i5.hi == 5);
  CHECK(i5.coverage == doctest::Approx(1 - 2.0 / 32));
  CHECK(i5.coverage < 0.95);
  const Interval big = ranks(2003);  // no underflow of 2^-n (2003: coprime with 7)
  CHECK(big.lo == 958);
  CHECK(big.hi == 1046);
  CHECK(big.coverage == doctest::Approx(0.95076).epsilon(1e-4));
  CHECK(median_interval({}).coverage == 0);
  // A lower level, a narrower interval: ranks 5 and 11 cover 1 - 2 * 1941 / 2^15.
  const Interval i85 = median_interval({15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 0.85);
  CHECK(i85.lo == 5);
  CHECK(i85.hi == 11);
  CHECK(i85.coverage == doctest::Approx(1 - 2 * 1941.0 / 32768));
}

TEST_CASE("run_bench: sort under glibc and the installed references, interleaved, ratios against glibc") {
  const fs::path in = numbers(60000);
  std::vector<Contender> who = reference_allocators();
  REQUIRE(who.front().label == "glibc");
  BenchOptions bo;
  bo.runs = 3;
  bo.warmup = 0;
  bo.work_dir = scratch("bench").string();
  int calls = 0;
  bo.progress = [&](int, int, const std::string&) { ++calls; };
  BenchReport rep = run_bench({"sort", "-n", in.string()}, who, bo);
  CHECK(calls == 3 * static_cast<int>(who.size()));
  REQUIRE(rep.rows.size() == who.size());
  CHECK(rep.log.size() == 3 * who.size());
  const BenchRow& g = rep.rows[0];
  CHECK(g.wall_ratio.median == doctest::Approx(1.0));
  CHECK(g.rss_ratio.median == doctest::Approx(1.0));
  CHECK(g.best_ratio == doctest::Approx(1.0));
  for (const BenchRow& row : rep.rows) {
    CAPTURE(row.label);
    CHECK(row.same_output);  // every allocator sorts the same
    CHECK(row.wall_s.min <= row.wall_s.median);
    CHECK(row.wall_s.median <= row.wall_s.max);
    CHECK(row.best_ratio == doctest::Approx(row.wall_s.min / g.wall_s.min));
    CHECK(row.rss_kib.median > 1024);  // sort holds the file
  }
  // Each round runs every contender once, rotated.
  CHECK(rep.log[0].label == who[0].label);
  if (who.size() > 1) CHECK(rep.log[who.size()].label == who[1].label);
  std::string err, warning;
  const fs::path out = scratch("bench-files");
  REQUIRE(write_bench_files(rep, out.string(), &err, &warning));
  const std::string csv = slurp(out / "bench.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 1 + static_cast<long>(rep.log.size()));
  CHECK(slurp(out / "bench.md").find("| glibc | ") != std::string::npos);
  CHECK(fs::exists(out / "bench.gp"));
}

TEST_CASE("run_bench: a failing run names the allocator, the round and the end of stderr") {
  BenchOptions bo;
  bo.runs = 1;
  bo.warmup = 0;
  bo.work_dir = scratch("bench-fail").string();
  try {
    run_bench({"sh", "-c", "echo broken input >&2; exit 2"}, {{"glibc", ""}}, bo);
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    CHECK(m.find("under glibc (round 1): exit 2") != std::string::npos);
    CHECK(m.find("broken input") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(run_bench({"true"}, {{"x", "/no/such/lib.so"}}, bo),
                       "the first contender must be glibc (no preload): it is the baseline", std::runtime_error);
  CHECK_THROWS_WITH_AS(run_bench({"true"}, {{"glibc", ""}, {"x", "/no/such/lib.so"}}, bo),
                       "x: no such library: /no/such/lib.so", std::runtime_error);
}

TEST_CASE("evoalloc bench: table and files; a bad command, a missing program, a varying output") {
  const fs::path in = numbers(20000);
  const fs::path out = scratch("cli");
  Out r = evoalloc("bench --runs 2 --warmup 0 -q --no-references -o " + out.string() + " -- sort -n " + in.string());
  CHECK_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("| glibc | ") != std::string::npos);
  CHECK(r.out.find("| same |") != std::string::npos);
  CHECK(fs::exists(out / "bench.csv"));

  r = evoalloc("bench --runs 1 -q --no-references -o " + out.string() + " -- /nonexistent/prog");
  CHECK(r.code == 1);
  CHECK(r.err.find("cannot run /nonexistent/prog: No such file or directory") != std::string::npos);

  r = evoalloc("bench --runs 1 -q");
  CHECK(r.code == 2);
  CHECK(r.err.find("missing '-- PROGRAM") != std::string::npos);

  r = evoalloc("bench --runs 1 -q --lib x=/no/lib.so -- true");
  CHECK(r.code == 1);
  CHECK(r.err.find("--lib x=/no/lib.so: no such file") != std::string::npos);

  // Output that differs run to run is reported (exit 1) unless --no-check-output.
  r = evoalloc("bench --runs 2 --warmup 0 -q --no-references -o " + out.string() + " -- sh -c 'date +%N'");
  CHECK(r.code == 1);
  CHECK(r.err.find("the program's output varies from run to run") != std::string::npos);
  r = evoalloc("bench --runs 2 --warmup 0 -q --no-references --no-check-output -o " + out.string() +
               " -- sh -c 'date +%N'");
  CHECK(r.code == 0);
}

TEST_CASE("run_bench and evoalloc bench --score: the program's own throughput figure, its ratio to glibc's") {
  // The program prints a rate that depends on whether a library is preloaded: 42
  // under glibc, 84 under the other contender (an installed reference allocator).
  const std::string script = "if [ -n \"$LD_PRELOAD\" ]; then echo 'rate: 84 ops/s'; else echo 'rate: 42 ops/s'; fi";
  std::vector<Contender> who = reference_allocators();
  if (who.size() > 2) who.resize(2);
  BenchOptions bo;
  bo.runs = 2;
  bo.warmup = 0;
  bo.work_dir = scratch("bench-score").string();
  bo.score_regex = "rate: ([0-9.]+)";
  BenchReport rep = run_bench({"sh", "-c", script}, who, bo);
  CHECK(rep.scored);
  REQUIRE(rep.rows.size() == who.size());
  CHECK(rep.rows[0].score.median == doctest::Approx(42));
  CHECK(rep.rows[0].score_ratio.median == doctest::Approx(1.0));
  if (who.size() == 2) {
    CHECK(rep.rows[1].score.median == doctest::Approx(84));
    CHECK(rep.rows[1].score_ratio.min == doctest::Approx(2.0));
    CHECK(rep.rows[1].score_ratio.max == doctest::Approx(2.0));
  } else {
    MESSAGE("no reference allocator installed: the ratio of a second contender is not checked");
  }
  std::string err, warning;
  const fs::path out = scratch("bench-score-files");
  REQUIRE(write_bench_files(rep, out.string(), &err, &warning));
  const std::string csv = slurp(out / "bench.csv");
  CHECK(csv.find(",wall_vs_fastest,rss_vs_least,score,score_ratio,score_vs_best\n") != std::string::npos);
  CHECK(csv.find(who.size() == 2 ? ",42,1.000000,0.500000\n" : ",42,1.000000,1.000000\n") != std::string::npos);
  CHECK(slurp(out / "bench.md").find("| glibc | 42 | 1.000 [1.000-1.000] |") != std::string::npos);
  CHECK(slurp(out / "bench.md").find("Against the best reference") == std::string::npos);  // no contender but references

  // A contender that is not a reference (an exported library; here libm, which
  // changes nothing in sh) is judged against the best reference of each round: its
  // score over the highest reference score, its wall time over the least, its max
  // RSS over the least.
  std::string libm;
  for (const char* d : {"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64"})
    if (fs::exists(std::string(d) + "/libm.so.6")) {
      libm = std::string(d) + "/libm.so.6";
      break;
    }
  REQUIRE_MESSAGE(!libm.empty(), "no libm.so.6 found to preload");
  const std::string script3 = "case \"$LD_PRELOAD\" in *libm*) echo 'rate: 63';; '') echo 'rate: 42';; *) echo 'rate: 84';; esac";
  std::vector<Contender> who3 = who;
  who3.push_back({"mine", libm});
  bo.work_dir = scratch("bench-score-vs-best").string();
  rep = run_bench({"sh", "-c", script3}, who3, bo);
  REQUIRE(rep.rows.size() == who3.size());
  const BenchRow& mine = rep.rows.back();
  CHECK_FALSE(mine.reference);
  CHECK(rep.rows[0].reference);
  CHECK(mine.score_vs_best.min == doctest::Approx(who.size() == 2 ? 0.75 : 1.5));
  CHECK(mine.score_vs_best.max == doctest::Approx(who.size() == 2 ? 0.75 : 1.5));
  CHECK(mine.score_ratio.median == doctest::Approx(1.5));
  for (const BenchRun& b : rep.log) {  // the least wall time / max RSS of a round's references is 1 by definition
    double fw = 0, lm = 0;
    for (const BenchRun& o : rep.log)
      if (o.round == b.round && o.label != "mine") {
        if (fw == 0 || o.result.wall_s < fw) fw = o.result.wall_s;
        if (lm == 0 || o.result.max_rss_kib < lm) lm = static_cast<double>(o.result.max_rss_kib);
      }
    CHECK(b.wall_vs_fastest == doctest::Approx(b.result.wall_s / fw));
    CHECK(b.rss_vs_least == doctest::Approx(static_cast<double>(b.result.max_rss_kib) / lm));
  }
  // Paired: per reference, the median over rounds of mine / that reference in the
  // same round (2 rounds: the mean of the two); the worst of them, named.
  double worst_wall = 0, worst_rss = 0, worst_lo = 0, worst_hi = 0;
  for (const Contender& c : who) {
    std::vector<double> w, m;
    for (const BenchRun& a : rep.log)
      for (const BenchRun& b : rep.log)
        if (a.label == "mine" && b.label == c.label && a.round == b.round) {
          w.push_back(a.result.wall_s / b.result.wall_s);
          m.push_back(static_cast<double>(a.result.max_rss_kib) / static_cast<double>(b.result.max_rss_kib));
        }
    REQUIRE(w.size() == 2);
    if ((w[0] + w[1]) / 2 > worst_wall) worst_lo = std::min(w[0], w[1]), worst_hi = std::max(w[0], w[1]);
    worst_wall = std::max(worst_wall, (w[0] + w[1]) / 2);
    worst_rss = std::max(worst_rss, (m[0] + m[1]) / 2);
  }
  CHECK(mine.paired_wall == doctest::Approx(worst_wall));
  CHECK(mine.paired_rss == doctest::Approx(worst_rss));
  // Its interval, against the same reference: two rounds, so their min-max.
  CHECK(mine.paired_wall_ci.lo == doctest::Approx(worst_lo));
  CHECK(mine.paired_wall_ci.hi == doctest::Approx(worst_hi));
  CHECK(rep.rows[0].paired_wall == 0);  // references are not judged
  const std::string md = bench_markdown(rep);
  if (who.size() == 2) {
    CHECK(md.find("Against the best reference of each round (glibc, " + who[1].label + ")") != std::string::npos);
    CHECK(md.find("| allocator | wall vs fastest | paired wall | score vs best | paired score | RSS vs least | "
                  "paired RSS |") != std::string::npos);
    CHECK(md.find("| mine | ") != std::string::npos);
    // Paired: 63 against glibc's 42 is 1.5, against the other reference's 84 is
    // 0.75: the worst is the latter, named.
    // Two rounds are too few for a 95% interval: the min-max of the two, marked.
    CHECK(md.find(" | 0.750 [0.750-0.750] | 0.750 (" + who[1].label + ") [0.750-0.750]* | ") != std::string::npos);
    CHECK(mine.paired_score == doctest::Approx(0.75));
    CHECK(mine.paired_score_ref == who[1].label);
    CHECK(mine.paired_score_ci.lo == doctest::Approx(0.75));
    CHECK(mine.paired_score_ci.coverage == doctest::Approx(0.5));
  } else {
    CHECK(md.find("Against the best reference") == std::string::npos);  // one reference: the table above says it
  }

  double v = 0;
  CHECK(read_score("Throughput = 123456 operations", "Throughput = ([0-9]+)", &v));
  CHECK(v == 123456);
  CHECK(read_score("x 2.5e3 y", "[0-9.e]+", &v));  // no group: the whole match
  CHECK(v == 2500);
  CHECK_FALSE(read_score("no figure here", "rate: ([0-9]+)", &v));
  CHECK_FALSE(read_score("rate: abc", "rate: ([a-z]+)", &v));  // a match that is not a number

  // The CLI: the table's score columns; no match is a failed run (exit 1, naming
  // the allocator); a malformed regex is a usage error (exit 2).
  const fs::path cli = scratch("bench-score-cli");
  Out r = evoalloc("bench --runs 1 --warmup 0 -q --no-references --score 'rate: ([0-9]+)' -o " + cli.string() +
                   " -- sh -c 'echo rate: 7'");
  CHECK_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("| allocator | score | score vs glibc |") != std::string::npos);
  CHECK(r.out.find("| glibc | 7 | 1.000") != std::string::npos);
  r = evoalloc("bench --runs 1 --warmup 0 -q --no-references --score 'rate: ([0-9]+)' -o " + cli.string() +
               " -- sh -c 'echo nothing'");
  CHECK(r.code == 1);
  CHECK(r.err.find("under glibc (round 1): no number matching --score 'rate: ([0-9]+)'") != std::string::npos);
  r = evoalloc("bench --runs 1 -q --no-references --score 'rate: ([0-9]+' -- true");
  CHECK(r.code == 2);
  CHECK(r.err.find("--score 'rate: ([0-9]+': not a regular expression") != std::string::npos);
}
