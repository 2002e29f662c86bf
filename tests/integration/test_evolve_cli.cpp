// End-to-end tests of `evoalloc evolve` (the real CLI on the real espresso trace,
// shortened by configs/smoke.yaml, over the whole grammar/allocator.bnf): outputs,
// reproducibility, resume after SIGKILL, bad configs.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "evolve/archive.hpp"
#include "evolve/checkpoint.hpp"
#include "evaluate/trace.hpp"
#include "evaluate/workload.hpp"
#include "evolve/config.hpp"
#include "evolve/pick.hpp"
#include "grammar/grammar.hpp"
#include "grammar/mapper.hpp"
#include "tests/common/cli_helpers.hpp"

namespace fs = std::filesystem;

namespace {

std::string src() { return EVOALLOC_SOURCE_DIR; }
std::string exe() { return std::string(EVOALLOC_BINARY_DIR) + "/app/evoalloc"; }
using evo::test::slurp;

fs::path scratch(const std::string& name) { return evo::test::fresh_dir("evolve", name); }

// Runs the CLI (through the shell), returns the exit status; stderr goes to `err`.
int run(const std::string& args, const fs::path& err) {
  using evo::test::quote;
  return evo::test::shell(quote(exe()) + " evolve " + args + " >/dev/null 2>" + quote(err.string()));
}

// A CSV without its last column (eval_seconds: wall time, the one column that varies).
std::string without_last_column(const std::string& csv) {
  std::istringstream in(csv);
  std::string line, out;
  while (std::getline(in, line)) out += line.substr(0, line.rfind(',')) + "\n";
  return out;
}

// Smoke settings; the ASan build replays fewer ops.
#ifdef EVOALLOC_SANITIZE
const std::string kOps = "5000";
#else
const std::string kOps = "20000";
#endif

}  // namespace

TEST_CASE("the smoke config end to end, and a seed reproduces the run") {
  REQUIRE_MESSAGE(fs::exists(exe()), (std::string("build the evoalloc target first: ") + exe()));
  fs::path out = scratch("smoke");
  const std::string common = "--config '" + src() + "/configs/smoke.yaml' --out '" + out.string() +
                             "' --set trace_max_ops=" + kOps + " -q";
  REQUIRE(run(common + " --run-id a", out / "a.err") == 0);
  REQUIRE(run(common + " --run-id b --threads 1", out / "b.err") == 0);
  fs::path a = out / "smoke" / "a", b = out / "smoke" / "b";
  for (const char* f : {"config.yaml", "front.csv", "archive.csv", "history.csv", "report.md", "checkpoint.txt"})
    CHECK_MESSAGE(fs::exists(a / f), f);
  // The effective config loads back and carries the override.
  evo::Config c = evo::load_config((a / "config.yaml").string());
  CHECK(std::to_string(c.trace_max_ops) == kOps);
  CHECK(c.name == "smoke");
  // history: generation 0..3
  std::string hist = slurp(a / "history.csv");
  CHECK(std::count(hist.begin(), hist.end(), '\n') == 5);
  std::string front = slurp(a / "front.csv");
  CHECK(std::count(front.begin(), front.end(), '\n') >= 2);
  CHECK(slurp(a / "report.md").find("## The front") != std::string::npos);
  // The report points at choosing on the program exactly when front designs tie
  // with the fastest (within kSpeedTie of its speed).
  {
    const evo::MetricsTable t = evo::read_metrics_table((a / "front.csv").string());
    const std::vector<double> v = evo::speed_scores(t);
    double top = INFINITY;
    for (double x : v)
      if (x < top) top = x;
    const auto tied = std::count_if(v.begin(), v.end(), [&](double x) { return x <= top * (1 + evo::kSpeedTie); });
    CHECK((slurp(a / "report.md").find(" --select fastest --top ") != std::string::npos) == (tied > 1));
  }
  // The run explores the whole grammar: its archive holds designs of several families
  // (the first word of each sentence; archive.csv starts with a header line).
  std::set<std::string> families;
  {
    std::istringstream in(slurp(a / "archive.csv"));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) families.insert(line.substr(0, line.find_first_of(" ,")));
  }
  CHECK_MESSAGE(families.size() >= 3, families.size());
  // Same seed, modeled speed, 1 thread instead of 2: identical fronts and archives.
  CHECK(without_last_column(front) == without_last_column(slurp(b / "front.csv")));
  CHECK(without_last_column(slurp(a / "archive.csv")) == without_last_column(slurp(b / "archive.csv")));
  fs::remove_all(out);
}

