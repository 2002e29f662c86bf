// The MPI island model (evolve/islands.hpp): pure parts, then real `mpirun` runs of
// the evoalloc CLI on the smoke config (1, 2 and 4 ranks, oversubscribed).
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "evolve/archive.hpp"
#include "evolve/islands.hpp"
#include "tests/common/cli_helpers.hpp"

namespace fs = std::filesystem;

namespace {

/// SIGKILLs every process of session `sid` (read from /proc/PID/stat, field 6).
void kill_session(pid_t sid) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    long ppid = 0, pgrp = 0, session = 0;
    if (rest >> state >> ppid >> pgrp >> session && session == sid) kill(static_cast<pid_t>(std::stol(name)), SIGKILL);
  }
}

std::string src() { return EVOALLOC_SOURCE_DIR; }
std::string exe() { return std::string(EVOALLOC_BINARY_DIR) + "/app/evoalloc"; }
#ifdef EVOALLOC_MPIEXEC
const std::string kMpiexec = EVOALLOC_MPIEXEC;
#else
const std::string kMpiexec;
#endif
#ifdef EVOALLOC_SANITIZE
const std::string kOps = "5000";
#else
const std::string kOps = "20000";
#endif

using evo::test::lines_of;
using evo::test::shell;

fs::path scratch(const std::string& name) { return evo::test::fresh_dir("islands", name); }

// A CSV without its last column (wall-time columns).
std::string without_last_column(const fs::path& p) {
  std::string out;
  for (const std::string& l : lines_of(p)) out += l.substr(0, l.rfind(',')) + "\n";
  return out;
}

void mpi_env() {
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  setenv("OMPI_MCA_btl", "self,vader", 1);
  setenv("OMPI_MCA_pml", "ob1", 1);
  setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
  setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
  setenv("OMP_NUM_THREADS", "1", 1);
  setenv("ASAN_OPTIONS", "detect_leaks=0", 1);  // Open MPI's own allocations at exit
}

// evoalloc evolve on the smoke config; ranks 0 = no mpirun.
int evolve(int ranks, const fs::path& out, const std::string& id, const std::string& extra) {
  std::ostringstream cmd;
  if (ranks > 0) cmd << "'" << kMpiexec << "' -n " << ranks << " --oversubscribe ";
  cmd << "'" << exe() << "' evolve --config '" << src() << "/configs/smoke.yaml' --out '" << out.string()
      << "' --run-id " << id << " --set trace_max_ops=" << kOps << " -j 1 -q " << extra << " >/dev/null 2>'"
      << (out / (id + ".err")).string() << "'";
  return shell(cmd.str());
}

std::vector<evo::ArchiveEntry> read_rows(const fs::path& p) {
  std::vector<evo::ArchiveEntry> out;
  auto ls = lines_of(p);
  for (std::size_t i = 1; i < ls.size(); ++i) {
    evo::ArchiveEntry e;
    std::string err;
    REQUIRE_MESSAGE(evo::parse_archive_csv_row(ls[i], e, &err), p.string() << ":" << i + 1 << ": " << err);
    out.push_back(e);
  }
  return out;
}

bool dominated_by_any(const evo::ArchiveEntry& e, const std::vector<evo::ArchiveEntry>& set) {
  for (const auto& o : set)
    if (evo::dominates(evo::fitness_of(o.metrics), evo::fitness_of(e.metrics))) return true;
  return false;
}

// Dominated by, or equal in every objective to, a member of `set` (the merged front
// keeps one of several designs that score exactly alike).
bool covered_by_any(const evo::ArchiveEntry& e, const std::vector<evo::ArchiveEntry>& set) {
  for (const auto& o : set)
    if (evo::fitness_of(o.metrics).obj == evo::fitness_of(e.metrics).obj) return true;
  return dominated_by_any(e, set);
}

