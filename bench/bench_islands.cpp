// bench/bench_islands.cpp — the MPI island model at 1, 2 and 4 ranks against the
// single-process run of the same config: hypervolume reached per wall-second.
//
//   bench_islands [CONFIG] [KEY=VALUE ...]       (default configs/espresso.yaml)
//
// Every run gets the same total population (islands: population / K each, at least 4)
// and the same generations, and the same cores: the single process uses `threads`
// = all cores; K ranks use cores / K threads each (at least 1; oversubscribed above
// that). Hypervolumes are all computed against ONE reference point (evolve/merge.hpp),
// so they compare. Prints one row per run: wall seconds, evaluations, hypervolume,
// hypervolume per wall-second and its ratio to the single-process run.
// Needs mpiexec (the build's MPIEXEC, or `mpiexec` on PATH) and an MPI build.
#include <omp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "evolve/config.hpp"
#include "evolve/islands.hpp"
#include "evolve/merge.hpp"

namespace fs = std::filesystem;

namespace {

std::string q(const std::string& s) {
  std::string r(1, '\'');
  r += s;
  r += '\'';
  return r;
}

double run(const std::string& cmd) {
  const auto t0 = std::chrono::steady_clock::now();
  int st = std::system(cmd.c_str());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    std::cerr << "bench_islands: command failed: " << cmd << "\n";
    std::exit(1);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (!evo::islands_available()) {
    std::cerr << "bench_islands: this build has no MPI\n";
    return 1;
  }
  const std::string src = EVOALLOC_SOURCE_DIR;
  const std::string exe = std::string(EVOALLOC_BINARY_DIR) + "/app/evoalloc";
  std::string config = src + "/configs/espresso.yaml";
  std::string sets;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.find('=') == std::string::npos) {
      config = a;
    } else {
      sets += " --set ";
      sets += q(a);
    }
  }
  evo::Config cfg = evo::load_config(config);
  const int cores = omp_get_num_procs();
  const fs::path out = fs::temp_directory_path() / ("evoalloc_bench_islands_" + std::to_string(::getpid()));
  fs::remove_all(out);
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  setenv("OMPI_MCA_btl", "self,vader", 1);
  setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
  std::printf("bench_islands: %s, %d cores, total population %llu, %s\n", config.c_str(), cores,
              static_cast<unsigned long long>(cfg.population), sets.empty() ? "(no overrides)" : sets.c_str());

  struct Row {
    std::string label, dir;
    double wall;
  };
  std::vector<Row> rows;
  // single process
  {
    std::string cmd = q(exe) + " evolve -q --config " + q(config) + " --out " + q(out.string()) +
                      " --run-id single -j " + std::to_string(cores) + sets + " >/dev/null";
    rows.push_back({"single process", (out / cfg.name / "single").string(), run(cmd)});
  }
  for (int k : {1, 2, 4}) {
    const std::uint64_t pop = std::max<std::uint64_t>(4, cfg.population / static_cast<std::uint64_t>(k));
    const int threads = std::max(1, cores / k);
    std::string cmd = std::string("mpiexec -n ") + std::to_string(k) + " --bind-to none " + q(exe) +
                      " evolve -q --islands --config " + q(config) + " --out " + q(out.string()) + " --run-id islands" +
                      std::to_string(k) + " -j " + std::to_string(threads) + " -p " + std::to_string(pop) + sets +
                      " >/dev/null";
    rows.push_back({std::to_string(k) + " island" + (k > 1 ? "s" : "") + " (pop " + std::to_string(pop) + " each)",
                    (out / cfg.name / ("islands" + std::to_string(k))).string(), run(cmd)});
  }
  std::vector<std::string> dirs;
  for (const Row& r : rows) dirs.push_back(r.dir);
  evo::MergeResult m = evo::merge_runs(dirs);
  if (m.failed()) {
    std::cerr << "bench_islands: a run failed\n";
    return 1;
  }
  const double base = m.runs[0].hypervolume / rows[0].wall;
  std::printf("\n%-28s %9s %11s %12s %12s %8s\n", "run", "wall s", "evaluations", "hypervolume", "hv / wall-s",
              "ratio");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double per = m.runs[i].hypervolume / rows[i].wall;
    std::printf("%-28s %9.1f %11llu %12.4f %12.5f %7.2fx\n", rows[i].label.c_str(), rows[i].wall,
                static_cast<unsigned long long>(m.runs[i].evaluations), m.runs[i].hypervolume, per, per / base);
  }
  std::printf("(hypervolume: one common reference, evolve/merge.hpp; merged front of all runs: %zu designs)\n",
              m.front.size());
  fs::remove_all(out);
  return 0;
}
