// evoalloc merge (evolve/merge.hpp) on real smoke runs, and evoalloc sweep --dry-run /
// bad sweep files (no Slurm needed; the Slurm run itself is CTest scale_slurm_sweep).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "evolve/archive.hpp"
#include "evolve/merge.hpp"
#include "tests/common/cli_helpers.hpp"

namespace fs = std::filesystem;

namespace {

std::string src() { return EVOALLOC_SOURCE_DIR; }
std::string exe() { return std::string(EVOALLOC_BINARY_DIR) + "/app/evoalloc"; }
#ifdef EVOALLOC_SANITIZE
const char* kOps = "5000";
#else
const char* kOps = "20000";
#endif

using evo::test::quote;
using evo::test::shell;
using evo::test::slurp;

fs::path scratch(const std::string& name) { return evo::test::fresh_dir("merge", name); }

int evolve(const fs::path& out, const std::string& id, int seed) {
  std::ostringstream c;
  c << "'" << exe() << "' evolve --config '" << src() << "/configs/smoke.yaml' --out '" << out.string()
    << "' --run-id " << id << " --seed " << seed << " --set trace_max_ops=" << kOps << " -j 1 -q >/dev/null 2>&1";
  return shell(c.str());
}

}  // namespace

TEST_CASE("merge: runs of several seeds, a failed task and a missing folder") {
  REQUIRE_MESSAGE(fs::exists(exe()), "build the evoalloc target first: " << exe());
  fs::path w = scratch("runs");
  REQUIRE(evolve(w, "s1", 1) == 0);
  REQUIRE(evolve(w, "s2", 2) == 0);
  // A sweep task folder whose run failed: exit_status 1 and its log.
  fs::create_directories(w / "task-bad");
  std::ofstream(w / "task-bad" / "exit_status") << "1\n";
  std::ofstream(w / "task-bad" / "task.log") << "evoalloc evolve: /x.trace: cannot open\n";
  // A sweep task folder that succeeded: the run one level down.
  fs::create_directories(w / "task-ok" / "smoke");
  fs::copy(w / "smoke" / "s2", w / "task-ok" / "smoke" / "run", fs::copy_options::recursive);
  std::ofstream(w / "task-ok" / "exit_status") << "0\n";

  const std::vector<std::string> dirs = {(w / "smoke/s1").string(), (w / "smoke/s2").string(),
                                         (w / "task-bad").string(), (w / "nope").string(),
                                         (w / "task-ok").string()};
  evo::MergeResult m = evo::merge_runs(dirs);
  REQUIRE(m.runs.size() == 5);
  CHECK(m.runs[0].ok);
  CHECK(m.runs[1].ok);
  CHECK(m.runs[0].seed == 1);
  CHECK(m.runs[1].seed == 2);
  CHECK_FALSE(m.runs[2].ok);
  CHECK(m.runs[2].status == "failed: exit 1: evoalloc evolve: /x.trace: cannot open");
  CHECK_FALSE(m.runs[3].ok);
  CHECK(m.runs[3].status == "failed: missing folder");
  CHECK(m.runs[4].ok);
  CHECK(m.runs[4].hypervolume == m.runs[1].hypervolume);
  CHECK(m.failed() == 2);
  // The merged front: non-dominated, and every run's front design is on it or dominated by it.
  REQUIRE(!m.front.empty());
  for (const auto& a : m.front)
    for (const auto& b : m.front) CHECK_FALSE(evo::dominates(evo::fitness_of(b.metrics), evo::fitness_of(a.metrics)));
  for (const auto& r : m.runs)
    for (const auto& e : r.front) {
      bool covered = false;
      for (const auto& f : m.front)
        covered = covered || f.sentence == e.sentence ||
                  evo::dominates(evo::fitness_of(f.metrics), evo::fitness_of(e.metrics));
      CHECK(covered);
    }
  // Hypervolumes in [0, 1] on the common reference; history curve never decreases.
  for (const auto& r : m.runs) {
    if (!r.ok) continue;
    CHECK(r.hypervolume > 0);
    CHECK(r.hypervolume <= 1);
    for (std::size_t i = 1; i < r.hv_by_generation.size(); ++i)
      CHECK(r.hv_by_generation[i].second >= r.hv_by_generation[i - 1].second);
    CHECK(r.hv_by_generation.back().second == doctest::Approx(r.hypervolume));
  }
  REQUIRE(m.spread.size() == 2);
  CHECK(m.spread[0].ok == 3);
  CHECK(m.spread[0].min <= m.spread[0].mean);
  CHECK(m.spread[0].mean <= m.spread[0].max);

  // The CLI: outputs written, exit 1 because runs failed; exit 0 on the good ones only.
  std::string cmd = quote(exe()) + " merge -q";
  for (const auto& d : dirs) {
    cmd += ' ';
    cmd += quote(d);
  }
  CHECK(shell(cmd + " -o " + quote((w / "m").string()) + " >/dev/null 2>&1") == 1);
  for (const char* f : {"front.csv", "runs.csv", "spread.csv", "report.md", "runs.gp"}) CHECK_MESSAGE(fs::exists(w / "m" / f), f);
  const std::string runs = slurp(w / "m" / "runs.csv");
  CHECK(runs.find("failed: missing folder") != std::string::npos);
  CHECK(runs.find("failed: exit 1") != std::string::npos);
  CHECK(shell(quote(exe()) + " merge -q " + quote(dirs[0]) + " " + quote(dirs[1]) + " -o " + quote((w / "m2").string()) +
           " >/dev/null 2>&1") == 0);
  CHECK(shell(quote(exe()) + " merge -q >/dev/null 2>&1") == 2);  // no runs: usage error
  fs::remove_all(w);
}