// Checks the folder of a K-island run: per-island history, migrations, merged front.
void check_island_run(const fs::path& dir, int k, const std::string& topology, int generations) {
  // report.md points at the island checkpoints, not a single-process checkpoint.txt.
  {
    const std::string report = evo::test::slurp(dir / "report.md");
    CHECK(report.find("`sync.txt`") != std::string::npos);
    CHECK(report.find("`checkpoint.txt`") == std::string::npos);
  }
  // islands.csv: one row per island and generation.
  std::map<int, int> rows_per_island;
  auto isl = lines_of(dir / "islands.csv");
  REQUIRE(isl.size() == static_cast<std::size_t>(k * (generations + 1) + 1));
  for (std::size_t i = 1; i < isl.size(); ++i) rows_per_island[std::stoi(isl[i])]++;
  CHECK(rows_per_island.size() == static_cast<std::size_t>(k));
  // migrations.csv: every island received at every generation (interval 1).
  auto mig = lines_of(dir / "migrations.csv");
  REQUIRE(mig.size() == static_cast<std::size_t>(k * generations + 1));
  std::size_t imported = 0;
  for (std::size_t i = 1; i < mig.size(); ++i) {
    evo::MigrationRow r;
    REQUIRE(evo::parse_migrations_csv_row(mig[i], r));
    CHECK(r.sources == evo::migration_sources(r.island, k, topology));
    CHECK(r.sent == 2);
    CHECK(r.stats.received > 0);
    imported += r.stats.new_to_archive;
  }
  CHECK(imported > 0);  // migration happened and brought new designs
  // Per island: archive == own evaluations + imported migrants (migrants not re-evaluated).
  for (int i = 0; i < k; ++i) {
    const fs::path idir = dir / ("island-" + std::to_string(i));
    auto hist = lines_of(idir / "history.csv");
    evo::HistoryRow last;
    REQUIRE(evo::parse_history_csv_row(hist.back(), last));
    std::size_t in = 0;
    for (std::size_t j = 1; j < mig.size(); ++j) {
      evo::MigrationRow r;
      evo::parse_migrations_csv_row(mig[j], r);
      if (r.island == i) in += r.stats.new_to_archive;
    }
    CHECK(read_rows(idir / "archive.csv").size() == last.evaluations + in);
  }
  // The merged front: non-dominated, and covers every island's front.
  auto front = read_rows(dir / "front.csv");
  REQUIRE(!front.empty());
  for (const auto& e : front) CHECK_FALSE(dominated_by_any(e, front));
  std::set<std::string> on_front;
  for (const auto& e : front) on_front.insert(e.sentence);
  for (int i = 0; i < k; ++i)
    for (const auto& e : read_rows(dir / ("island-" + std::to_string(i)) / "front.csv"))
      CHECK((on_front.count(e.sentence) || covered_by_any(e, front)));
}

}  // namespace

TEST_CASE("island seeds and topologies") {
  CHECK(evo::island_seed(7, 0) == 7);
  CHECK(evo::island_seed(7, 1) != 7);
  CHECK(evo::island_seed(7, 1) != evo::island_seed(7, 2));
  CHECK(evo::island_seed(7, 1) == evo::island_seed(7, 1));
  CHECK(evo::migration_sources(0, 1, "ring").empty());
  CHECK(evo::migration_sources(0, 4, "ring") == std::vector<int>{3});
  CHECK(evo::migration_sources(2, 4, "ring") == std::vector<int>{1});
  CHECK(evo::migration_sources(1, 4, "full") == std::vector<int>{0, 2, 3});
  CHECK_THROWS_AS(evo::migration_sources(0, 2, "star"), std::invalid_argument);
  evo::MigrationRow r;
  r.generation = 4;
  r.island = 2;
  r.sources = {0, 1, 3};
  r.sent = 2;
  r.stats = {6, 3, 1};
  evo::MigrationRow back;
  REQUIRE(evo::parse_migrations_csv_row(evo::migrations_csv_row(r), back));
  CHECK(back.sources == r.sources);
  CHECK(back.stats.new_to_archive == 3);
  CHECK_FALSE(evo::parse_migrations_csv_row("1,2,3", back));
}

TEST_CASE("islands: config section is checked") {
  evo::Config c = evo::parse_config("islands: {enabled: true, interval: 3, topology: full}\n", "t.yaml");
  CHECK(c.islands.enabled);
  CHECK(c.islands.interval == 3);
  CHECK(c.islands.migrants == 2);
  CHECK(c.islands.topology == "full");
  CHECK(evo::parse_config(evo::config_to_yaml(c), "back").islands.topology == "full");
  CHECK_THROWS_WITH_AS(evo::parse_config("islands: {topology: star}\n", "t.yaml"),
                       doctest::Contains("t.yaml:1: key 'islands.topology': expected ring or full"), evo::ConfigError);
  CHECK_THROWS_AS(evo::parse_config("islands: {interval: 0}\n", "t.yaml"), evo::ConfigError);
  CHECK_THROWS_AS(evo::parse_config("islands: {colour: red}\n", "t.yaml"), evo::ConfigError);
}

