// `evoalloc fidelity` end to end on a small real program: record `sort -n` with the
// recorder, evolve the smoke config on that trace, then export 3 designs of the run,
// run sort under each and glibc, and check the report (rhos, footprints, files);
// the same with --from archive (designs from everything the run evaluated), and
// under the run's thread model; --select fastest and `export --pick program` on its
// result;
// and the command's errors (usage, a missing run, a program that cannot run).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "evolve/pick.hpp"

namespace fs = std::filesystem;

namespace {

std::string exe() { return std::string(EVOALLOC_BINARY_DIR) + "/app/evoalloc"; }
std::string src() { return EVOALLOC_SOURCE_DIR; }

fs::path scratch() {
  fs::path p = fs::temp_directory_path() / ("evoalloc_test_fidelity_cmd_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Out {
  int code;
  std::string out, err;
};

Out sh(const std::string& args) {
  const fs::path o = scratch() / "stdout", e = scratch() / "stderr";
  int st = std::system((std::string(1, '\'') + exe() + "' " + args + " >'" + o.string() + "' 2>'" + e.string() + "'").c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(o), slurp(e)};
}

}  // namespace

TEST_CASE("evoalloc fidelity: three designs of a run against sort, report and files") {
  const fs::path dir = scratch();
  const fs::path nums = dir / "numbers.txt";
  {
    std::ofstream f(nums);
    std::uint64_t x = 99;
    for (int i = 0; i < 30000; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      f << (x >> 35) % 1000003 << " item" << i % 97 << '\n';
    }
  }
  const fs::path trace = dir / "sort.trace";
  Out r = sh("record -o '" + trace.string() + "' -- sort -n '" + nums.string() + "'");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  r = sh("evolve --config '" + src() + "/configs/smoke.yaml' --set trace='" + trace.string() +
         "' --set trace_max_ops=0 --out '" + dir.string() + "' --run-id r -q");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const fs::path run = dir / "smoke" / "r";
  r = sh("fidelity --run '" + run.string() + "' --top 3 --runs 2 --warmup 0 --repeats 1 -q -- sort -n '" +
         nums.string() + "'");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("| modeled speed (cycles/op) | ") != std::string::npos);
  CHECK(r.out.find("| measured replay speed (ns/op) | ") != std::string::npos);
  const std::string csv = slurp(run / "fidelity" / "fidelity.csv");
  CHECK(std::count(csv.begin(), csv.end(), (char)10) == 4);  // header + 3 designs
  // Every design's library reported its own peak footprint in the real run.
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    const std::string real_peak = line.substr(line.rfind(',') + 1);
    CHECK_MESSAGE(std::stoull(real_peak) > 0, line);
  }
  CHECK(fs::exists(run / "fidelity" / "bench" / "bench.csv"));
  CHECK(fs::exists(run / "fidelity" / "fidelity.md"));
  // The exports were built as one project (build_exports), shared libraries only.
  const fs::path libs = run / "fidelity" / "libs";
  CHECK(fs::exists(libs / "CMakeLists.txt"));
  for (const char* l : {"fid0", "fid1", "fid2"}) {
    CHECK(fs::exists(libs / l / ("lib" + std::string(l) + ".so")));
    CHECK_FALSE(fs::exists(libs / l / (std::string(l) + "_replay")));
  }

  // --select fastest: the run's fastest designs by the score `export --pick fastest`
  // ranks by, and `export --pick program` then exports the one that ran sort best.
  {
    r = sh("fidelity --run '" + run.string() + "' --select fastest --top 3 --runs 2 --warmup 0 --repeats 1 -q -o '" +
           (dir / "ff").string() + "' -- sort -n '" + nums.string() + "'");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const evo::MetricsTable front = evo::read_metrics_table((run / "front.csv").string());
    const std::vector<double> score = evo::speed_scores(front);
    std::vector<std::size_t> usable;
    for (std::size_t i = 0; i < front.rows.size(); ++i)
      if (front.rows[i].usable()) usable.push_back(i);
    std::sort(usable.begin(), usable.end(), [&](std::size_t a, std::size_t b) { return score[a] < score[b]; });
    const std::string fcsv = slurp(dir / "ff" / "fidelity.csv");
    for (std::size_t k = 0; k < usable.size() && k < 3; ++k)
      CHECK_MESSAGE(fcsv.find("\"" + front.rows[usable[k]].entry.sentence + "\"") != std::string::npos,
                    front.rows[usable[k]].entry.sentence);
    const evo::ProgramPick want = evo::pick_program((dir / "ff" / "fidelity.csv").string());
    r = sh("export --run '" + run.string() + "' --pick program --fidelity '" + (dir / "ff" / "fidelity.csv").string() +
           "' --name pp --out '" + (dir / "pp").string() + "' --no-build");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find(" for: " + want.sentence + "\n") != std::string::npos);
    CHECK(r.out.find("pick program: " + want.why) != std::string::npos);
    // Without --fidelity: RUN/fidelity/fidelity.csv (the spread run above).
    r = sh("export --run '" + run.string() + "' --pick program --name pq --out '" + (dir / "pq").string() +
           "' --no-build");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(slurp(dir / "pq" / "design.hpp").find((run / "fidelity" / "fidelity.csv").string()) != std::string::npos);
    r = sh("export --run '" + run.string() + "' --pick fastest --fidelity x.csv --name pq --out '" +
           (dir / "pq").string() + "' --no-build");
    CHECK(r.code == 2);
    CHECK(r.err.find("--fidelity goes with --pick program") != std::string::npos);
    r = sh("export --run '" + run.string() + "' --pick program --fidelity '" + (dir / "none.csv").string() +
           "' --name pq --out '" + (dir / "pq").string() + "' --no-build");
    CHECK(r.code == 1);
    CHECK(r.err.find("none.csv: cannot open") != std::string::npos);
    r = sh("fidelity --run '" + run.string() + "' --select best -- true");
    CHECK(r.code == 2);
    CHECK(r.err.find("--select best: expected spread or fastest") != std::string::npos);
  }

  // --score: the program's own figure (here the same under every allocator: each
  // ratio is 1) joins the report, with a column of the CSV; a run that prints no
  // score stops the command.
  {
    const std::string prog = "sh -c 'sort -n \"$0\" > /dev/null; echo rate: 4242' '" + nums.string() + "'";
    r = sh("fidelity --run '" + run.string() + "' --top 3 --runs 1 --warmup 0 --repeats 1 -q --no-check-output " +
           "--score 'rate: ([0-9]+)' -- " + prog);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("rho vs the program's score |") != std::string::npos);
    CHECK(r.out.find("score vs glibc |") != std::string::npos);
    const std::string scsv = slurp(run / "fidelity" / "fidelity.csv");
    std::istringstream sl(scsv);
    std::getline(sl, line);
    CHECK(line.find(",cpu_ratio,score_ratio,max_rss_kib,") != std::string::npos);
    int rows = 0;
    while (std::getline(sl, line)) {
      ++rows;
      CHECK_MESSAGE(line.find(",1,") != std::string::npos, line);  // score_ratio 4242 / 4242
    }
    CHECK(rows == 3);
    r = sh("fidelity --run '" + run.string() + "' --top 3 --runs 1 --warmup 0 --repeats 1 -q --no-check-output " +
           "--score 'speed: ([0-9]+)' -- " + prog);
    CHECK(r.code == 1);
    CHECK(r.err.find("no number matching --score 'speed: ([0-9]+)'") != std::string::npos);
    r = sh("fidelity --run '" + run.string() + "' --score 'rate: ([0-9]+' -- true");
    CHECK(r.code == 2);
    CHECK(r.err.find("not a regular expression") != std::string::npos);
  }

  // --from archive: the designs come from everything the run evaluated. Same output
  // folder: the exports' project keeps what it built (the shared sources, any design
  // picked again).
  r = sh("fidelity --run '" + run.string() + "' --from archive --top 3 --runs 1 --warmup 0 --repeats 1 -q -- sort -n '" +
         nums.string() + "'");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const std::string acsv = slurp(run / "fidelity" / "fidelity.csv");
  CHECK(std::count(acsv.begin(), acsv.end(), (char)10) == 4);
  std::istringstream alines(acsv);
  std::getline(alines, line);
  while (std::getline(alines, line)) CHECK_MESSAGE(line.find(",archive,") != std::string::npos, line);

  // A run measured under a thread model (threaded_replay) exports its designs with
  // that model, as `export --run` does.
  {
    std::string cfg = slurp(run / "config.yaml");
    const auto at = cfg.find("threaded_replay: off");
    REQUIRE(at != std::string::npos);
    cfg.replace(at, 20, "threaded_replay: tlh");
    std::ofstream(run / "config.yaml") << cfg;
  }
  r = sh("fidelity --run '" + run.string() + "' --top 3 --runs 1 --warmup 0 --repeats 1 -q -o '" +
         (dir / "f3").string() + "' -- sort -n '" + nums.string() + "'");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  for (const char* l : {"fid0", "fid1", "fid2"})
    CHECK(slurp(dir / "f3" / "libs" / l / "design.hpp").find("Thread model: tlh") != std::string::npos);

  r = sh("fidelity --run '" + run.string() + "' --top 3 --runs 1 --repeats 1 -q -o '" + (dir / "f2").string() +
         "' -- /nonexistent/program");
  CHECK(r.code == 1);
  CHECK(r.err.find("cannot run /nonexistent/program") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("evoalloc fidelity: usage errors and a missing run") {
  Out r = sh("fidelity -- true");
  CHECK(r.code == 2);
  CHECK(r.err.find("--run RUN_DIR is required") != std::string::npos);
  r = sh("fidelity --run /nonexistent/run");
  CHECK(r.code == 2);
  CHECK(r.err.find("missing '-- PROGRAM") != std::string::npos);
  r = sh("fidelity --run /nonexistent/run --top 2 -- true");
  CHECK(r.code == 2);
  r = sh("fidelity --run /nonexistent/run --from everything -- true");
  CHECK(r.code == 2);
  CHECK(r.err.find("--from everything: expected front or archive") != std::string::npos);
  r = sh("fidelity --run /nonexistent/run --max-slowdown 0.5 -- true");
  CHECK(r.code == 2);
  CHECK(r.err.find("--max-slowdown must be at least 1") != std::string::npos);
  r = sh("fidelity --run /nonexistent/run -- true");
  CHECK(r.code == 1);
  CHECK(r.err.find("/nonexistent/run/front.csv: cannot open") != std::string::npos);
}
