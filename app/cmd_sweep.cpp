// app/cmd_sweep.cpp — `evoalloc sweep --config SWEEP.yaml`: configs x traces x seeds as
// one Slurm job array (one evolve run per task) plus a dependent merge job.
//
// Sweep file (YAML mapping; unknown keys are errors "FILE:LINE: ..."):
//   name:          sweep name (default: file stem)
//   configs:       list of run configs (evolve/config.hpp), required, >= 1
//   traces:        list of traces; each run uses each (default: each config's own trace)
//   seeds:         list of seeds (unsigned integers), required, >= 1
//   set:           list of KEY=VALUE overrides applied to every run (evolve --set)
//   out:           root of sweep folders (default results/sweeps)
//   partition:     Slurm partition (default: the cluster's default)
//   time:          time limit per task, Slurm syntax e.g. "00:30:00" (default: none given)
//   cpus_per_task: CPUs (and OpenMP threads) per task (default 1)
// --partition, --time and --cpus-per-task override the file. Relative config and
// trace paths are resolved like `evolve` does (current directory, then the source
// tree) and written absolute, so tasks run from any directory.
//
// The sweep folder OUT/NAME/UTCTIME/ gets: sweep.yaml (a copy), tasks.tsv (one line per
// task: id, config, trace or '-', seed; configs vary slowest, seeds fastest), set.txt,
// job.sh and merge.sh (copied from scripts/slurm/), tasks/task-I/ (each task's run,
// exit_status, task.log) and merged/ (evolve/merge.hpp). Submission:
//   sbatch --parsable --array=0-(N-1) [opts] job.sh SWEEP EVOALLOC
//   sbatch --parsable --dependency=afterany:JOB [opts] merge.sh SWEEP EVOALLOC
// --dry-run writes the folder and prints these commands without submitting; --wait
// blocks until the merge job ends and exits with its status (1 when a task failed).
#include <sys/wait.h>

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/cli.hpp"
#include "evolve/config.hpp"