TEST_CASE("MPI islands end to end (mpirun, smoke config)") {
  REQUIRE_MESSAGE(fs::exists(exe()), "build the evoalloc target first: " << exe());
  if (!evo::islands_available()) {
    // Without MPI the CLI must say so clearly.
    fs::path out = scratch("nompi");
    CHECK(evolve(0, out, "x", "--islands") == 1);
    CHECK(lines_of(out / "x.err").at(0).find("no MPI") != std::string::npos);
    return;
  }
  REQUIRE_MESSAGE(!kMpiexec.empty(), "MPI found but no mpiexec");
  mpi_env();
  fs::path out = scratch("e2e");

  SUBCASE("a 1-rank island run equals a plain run with the same seed") {
    REQUIRE(evolve(0, out, "plain", "") == 0);
    REQUIRE(evolve(1, out, "one", "--islands") == 0);
    for (const char* f : {"front.csv", "archive.csv", "history.csv"}) {
      CHECK_MESSAGE(without_last_column(out / "smoke/plain" / f) == without_last_column(out / "smoke/one" / f), f);
      CHECK_MESSAGE(without_last_column(out / "smoke/plain" / f) ==
                        without_last_column(out / "smoke/one/island-0" / f), f);
    }
    CHECK(lines_of(out / "smoke/one/migrations.csv").size() == 1);  // header only
  }
  SUBCASE("2 islands on a ring: migration, merged front") {
    REQUIRE(evolve(2, out, "two", "--islands --set 'islands={interval: 1, migrants: 2}'") == 0);
    check_island_run(out / "smoke/two", 2, "ring", 3);
  }
  SUBCASE("4 islands fully connected (oversubscribed)") {
    REQUIRE(evolve(4, out, "four", "--islands --set 'islands={interval: 1, topology: full}'") == 0);
    check_island_run(out / "smoke/four", 4, "full", 3);
  }
  SUBCASE("resume: 2 then 4 generations equals 4 at once") {
    REQUIRE(evolve(2, out, "whole", "--islands -g 4 --set 'islands={interval: 2}'") == 0);
    REQUIRE(evolve(2, out, "part", "--islands -g 2 --set 'islands={interval: 2}'") == 0);
    REQUIRE(shell("'" + kMpiexec + "' -n 2 --oversubscribe '" + exe() + "' evolve --resume '" +
               (out / "smoke/part").string() + "' -g 4 -q >/dev/null 2>'" + (out / "resume.err").string() + "'") == 0);
    for (const char* f : {"front.csv", "archive.csv", "history.csv", "migrations.csv"})
      CHECK_MESSAGE(without_last_column(out / "smoke/whole" / f) == without_last_column(out / "smoke/part" / f), f);
    // Wrong rank count: one clear line, exit 1.
    CHECK(shell("'" + kMpiexec + "' -n 3 --oversubscribe '" + exe() + "' evolve --resume '" +
             (out / "smoke/part").string() + "' -q >/dev/null 2>'" + (out / "bad.err").string() + "'") != 0);
    std::string err;
    for (const std::string& l : lines_of(out / "bad.err")) err += l + "\n";
    CHECK_MESSAGE(err.find("evoalloc evolve: " + (out / "smoke/part").string() +
                           "/sync.txt: the run has 2 islands; resume it with mpirun -n 2") != std::string::npos, err);
  }
  SUBCASE("SIGKILL of mpirun mid-run, then --resume: same results as the uninterrupted run") {
    const std::string opts = "--islands -g 30 --set 'islands={interval: 3}'";
    REQUIRE(evolve(2, out, "whole", opts) == 0);
    // Open MPI's session folder (8 MB of shared-memory files) outlives a SIGKILLed
    // mpirun: give this one a folder of its own (short: it holds unix sockets) and
    // remove it afterwards, so repeated test runs leave nothing in /tmp.
    const fs::path session = fs::temp_directory_path() / ("eo-mpi-" + std::to_string(::getpid()));
    fs::create_directories(session);
    std::ostringstream cmd;
    cmd << "exec env TMPDIR='" << session.string() << "' '" << kMpiexec << "' -n 2 --oversubscribe '" << exe()
        << "' evolve --config '" << src()
        << "/configs/smoke.yaml' --out '" << out.string() << "' --run-id killed --set trace_max_ops=" << kOps
        << " -j 1 -q " << opts << " >/dev/null 2>/dev/null";
    const std::string c = cmd.str();
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      setsid();  // a session of its own: mpirun puts each rank in its own process group, not session
      execl("/bin/sh", "sh", "-c", c.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Kill as soon as a sync point past generation 0 exists (a run mid-way).
    const fs::path sync = out / "smoke/killed/sync.txt";
    std::uint64_t gen = 0;
    for (int i = 0; i < 3000 && gen < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      auto ls = lines_of(sync);
      if (ls.size() == 3 && ls[2].rfind("generation ", 0) == 0) gen = std::stoull(ls[2].substr(11));
    }
    // SIGKILL the launcher and every rank at once (the whole session), as a node
    // failure or `scancel -s KILL` would: no rank gets to write another checkpoint.
    kill_session(pid);
    int st = 0;
    waitpid(pid, &st, 0);
    fs::remove_all(session);
    REQUIRE(gen >= 3);
    auto ls = lines_of(sync);
    REQUIRE(ls.size() == 3);
    CHECK_MESSAGE(std::stoull(ls[2].substr(11)) < 30, "the run finished before it was killed");
    REQUIRE(shell("'" + kMpiexec + "' -n 2 --oversubscribe '" + exe() + "' evolve --resume '" +
               (out / "smoke/killed").string() + "' -q >/dev/null 2>'" + (out / "resume2.err").string() + "'") == 0);
    for (const char* f : {"front.csv", "archive.csv", "history.csv", "migrations.csv", "islands.csv"})
      CHECK_MESSAGE(without_last_column(out / "smoke/whole" / f) == without_last_column(out / "smoke/killed" / f), f);
  }
  fs::remove_all(out);
}