TEST_CASE("sweep: --dry-run writes the tasks and job scripts; bad sweep files are refused") {
  REQUIRE_MESSAGE(fs::exists(exe()), "build the evoalloc target first: " << exe());
  fs::path w = scratch("sweep");
  const fs::path cmds = w / "cmds.txt";
  REQUIRE(shell(std::string("cd ") + quote(w.string()) + " && " + quote(exe()) + " sweep --config " +
             quote(src() + "/configs/sweep-smoke.yaml") + " --out " + quote(w.string()) +
             " --partition gpu --time 00:05:00 --cpus-per-task 3 --dry-run >" + quote(cmds.string()) + " 2>/dev/null") == 0);
  const std::string c = slurp(cmds);
  CHECK(c.find("--array=0-3") != std::string::npos);
  CHECK(c.find("--partition='gpu'") != std::string::npos);
  CHECK(c.find("--time='00:05:00'") != std::string::npos);
  CHECK(c.find("--cpus-per-task=3") != std::string::npos);
  CHECK(c.find("--dependency=afterany:$ARRAY_JOB_ID") != std::string::npos);
  fs::path dir;
  for (const auto& d : fs::directory_iterator(w / "sweep-smoke")) dir = d.path();
  REQUIRE(fs::exists(dir / "tasks.tsv"));
  const std::string tasks = slurp(dir / "tasks.tsv");
  int lines = 0;
  for (char ch : tasks) lines += ch == '\n';
  CHECK(lines == 5);  // header + 4 tasks
  CHECK(tasks.find("\t-\t4\n") != std::string::npos);
  CHECK(fs::exists(dir / "job.sh"));
  CHECK(fs::exists(dir / "merge.sh"));
  CHECK(slurp(dir / "set.txt") == "trace_max_ops=20000\n");

  // Bad sweep files: one line naming file:line, exit 1.
  auto refuse = [&](const std::string& yaml, const std::string& expect) {
    std::ofstream(w / "bad.yaml") << yaml;
    CHECK(shell(quote(exe()) + " sweep --config " + quote((w / "bad.yaml").string()) + " --out " + quote(w.string()) +
             " --dry-run >/dev/null 2>" + quote((w / "bad.err").string())) == 1);
    const std::string err = slurp(w / "bad.err");
    CHECK_MESSAGE(err.find(expect) != std::string::npos, err);
  };
  refuse("configs: [configs/smoke.yaml]\nseeds: [1, x]\n", "bad.yaml:2: key 'seeds': expected an unsigned integer");
  refuse("configs: [configs/smoke.yaml]\nseeds: [1]\ncolour: red\n", "bad.yaml:3: unknown key 'colour'");
  refuse("seeds: [1]\n", "key 'configs': at least one config is required");
  refuse("configs: [/no/such.yaml]\nseeds: [1]\n", "/no/such.yaml: cannot read config file");
  CHECK(shell(quote(exe()) + " sweep >/dev/null 2>&1") == 2);
  fs::remove_all(w);
}
