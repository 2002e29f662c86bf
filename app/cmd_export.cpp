// app/cmd_export.cpp — `evoalloc export`: a design from a run (or a sentence) as a
// compiled drop-in malloc library. See core/export/exporter.hpp for what is written.
//
//   evoalloc export (--run RUN_DIR --pick fastest|leanest|best-quality|knee|N | --allocator TEXT)
//                   --name NAME --out DIR [--trace TRACE] [--threads lock|tlh] [--no-build] [--jobs J]
// Picks from RUN_DIR/front.csv (rows that are valid and feasible): fastest = least
// speed, leanest = least fragmentation, best-quality = least quality (locality
// misses), knee = least Euclidean distance to the ideal point after scaling each
// objective to [0,1] over the front, N = the N-th row of front.csv (0-based).
// Fitted class schemes need the trace: --trace, else the `trace:` of
// RUN_DIR/config.yaml (relative paths: from the current folder, then the source tree).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

#include "app/cli.hpp"
#include "core/export/exporter.hpp"
#include "evaluate/trace.hpp"

namespace evo::cli {
namespace {

/// Splits one CSV line (fields may be quoted with "", as evolve writes sentences).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> f(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') f.back() += '"', ++i;
      else if (c == '"') quoted = false;
      else f.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      f.emplace_back();
    } else if (c != '\r') {
      f.back() += c;
    }
  }
  return f;
}

struct FrontRow {
  std::vector<std::string> fields;
  double obj[3];
};

/// The chosen row of RUN_DIR/front.csv; fills header.
FrontRow pick_from_front(const std::string& run, const std::string& pick, std::vector<std::string>& header) {
  const std::string path = (std::filesystem::path(run) / "front.csv").string();
  std::ifstream in(path);
  if (!in) throw RuntimeError(path + ": cannot open (is --run an evolve run folder?)");
  std::string line;
  if (!std::getline(in, line)) throw RuntimeError(path + ":1: empty file, expected a CSV header");
  header = csv_fields(line);
  auto col = [&](const char* name) -> std::size_t {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    throw RuntimeError(path + ":1: no column '" + name + "' in the header");
  };
  const std::size_t c_sent = col("sentence"), c_valid = col("valid"), c_feas = col("feasible");
  const std::size_t c_obj[3] = {col("speed"), col("fragmentation"), col("quality")};
  std::vector<FrontRow> rows;
  std::vector<std::size_t> index_of;  // front.csv row index of each candidate
  std::size_t lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    FrontRow r;
    r.fields = csv_fields(line);
    if (r.fields.size() != header.size())
      throw RuntimeError(path + ":" + std::to_string(lineno) + ": " + std::to_string(r.fields.size()) +
                         " fields, expected " + std::to_string(header.size()));
    for (int k = 0; k < 3; ++k) {
      try {
        r.obj[k] = std::stod(r.fields[c_obj[k]]);
      } catch (const std::exception&) {
        throw RuntimeError(path + ":" + std::to_string(lineno) + ": column " + header[c_obj[k]] + " is not a number");
      }
    }
    index_of.push_back(lineno - 2);
    if (r.fields[c_valid] == "1" && r.fields[c_feas] == "1") rows.push_back(std::move(r));
    else rows.push_back(FrontRow{{}, {0, 0, 0}});  // placeholder: keeps N aligned with the file
  }
  std::vector<std::size_t> ok;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (!rows[i].fields.empty()) ok.push_back(i);
  if (ok.empty()) throw RuntimeError(path + ": no valid, feasible design on the front");
  (void)c_sent;
  if (!pick.empty() && std::isdigit(static_cast<unsigned char>(pick[0]))) {
    std::size_t n = 0;
    try {
      n = std::stoul(pick);
    } catch (const std::exception&) {
      throw UsageError("--pick " + pick + ": expected fastest|leanest|best-quality|knee|N");
    }
    if (n >= rows.size()) throw UsageError("--pick " + pick + ": front.csv has " + std::to_string(rows.size()) + " rows");
    if (rows[n].fields.empty()) throw RuntimeError("--pick " + pick + ": that row is not valid and feasible");
    return rows[n];
  }
  int k = pick == "fastest" ? 0 : pick == "leanest" ? 1 : pick == "best-quality" ? 2 : pick == "knee" ? 3 : -1;
  if (k < 0) throw UsageError("--pick " + pick + ": expected fastest|leanest|best-quality|knee|N");
  std::size_t best = ok[0];
  if (k < 3) {
    for (std::size_t i : ok)
      if (rows[i].obj[k] < rows[best].obj[k]) best = i;
    return rows[best];
  }
  double lo[3], hi[3];
  for (int j = 0; j < 3; ++j) {
    lo[j] = std::numeric_limits<double>::infinity();
    hi[j] = -lo[j];
    for (std::size_t i : ok) lo[j] = std::min(lo[j], rows[i].obj[j]), hi[j] = std::max(hi[j], rows[i].obj[j]);
  }
  double best_d = std::numeric_limits<double>::infinity();
  for (std::size_t i : ok) {
    double d = 0;
    for (int j = 0; j < 3; ++j) {
      double x = hi[j] > lo[j] ? (rows[i].obj[j] - lo[j]) / (hi[j] - lo[j]) : 0;
      d += x * x;
    }
    if (d < best_d) best_d = d, best = i;
  }
  return rows[best];
}