TEST_CASE("extra_traces: every design is scored on all the traces; the export fits classes to their merged histogram") {
  REQUIRE(fs::exists(exe()));
  fs::path out = scratch("extra");
  // --also-trace adds to extra_traces; a relative path resolves like trace: (here,
  // against the source tree).
  REQUIRE(run("--config '" + src() + "/configs/smoke.yaml' --out '" + out.string() + "' --set trace_max_ops=" + kOps +
                  " --also-trace traces/pyqueue.trace --run-id x -q",
              out / "x.err") == 0);
  const fs::path dir = out / "smoke" / "x";
  const evo::Config cfg = evo::load_config((dir / "config.yaml").string());
  REQUIRE(cfg.extra_traces.size() == 1);
  CHECK(cfg.extra_traces[0] == src() + "/traces/pyqueue.trace");
  CHECK(slurp(dir / "report.md").find("- also scored on: `" + cfg.extra_traces[0] + "`") != std::string::npos);
  // Every feasible design replayed the prefix of both traces (ops is their sum).
  std::istringstream archive(slurp(dir / "archive.csv"));
  std::string line, header;
  std::getline(archive, header);
  auto column = [&](const std::string& name) {
    const std::size_t at = header.find("," + name + ",");
    REQUIRE(at != std::string::npos);
    return static_cast<std::size_t>(std::count(header.begin(), header.begin() + static_cast<long>(at) + 1, ','));
  };
  const std::size_t feasible_col = column("feasible"), ops_col = column("ops");
  int feasible = 0;
  while (std::getline(archive, line)) {
    // Sentences hold no commas; the genome is dot-separated: split on commas.
    std::vector<std::string> f;
    std::istringstream ls(line);
    for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
    REQUIRE(f.size() > ops_col);
    if (f[feasible_col] != "1") continue;
    ++feasible;
    CHECK(f[ops_col] == std::to_string(2 * std::stoull(kOps)));
  }
  CHECK(feasible >= 3);
  // The export of a fitted design from this run carries the merged histogram.
  const std::string fitted =
      "block classes=fitted:8 fit=first coalesce=none split=selective split_min=1K search=own top=64K large=1M "
      "align=16 source=mmap harden=off front=none retain=auto";
  std::string front = slurp(dir / "front.csv");
  const std::size_t row = front.find('\n') + 1;
  front.replace(row, front.find(',', row) - row, fitted);
  std::ofstream(dir / "front.csv") << front;
  using evo::test::quote;
  const std::string exp = quote(exe()) + " export --run " + quote(dir.string()) + " --pick 0 --no-build --name fit";
  REQUIRE(evo::test::shell(exp + " --out " + quote((out / "e1").string()) + " >/dev/null 2>&1") == 0);
  REQUIRE(evo::test::shell(exp + " --trace " + quote(cfg.trace) + " --out " + quote((out / "e2").string()) +
                           " >/dev/null 2>&1") == 0);
  const auto h0 = evo::size_histogram(evo::read_trace(cfg.trace));
  const auto h1 = evo::size_histogram(evo::read_trace(cfg.extra_traces[0]));
  const std::vector<std::vector<evo::SizeCount>> parts{h0, h1};
  const std::size_t merged = evo::merge_histograms(parts).size();
  REQUIRE(merged != h0.size());
  auto size_in = [&](const fs::path& design) {
    const std::string text = slurp(design);
    const std::string key = "kHistogramSize = ";
    const std::size_t at = text.find(key);
    REQUIRE(at != std::string::npos);
    return static_cast<std::size_t>(std::stoull(text.substr(at + key.size())));
  };
  CHECK(size_in(out / "e1" / "design.hpp") == merged);
  CHECK(size_in(out / "e2" / "design.hpp") == h0.size());  // --trace: that trace alone
  // A missing extra trace is an error naming it.
  CHECK(run("--config '" + src() + "/configs/smoke.yaml' --out '" + out.string() +
                "' --set 'extra_traces=[/nonexistent/x.trace]' --run-id y -q",
            out / "y.err") == 1);
  CHECK(slurp(out / "y.err").find("/nonexistent/x.trace") != std::string::npos);
  fs::remove_all(out);
}