namespace evo::cli {

namespace {

namespace fs = std::filesystem;

// cli::resolve_path, made absolute (the sweep's jobs run from another folder).
std::string absolute_path(const std::string& p) {
  if (p.empty()) return p;
  return fs::absolute(resolve_path(p)).lexically_normal().string();
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Sweep {
  std::string name;
  std::vector<std::string> configs, traces, set;
  std::vector<std::uint64_t> seeds;
  std::string out = "results/sweeps", partition, time;
  std::uint64_t cpus = 1;
};

[[noreturn]] void bad(const std::string& file, const YAML::Node& n, const std::string& what) {
  throw RuntimeError(file + ":" + std::to_string(n.Mark().line + 1) + ": " + what);
}

std::vector<std::string> string_list(const std::string& file, const std::string& key, const YAML::Node& v) {
  if (!v.IsSequence()) bad(file, v, "key '" + key + "': expected a list of strings");
  std::vector<std::string> out;
  for (const auto& x : v) {
    if (!x.IsScalar() || x.Scalar().empty()) bad(file, x, "key '" + key + "': expected a non-empty string");
    out.push_back(x.Scalar());
  }
  return out;
}

Sweep load_sweep(const std::string& path) {
  Sweep s;
  s.name = fs::path(path).stem().string();
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw RuntimeError(path + ": cannot read sweep file");
  } catch (const YAML::Exception& e) {
    throw RuntimeError(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  if (!root.IsMap()) throw RuntimeError(path + ": expected a mapping of key: value");
  for (const auto& kv : root) {
    const std::string k = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    auto scalar = [&] {
      if (!v.IsScalar() || v.Scalar().empty()) bad(path, kv.first, "key '" + k + "': expected a non-empty string");
      return v.Scalar();
    };
    if (k == "name") s.name = scalar();
    else if (k == "configs") s.configs = string_list(path, k, v);
    else if (k == "traces") s.traces = string_list(path, k, v);
    else if (k == "set") s.set = string_list(path, k, v);
    else if (k == "out") s.out = scalar();
    else if (k == "partition") s.partition = scalar();
    else if (k == "time") s.time = scalar();
    else if (k == "cpus_per_task") {
      const std::string x = scalar();
      if (x.find_first_not_of("0123456789") != std::string::npos || std::stoull(x) == 0 || x.size() > 6)
        bad(path, kv.first, "key 'cpus_per_task': expected a positive integer, got '" + x + "'");
      s.cpus = std::stoull(x);
    } else if (k == "seeds") {
      if (!v.IsSequence()) bad(path, kv.first, "key 'seeds': expected a list of unsigned integers");
      for (const auto& x : v) {
        if (!x.IsScalar() || x.Scalar().empty() || x.Scalar().find_first_not_of("0123456789") != std::string::npos ||
            x.Scalar().size() > 19)
          bad(path, x, "key 'seeds': expected an unsigned integer, got '" + (x.IsScalar() ? x.Scalar() : "?") + "'");
        s.seeds.push_back(std::stoull(x.Scalar()));
      }
    } else {
      bad(path, kv.first,
          "unknown key '" + k + "', expected one of: name, configs, traces, seeds, set, out, partition, time, cpus_per_task");
    }
  }
  if (s.configs.empty()) throw RuntimeError(path + ": key 'configs': at least one config is required");
  if (s.seeds.empty()) throw RuntimeError(path + ": key 'seeds': at least one seed is required");
  if (s.name.find('/') != std::string::npos) throw RuntimeError(path + ": key 'name': expected a name without '/'");
  return s;
}

// Runs a shell command, returns (exit status, stdout).
std::pair<int, std::string> capture(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw RuntimeError("cannot run: " + cmd);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

void copy_template(const std::string& name, const fs::path& to) {
  const fs::path from = fs::path(source_dir()) / "scripts/slurm" / name;
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) throw RuntimeError(from.string() + ": cannot copy the job script template: " + ec.message());
  fs::permissions(to, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec, fs::perm_options::add);
}

}  // namespace

int cmd_sweep(const std::vector<std::string>& args) {
  po::options_description desc("options");
  desc.add_options()
      ("config,c", po::value<std::string>(), "sweep file (YAML, see app/cmd_sweep.cpp; e.g. configs/sweep-smoke.yaml)")
      ("partition", po::value<std::string>(), "Slurm partition (overrides the file)")
      ("time", po::value<std::string>(), "time limit per task, e.g. 00:30:00 (overrides the file)")
      ("cpus-per-task", po::value<Count>(), "CPUs and OpenMP threads per task (overrides the file)")
      ("out,o", po::value<std::string>(), "root of sweep folders (overrides the file)")
      ("dry-run", "write the sweep folder and print the sbatch commands, submit nothing")
      ("wait", "wait for the merge job; exit 1 when any task failed");
  po::variables_map vm;
  if (!parse(args, desc, nullptr, 0, vm, "evoalloc sweep --config SWEEP.yaml [--partition P --time T --cpus-per-task C] [--dry-run]",
             "Expands configs x traces x seeds into one Slurm job array (one evolve run per task, each its own\n"
             "folder) and a dependent job running `evoalloc merge` over all tasks. Prints the sweep folder."))
    return kExitOk;
  if (!vm.count("config")) throw UsageError("--config SWEEP.yaml is required");
  Sweep s = load_sweep(absolute_path(vm["config"].as<std::string>()));
  if (vm.count("partition")) s.partition = vm["partition"].as<std::string>();
  if (vm.count("time")) s.time = vm["time"].as<std::string>();
  if (vm.count("cpus-per-task")) {
    s.cpus = vm["cpus-per-task"].as<Count>().value;
    if (s.cpus == 0) throw UsageError("--cpus-per-task must be >= 1");
  }
  if (vm.count("out")) s.out = vm["out"].as<std::string>();

  // Check everything before creating anything.
  for (std::string& c : s.configs) {
    c = absolute_path(c);
    Config probe = load_config(c);
    for (const std::string& kv : s.set) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) throw RuntimeError("sweep key 'set': expected KEY=VALUE, got '" + kv + "'");
      apply_override(probe, kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  for (std::string& t : s.traces) t = absolute_path(t);
  const std::string self = fs::read_symlink("/proc/self/exe").string();

  // The sweep folder.
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[64];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  fs::path dir = fs::absolute(fs::path(s.out) / s.name / stamp);
  for (int k = 2; fs::exists(dir); ++k) dir = fs::absolute(fs::path(s.out) / s.name / (std::string(stamp) + "-" + std::to_string(k)));
  std::error_code ec;
  fs::create_directories(dir / "tasks", ec);
  if (ec) throw RuntimeError(dir.string() + ": cannot create sweep folder: " + ec.message());
  fs::copy_file(absolute_path(vm["config"].as<std::string>()), dir / "sweep.yaml", ec);
  std::size_t n = 0;
  {
    std::ofstream t(dir / "tasks.tsv");
    t << "# id\tconfig\ttrace\tseed\n";
    const std::vector<std::string> traces = s.traces.empty() ? std::vector<std::string>{"-"} : s.traces;
    for (const std::string& c : s.configs)
      for (const std::string& tr : traces)
        for (std::uint64_t seed : s.seeds) t << n++ << '\t' << c << '\t' << tr << '\t' << seed << '\n';
    std::ofstream st(dir / "set.txt");
    for (const std::string& kv : s.set) st << kv << '\n';
    if (!t || !st) throw RuntimeError(dir.string() + ": cannot write tasks.tsv/set.txt");
  }
  copy_template("job.sh", dir / "job.sh");
  copy_template("merge.sh", dir / "merge.sh");

  std::string opts;
  if (!s.partition.empty()) opts += " --partition=" + quote(s.partition);
  if (!s.time.empty()) opts += " --time=" + quote(s.time);
  const std::string array_cmd = "sbatch --parsable --job-name=" + quote("evoalloc-" + s.name) + " --array=0-" +
                                std::to_string(n - 1) + opts + " --ntasks=1 --cpus-per-task=" + std::to_string(s.cpus) +
                                " --output=" + quote((dir / "tasks/slurm-%A_%a.out").string()) + " " +
                                quote((dir / "job.sh").string()) + " " + quote(dir.string()) + " " + quote(self);
  auto merge_cmd = [&](const std::string& job) {
    return "sbatch --parsable --job-name=" + quote("evoalloc-merge-" + s.name) + " --dependency=afterany:" + job + opts +
           " --ntasks=1 --cpus-per-task=1 --output=" + quote((dir / "merge.out").string()) +
           (vm.count("wait") ? " --wait " : " ") + quote((dir / "merge.sh").string()) + " " + quote(dir.string()) +
           " " + quote(self);
  };
  std::cerr << "sweep " << s.name << ": " << n << " tasks (" << s.configs.size() << " configs x "
            << (s.traces.empty() ? 1 : s.traces.size()) << " traces x " << s.seeds.size() << " seeds) in " << dir.string()
            << "\n";
  if (vm.count("dry-run")) {
    std::cout << array_cmd << "\n" << merge_cmd("$ARRAY_JOB_ID") << "\n";
    std::cerr << "dry run: nothing submitted\n";
    return kExitOk;
  }
  if (capture("command -v sbatch >/dev/null 2>&1").first != 0)
    throw RuntimeError("sbatch not found: Slurm is not installed here (--dry-run only writes the job scripts)");
  auto [rc, jid] = capture(array_cmd + " 2>" + quote((dir / "sbatch.err").string()));
  jid = jid.substr(0, jid.find_first_of(";\n"));
  if (rc != 0 || jid.empty() || jid.find_first_not_of("0123456789") != std::string::npos)
    throw RuntimeError("sbatch (job array) failed, exit " + std::to_string(rc) + " (see " + (dir / "sbatch.err").string() + ")");
  std::cerr << "submitted job array " << jid << " (" << n << " tasks)\n";
  auto [mrc, mid] = capture(merge_cmd(jid) + " 2>>" + quote((dir / "sbatch.err").string()));
  mid = mid.substr(0, mid.find_first_of(";\n"));
  {
    std::ofstream j(dir / "jobs.txt");
    j << "array " << jid << "\nmerge " << mid << "\n";
  }
  std::cout << dir.string() << '\n';
  if (vm.count("wait")) {
    if (mrc != 0) {
      std::cerr << "evoalloc sweep: merge job " << mid << " exit " << mrc << "; see " << (dir / "merged/runs.csv").string()
                << " and " << (dir / "merge.out").string() << "\n";
      return kExitFailure;
    }
    std::cerr << "sweep done: " << (dir / "merged").string() << "\n";
    return kExitOk;
  }
  if (mrc != 0 || mid.empty())
    throw RuntimeError("sbatch (merge job) failed, exit " + std::to_string(mrc) + " (see " + (dir / "sbatch.err").string() + ")");
  std::cerr << "submitted merge job " << mid << " (after the array); results: " << (dir / "merged").string() << "\n";
  return kExitOk;
}

}  // namespace evo::cli