/// The `trace:` value of RUN_DIR/config.yaml ("" if absent).
std::string run_trace(const std::string& run) {
  std::ifstream in(std::filesystem::path(run) / "config.yaml");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("trace:")) continue;
    std::string v = line.substr(6);
    while (!v.empty() && (v.front() == ' ' || v.front() == '"')) v.erase(v.begin());
    while (!v.empty() && (v.back() == ' ' || v.back() == '"' || v.back() == '\r')) v.pop_back();
    return v;
  }
  return {};
}

}  // namespace

int cmd_export(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string run, pick, allocator, name, out, trace, threads = "lock";
  int jobs = 2;
  desc.add_options()("run", po::value(&run), "an evolve run folder (front.csv, config.yaml)")(
      "pick", po::value(&pick), "fastest | leanest | best-quality | knee | N (row of front.csv, 0-based)")(
      "allocator,a", po::value(&allocator), "export this design instead (canonical spec text)")(
      "name", po::value(&name)->required(), "library name: DIR/libNAME.so, DIR/libNAME.a")(
      "out", po::value(&out)->required(), "output folder (created; generated files overwritten)")(
      "trace", po::value(&trace), "trace for fitted class schemes (default: the run's config trace)")(
      "threads", po::value(&threads)->default_value("lock"), "thread model: lock (one global lock around one\n"
      "instance; the default) | tlh (thread-local heaps: one instance per thread, pooled when\n"
      "threads exit, a free from another thread goes to the owner heap under its lock)")(
      "no-build", "write the C++ and CMake project only")(
      "jobs,j", po::value(&jobs)->default_value(2), "parallel compile jobs");
  po::positional_options_description pos;
  po::variables_map vm;
  if (!parse(args, desc, pos, vm,
             "evoalloc export (--run RUN_DIR --pick fastest|leanest|best-quality|knee|N | --allocator TEXT) "
             "--name NAME --out DIR [--trace TRACE] [--threads lock|tlh] [--no-build]",
             "Writes the design as readable C++ (the very templates that were evaluated) with a CMake\n"
             "project, and builds DIR/libNAME.so (LD_PRELOAD it) and DIR/libNAME.a. EVOALLOC_STATS=1\n"
             "makes the library print footprint, peak and counts at exit."))
    return kExitOk;
  if (vm.count("run") == vm.count("allocator")) throw UsageError("give exactly one of --run (with --pick) or --allocator");
  if (vm.count("run") && !vm.count("pick")) throw UsageError("--run needs --pick fastest|leanest|best-quality|knee|N");
  if (vm.count("pick") && !vm.count("run")) throw UsageError("--pick needs --run");
  if (!valid_export_name(name))
    throw UsageError("--name '" + name + "' must match [A-Za-z_][A-Za-z0-9_]* (at most 64 chars) and not be a system library's name (c, m, dl, pthread, ...)");
  if (threads != "lock" && threads != "tlh")
    throw UsageError("--threads " + threads + ": expected lock (one global lock) or tlh (thread-local heaps)");
  if (jobs < 1) throw UsageError("--jobs must be >= 1");

  ExportRequest req;
  req.name = name;
  req.out_dir = out;
  req.source_dir = source_dir();
  req.threads = threads;
  std::string sentence = allocator;
  if (!run.empty()) {
    std::vector<std::string> header;
    FrontRow row = pick_from_front(run, pick, header);
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == "sentence") sentence = row.fields[i];
      else if (header[i] != "genome") req.metrics.emplace_back(header[i], row.fields[i]);
    }
    req.origin = run + " --pick " + pick;
    if (trace.empty()) trace = run_trace(run);
  } else {
    req.origin = "--allocator";
  }
  std::string err;
  if (!parse_spec(sentence, req.spec, &err)) {
    if (!run.empty()) throw RuntimeError(run + "/front.csv: design '" + sentence + "': " + err);
    throw UsageError("--allocator: " + err);
  }
  const std::string* cls = req.spec.get("classes");
  if (cls != nullptr && cls->starts_with("fitted:")) {
    if (trace.empty()) throw UsageError("classes=" + *cls + " is fitted to a trace: give --trace");
    std::string path = trace;
    if (!std::filesystem::exists(path) && std::filesystem::path(path).is_relative())
      path = (std::filesystem::path(req.source_dir) / trace).string();
    Trace t = read_trace(path);
    req.histogram = size_histogram(t);
    if (req.histogram.empty())
      throw RuntimeError(path + ": the trace has no allocations, so classes=" + *cls + " has nothing to fit");
  }
  if (!write_export(req, &err)) throw RuntimeError(err);
  std::cout << "wrote " << (std::filesystem::path(out) / "design.hpp").string() << " for: " << req.spec.text() << "\n";
  if (vm.count("no-build")) return kExitOk;
  if (!build_export(out, jobs, &err)) throw RuntimeError(err);
  std::cout << "built " << (std::filesystem::path(out) / ("lib" + name + ".so")).string() << " and lib" << name
            << ".a\n";
  return kExitOk;
}

}  // namespace evo::cli