TEST_CASE("resume after SIGKILL gives the uninterrupted run's result") {
  REQUIRE(fs::exists(exe()));
  fs::path out = scratch("kill");
  const std::vector<std::string> base = {"evolve", "--config", src() + "/configs/smoke.yaml", "--out", out.string(),
                                         "--set", "trace_max_ops=" + kOps, "--generations", "10", "-q"};
  // Uninterrupted reference run.
  {
    std::string args;
    for (std::size_t i = 1; i < base.size(); ++i) args += "'" + base[i] + "' ";
    REQUIRE(run(args + "--run-id full", out / "full.err") == 0);
  }
  // The victim: started, killed with SIGKILL once a checkpoint after generation >= 1 exists.
  std::vector<std::string> argv_s = base;
  argv_s.insert(argv_s.begin(), exe());
  argv_s.push_back("--run-id");
  argv_s.push_back("victim");
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::freopen("/dev/null", "w", stdout);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  const fs::path dir = out / "smoke" / "victim";
  const fs::path ckpt = dir / "checkpoint.txt";
  bool killed_mid_run = false;
  for (int i = 0; i < 6000; ++i) {  // up to 60 s
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (fs::exists(ckpt)) {
      std::string text = slurp(ckpt);
      if (text.rfind("evoalloc-checkpoint 1\ngeneration ", 0) == 0 && text.find("\ngeneration 0\n") == std::string::npos) {
        killed_mid_run = text.find("\ngeneration 10\n") == std::string::npos;
        ::kill(pid, SIGKILL);
        break;
      }
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK_MESSAGE(killed_mid_run, "the run finished before it could be killed");
  // The checkpoint on disk is whole (atomic rename), whatever the moment of the kill.
  evo::RunState st = evo::load_checkpoint(dir.string());
  CHECK(st.generation >= 1);
  REQUIRE(run("--resume '" + dir.string() + "' -q", out / "resume.err") == 0);
  CHECK(slurp(out / "resume.err").empty());
  CHECK(without_last_column(slurp(dir / "front.csv")) == without_last_column(slurp(out / "smoke" / "full" / "front.csv")));
  CHECK(without_last_column(slurp(dir / "archive.csv")) ==
        without_last_column(slurp(out / "smoke" / "full" / "archive.csv")));
  fs::remove_all(out);
}

TEST_CASE("bad configs: one line naming the key and the line, exit 1; bad flags exit 2") {
  REQUIRE(fs::exists(exe()));
  fs::path out = scratch("bad");
  const fs::path unknown = out / "unknown.yaml";
  std::ofstream(unknown) << "trace: traces/espresso.trace\npopulaton: 10\n";
  CHECK(run("--config '" + unknown.string() + "' -q", out / "e1") == 1);
  std::string e1 = slurp(out / "e1");
  CHECK(e1.find(unknown.string() + ":2: unknown key 'populaton'") != std::string::npos);
  CHECK(std::count(e1.begin(), e1.end(), '\n') == 1);

  const fs::path badval = out / "badval.yaml";
  std::ofstream(badval) << "# comment\nseed: 3\ncrossover_rate: lots\n";
  CHECK(run("--config '" + badval.string() + "' -q", out / "e2") == 1);
  CHECK(slurp(out / "e2").find(badval.string() + ":3: key 'crossover_rate': expected a number in [0, 1], got 'lots'") !=
        std::string::npos);

  CHECK(run("--config '" + src() + "/configs/smoke.yaml' --generations many -q", out / "e3") == 2);
  CHECK(slurp(out / "e3").find("key 'generations'") != std::string::npos);
  CHECK(run("--config '" + src() + "/configs/smoke.yaml' --set nokey -q", out / "e4") == 2);
  CHECK(run("--config '" + (out / "absent.yaml").string() + "' -q", out / "e5") == 1);
  CHECK(slurp(out / "e5").find("cannot read config file") != std::string::npos);
  CHECK(run("--resume '" + out.string() + "' -q", out / "e6") == 1);
  CHECK(slurp(out / "e6").find("not a run folder") != std::string::npos);
  // A missing trace: the error names the file.
  CHECK(run("--config '" + src() + "/configs/smoke.yaml' --trace /nonexistent.trace --out '" + out.string() + "' -q",
            out / "e7") == 1);
  CHECK(slurp(out / "e7").find("/nonexistent.trace") != std::string::npos);
  // A repeated key is an error naming both lines (yaml-cpp would keep one silently).
  const fs::path dup = out / "dup.yaml";
  std::ofstream(dup) << "seed: 3\npopulation: 8\nseed: 4\n";
  CHECK(run("--config '" + dup.string() + "' -q", out / "e8") == 1);
  CHECK(slurp(out / "e8").find(dup.string() + ":3: duplicate key 'seed' (first set at " + dup.string() + ":1)") !=
        std::string::npos);
  // No feasible design (a 64 KiB cap): exit 1 with the commonest reason; the run folder is kept.
  const fs::path nf = out / "nf";
  CHECK(run("--config '" + src() + "/configs/smoke.yaml' --set trace_max_ops=" + kOps +
                " --set memory_limit=64K --generations 1 --out '" + nf.string() + "' -q",
            out / "e9") == 1);
  const std::string e9 = slurp(out / "e9");
  CAPTURE(e9);
  CHECK(e9.find("no feasible design among the") != std::string::npos);
  CHECK(e9.find("failed") != std::string::npos);
  bool archive = false;
  for (const auto& d : fs::recursive_directory_iterator(nf)) archive |= d.path().filename() == "archive.csv";
  CHECK(archive);
  fs::remove_all(out);
}

TEST_CASE("configs/threaded.yaml: the thread model is a gene; speed from the threaded replay; the export builds the design's model") {
  REQUIRE(fs::exists(exe()));
  fs::path out = scratch("threaded");
  // A short run of the shipped config (the multi-threaded pyqueue trace).
  REQUIRE(run("--config '" + src() + "/configs/threaded.yaml' --out '" + out.string() +
                  "' --set trace_max_ops=" + kOps + " --population 6 --generations 1 --run-id t -q",
              out / "t.err") == 0);
  const fs::path dir = out / "threaded" / "t";
  const evo::Config cfg = evo::load_config((dir / "config.yaml").string());
  CHECK(cfg.threaded_replay == "tlh");
  CHECK(cfg.grammar.ends_with("grammar/threaded.bnf"));
  CHECK(cfg.speed_mode == evo::SpeedMode::Measured);
  CHECK(cfg.warm_replay);  // steady state: the traces are short runs of longer programs
  CHECK(cfg.threaded_speed == "mixed");
  // Every feasible front row has a measured speed and names its thread model.
  std::istringstream front(slurp(dir / "front.csv"));
  std::string line;
  std::getline(front, line);
  int rows = 0;
  while (std::getline(front, line)) {
    CAPTURE(line);
    CHECK(line.find(",nan,") == std::string::npos);
    CHECK((line.find(" threads=lock") != std::string::npos || line.find(" threads=tlh") != std::string::npos ||
           line.find(" threads=tcache") != std::string::npos));
    // Under tcache the grammar offers only pointer-array caches (grammar/threaded.bnf).
    if (line.find(" threads=tcache") != std::string::npos) CHECK(line.find(":array retain=") != std::string::npos);
    ++rows;
  }
  CHECK(rows >= 1);
  // After the search, the front's thread-model siblings were evaluated (archived one
  // generation past the last), re-measured beside it, and front.csv is the final front.
  const evo::RunState st = evo::load_checkpoint(dir.string());
  std::size_t siblings = 0;
  for (const evo::ArchiveEntry& e : st.archive.entries())
    if (e.generation == st.generation + 1) {
      ++siblings;
      CAPTURE(e.sentence);
      CHECK(evo::map_genome(evo::load_grammar(cfg.grammar), e.genome.codons).sentence == e.sentence);
    }
  CHECK(siblings >= 1);  // lock and tlh twins are always in the language
  REQUIRE_FALSE(st.final_front.empty());
  CHECK(st.final_front.size() == static_cast<std::size_t>(rows));
  for (std::size_t i : st.final_front)
    CHECK(slurp(dir / "front.csv").find(evo::csv_quote(st.archive.entries()[i].sentence)) != std::string::npos);
  CHECK(slurp(dir / "report.md").find("siblings under the other thread models, re-measured") != std::string::npos);
  // The export builds the picked design's own model unless --threads says otherwise.
  using evo::test::quote;
  const std::string exp = quote(exe()) + " export --run " + quote(dir.string()) + " --pick fastest --no-build --name thr";
  REQUIRE(evo::test::shell(exp + " --out " + quote((out / "x1").string()) + " >" + quote((out / "x1.out").string()) +
                           " 2>&1") == 0);
  const std::string said = slurp(out / "x1.out");
  CAPTURE(said);
  const std::string model = said.find(" threads=tlh") != std::string::npos      ? "tlh"
                            : said.find(" threads=tcache") != std::string::npos ? "tcache"
                                                                                : "lock";
  CHECK(said.find(" threads=" + model) != std::string::npos);
  CHECK(slurp(out / "x1" / "design.hpp").find("Thread model: " + model) != std::string::npos);
  const std::string other = model == "tlh" ? "lock" : "tlh";
  REQUIRE(evo::test::shell(exp + " --threads " + other + " --out " + quote((out / "x2").string()) + " >/dev/null 2>&1") ==
          0);
  CHECK(slurp(out / "x2" / "design.hpp").find("Thread model: " + other) != std::string::npos);
  // Without --run: the design's key, else lock.
  const std::string one = quote(exe()) + " export --no-build --name one --allocator ";
  REQUIRE(evo::test::shell(one + "'pad threads=tlh' --out " + quote((out / "x3").string()) + " >/dev/null 2>&1") == 0);
  CHECK(slurp(out / "x3" / "design.hpp").find("Thread model: tlh") != std::string::npos);
  REQUIRE(evo::test::shell(one + "pad --out " + quote((out / "x4").string()) + " >/dev/null 2>&1") == 0);
  CHECK(slurp(out / "x4" / "design.hpp").find("Thread model: lock") != std::string::npos);
  // A bad model is a config error naming the key.
  const fs::path bad = out / "bad.yaml";
  std::ofstream(bad) << "threaded_replay: spin\n";
  CHECK(run("--config '" + bad.string() + "' -q", out / "e1") == 1);
  CHECK(slurp(out / "e1").find(bad.string() + ":1: key 'threaded_replay': expected off, lock, tlh or tcache, got 'spin'") !=
        std::string::npos);
  fs::remove_all(out);
}
