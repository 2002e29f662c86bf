// app/cmd_evolve.cpp — `evoalloc evolve`: the main job (see evolve/run.hpp).
#include <filesystem>
#include <algorithm>
#include <iostream>
#include <map>

#include "app/cli.hpp"
#include "evolve/config.hpp"
#include "evolve/islands.hpp"
#include "evolve/run.hpp"

namespace evo::cli {

namespace {

namespace fs = std::filesystem;

// Relative paths: from the current directory, else from the evoalloc source tree
// (so `evoalloc evolve` works from anywhere).
std::string resolve(const std::string& p) { return resolve_path(p); }

}  // namespace

int cmd_evolve(const std::vector<std::string>& args) {
  po::options_description desc("options");
  desc.add_options()
      ("config,c", po::value<std::string>(), "YAML run config (default: configs/espresso.yaml)")
      ("trace", po::value<std::string>(), "trace file (overrides the config's trace)")
      ("also-trace", po::value<std::vector<std::string>>()->composing(),
       "score every design on this trace too (repeatable; added to the config's extra_traces; "
       "speed is then the geometric mean over the traces)")
      ("generations,g", po::value<std::string>(), "generations after the initial one")
      ("population,p", po::value<std::string>(), "population size (mu)")
      ("seed,s", po::value<std::string>(), "run seed")
      ("threads,j", po::value<std::string>(), "OpenMP threads (0 = all cores)")
      ("out,o", po::value<std::string>(), "results root folder (default results)")
      ("set", po::value<std::vector<std::string>>()->composing(), "KEY=VALUE: override any config key (repeatable)")
      ("resume", po::value<std::string>(), "continue the run in folder DIR from its checkpoint")
      ("exhaustive", "score every design of the enumerated grammar instead of evolving")
      ("run-id", po::value<std::string>(), "name of the run folder (default: UTC time + seed)")
      ("islands", "MPI island model: run under `mpirun -n K`, one island per rank (evolve/islands.hpp;\n"
                  "tune with --set islands={interval: 5, migrants: 2, topology: ring|full})")
      ("quiet,q", "no progress lines");
  po::variables_map vm;
  if (!parse(args, desc, nullptr, 0, vm, "evoalloc evolve [--config FILE] [options]",
             "Evolves allocator designs for a trace (GE + NSGA-II over speed, fragmentation and locality)\n"
             "and writes results/<config-name>/<run-id>/: config.yaml, front.csv, archive.csv, history.csv,\n"
             "front.png/svg, report.md, checkpoint.txt. Config keys and defaults: evolve/config.hpp;\n"
             "metrics: docs/metrics.md."))
    return kExitOk;

  Config cfg;
  RunOptions ro;
  const bool resuming = vm.count("resume") > 0;
  try {
    if (resuming) {
      ro.resume_dir = vm["resume"].as<std::string>();
      if (vm.count("config")) throw UsageError("--resume takes the run's own config.yaml; drop --config");
      for (const char* k : {"trace", "also-trace", "population", "seed", "out", "set", "run-id"})
        if (vm.count(k)) throw UsageError(std::string("--") + k + " cannot change when resuming a run");
      if (vm.count("exhaustive")) throw UsageError("--exhaustive cannot change when resuming a run");
      if (!fs::exists(ro.resume_dir + "/config.yaml"))
        throw RuntimeError(ro.resume_dir + ": not a run folder (no config.yaml)");
      cfg = load_config(ro.resume_dir + "/config.yaml");
    } else {
      const std::string path = resolve(vm.count("config") ? vm["config"].as<std::string>() : "configs/espresso.yaml");
      cfg = load_config(path);
    }
    auto over = [&](const char* opt, const char* key) {
      if (vm.count(opt)) apply_override(cfg, key, vm[opt].as<std::string>());
    };
    over("trace", "trace");
    over("generations", "generations");
    over("population", "population");
    over("seed", "seed");
    over("threads", "threads");
    over("out", "out");
    if (vm.count("set")) {
      for (const std::string& kv : vm["set"].as<std::vector<std::string>>()) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) throw UsageError("--set expects KEY=VALUE, got '" + kv + "'");
        apply_override(cfg, kv.substr(0, eq), kv.substr(eq + 1));
      }
    }
    if (vm.count("also-trace"))
      for (const std::string& t : vm["also-trace"].as<std::vector<std::string>>()) cfg.extra_traces.push_back(t);
    if (vm.count("exhaustive")) cfg.exhaustive = true;
    if (vm.count("islands")) cfg.islands.enabled = true;
  } catch (const ConfigError& e) {
    // A bad value on the command line is a usage error; in a file, a runtime failure.
    if (std::string(e.what()).rfind("command line", 0) == 0) throw UsageError(e.what());
    throw;
  }
  cfg.trace = resolve(cfg.trace);
  for (std::string& t : cfg.extra_traces) t = resolve(t);
  cfg.grammar = resolve(cfg.grammar);
  if (vm.count("run-id")) ro.run_id = vm["run-id"].as<std::string>();
  if (!vm.count("quiet")) ro.progress = &std::cerr;
  if (cfg.islands.enabled && !islands_available())
    throw RuntimeError("--islands: this build has no MPI (install libopenmpi-dev and rebuild with "
                       "-DEVOALLOC_WITH_MPI=ON)");
  RunOutcome out = cfg.islands.enabled ? run_islands(cfg, ro) : run_config(cfg, ro);
  if (!out.dir.empty()) std::cout << out.dir << '\n';  // island runs: rank 0 only
  // A run without one feasible design has nothing to export: say why, exit 1 (the
  // run folder, archive included, is written all the same).
  const auto& entries = out.state.archive.entries();
  if (!cfg.islands.enabled && !entries.empty() && out.state.archive.front().empty()) {
    // Reasons grouped with their numbers blanked ("op #: malloc(#) failed"); valid designs' first.
    std::map<std::string, std::pair<std::size_t, std::string>> why;  // group -> (designs, an example)
    bool any_valid = false;
    for (const ArchiveEntry& e : entries) any_valid |= e.metrics.valid;
    for (const ArchiveEntry& e : entries) {
      if (any_valid && !e.metrics.valid) continue;
      std::string g;
      for (char c : e.metrics.reason)
        if (!(c >= '0' && c <= '9') || g.empty() || g.back() != '#') g += (c >= '0' && c <= '9') ? '#' : c;
      auto& w = why[g];
      if (w.first++ == 0) w.second = e.metrics.reason;
    }
    auto top = std::max_element(why.begin(), why.end(),
                                [](const auto& a, const auto& b) { return a.second.first < b.second.first; });
    throw RuntimeError("no feasible design among the " + std::to_string(entries.size()) + " evaluated (most often, " +
                       std::to_string(top->second.first) + " designs: '" + top->second.second + "'; all in " +
                       out.dir + "/archive.csv); raise memory_limit or time_limit_s, or check the trace");
  }
  return kExitOk;
}

}  // namespace evo::cli
