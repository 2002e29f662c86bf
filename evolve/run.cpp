#include "evolve/run.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <ostream>
#include <stdexcept>

#include "evolve/checkpoint.hpp"
#include "evolve/remeasure.hpp"
#include "evolve/report.hpp"

namespace evo {

namespace fs = std::filesystem;

namespace {

std::string default_run_id(const Config& cfg) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return std::string(buf) + "-seed" + std::to_string(cfg.seed) + (cfg.exhaustive ? "-exhaustive" : "");
}

std::string make_run_dir(const Config& cfg, const RunOptions& opt) {
  const fs::path parent = fs::path(cfg.out) / cfg.name;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw std::runtime_error(parent.string() + ": cannot create results folder: " + ec.message());
  const std::string id = opt.run_id.empty() ? default_run_id(cfg) : opt.run_id;
  fs::path dir = parent / id;
  for (int k = 2; fs::exists(dir); ++k) dir = parent / (id + "-" + std::to_string(k));
  fs::create_directory(dir, ec);
  if (ec) throw std::runtime_error(dir.string() + ": cannot create run folder: " + ec.message());
  return dir.string();
}

}  // namespace

RunOutcome run_config(const Config& cfg, const RunOptions& opt) {
  RunOutcome out;
  const Workloads work = search_workloads(cfg, opt.progress);  // the traces, each with its options
  const Grammar grammar = load_grammar(cfg.grammar);

  if (!opt.resume_dir.empty()) {
    out.dir = opt.resume_dir;
    out.state = load_checkpoint(out.dir);
  } else {
    out.dir = make_run_dir(cfg, opt);
  }
  {
    std::ofstream c(out.dir + "/config.yaml");
    c << config_to_yaml(cfg);
    if (!c) throw std::runtime_error(out.dir + "/config.yaml: cannot write");
  }

  const bool tty = opt.progress != nullptr && ::isatty(STDERR_FILENO) && opt.progress == &std::cerr;
  LoopHooks hooks;
  hooks.on_generation = [&](const RunState& s) {
    save_checkpoint(out.dir, s);
    write_tables(out.dir, s);
    if (opt.progress) {
      *opt.progress << (tty ? "\r\033[K" : "") << progress_line(cfg, s) << (tty ? "" : "\n");
      opt.progress->flush();
    }
  };
  EvaluateFn eval = [&](const std::string& sentence) { return evaluate_workloads(sentence, work); };
  run_evolution(cfg, grammar, eval, out.state, hooks);
  if (tty) *opt.progress << "\n";

  if (cfg.remeasure_front) {
    settle_front(cfg, grammar, eval, work, out.state, opt.progress, [&] { save_checkpoint(out.dir, out.state); });
    save_checkpoint(out.dir, out.state);
  }
  write_tables(out.dir, out.state);
  std::string warning;
  if (!write_report(out.dir, cfg, out.state, &warning) && opt.progress) *opt.progress << "warning: " << warning << "\n";
  if (opt.progress) *opt.progress << "results: " << out.dir << "\n";
  return out;
}

}  // namespace evo
