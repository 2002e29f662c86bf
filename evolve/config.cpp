#include "evolve/config.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <functional>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "core/spec.hpp"

namespace evo {

EvalOptions Config::eval_options() const {
  EvalOptions o;
  o.speed_mode = speed_mode;
  o.repeats = static_cast<int>(repeats);
  o.time_limit_s = time_limit_s;
  o.memory_limit = memory_limit;
  o.max_ops = trace_max_ops;
  o.threaded = threaded_replay != "off";
  if (o.threaded) parse_thread_model(threaded_replay, &o.thread_model);
  o.warm_replay = warm_replay;
  o.mixed_threaded_speed = threaded_speed == "mixed";
  o.threaded_window = threaded_window;
  return o;
}

std::vector<std::string> Config::traces() const {
  std::vector<std::string> v{trace};
  v.insert(v.end(), extra_traces.begin(), extra_traces.end());
  return v;
}

EvalOptions search_eval_options(const Config& c, const Trace& trace, std::ostream* progress, std::string_view name) {
  EvalOptions o = c.eval_options();
  if (c.speed_mode != SpeedMode::Measured || c.measure_cutoff <= 0) return o;
  if (o.threaded && trace.threads > 1) return o;  // glibc's sequential replay is no baseline for a threaded one
  const double base = system_speed_ns(trace, c.trace_max_ops, 3, c.warm_replay);
  if (!(base > 0)) return o;  // glibc could not replay it: no cutoff
  o.measure_cutoff_ns = c.measure_cutoff * base;
  if (progress != nullptr)
    *progress << "measured speed: glibc replays " << name << " at " << std::setprecision(3) << base
              << " ns/op; designs slower than " << o.measure_cutoff_ns << " ns/op get one timed replay\n"
              << std::setprecision(6);
  return o;
}

Workloads search_workloads(const Config& c, std::ostream* progress) {
  const std::vector<std::string> paths = c.traces();
  return load_workloads(paths, [&](const std::string& path, const Trace& t) {
    return search_eval_options(c, t, progress, paths.size() > 1 ? std::filesystem::path(path).filename().string() : "the trace");
  });
}

namespace {

// Location of a node: "FILE:LINE" (yaml-cpp lines are 0-based).
std::string where(const std::string& source, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.is_null() || source == "command line") return source;
  return source + ":" + std::to_string(m.line + 1);
}

std::string show(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

[[noreturn]] void bad(const std::string& loc, std::string_view key, std::string_view expected, const YAML::Node& v) {
  throw ConfigError(loc + ": key '" + std::string(key) + "': expected " + std::string(expected) + ", got '" +
                    show(v) + "'");
}

using Setter = std::function<void(Config&, const YAML::Node&, const std::string& loc, std::string_view key)>;

std::uint64_t get_uint(const YAML::Node& v, const std::string& loc, std::string_view key, std::uint64_t lo,
                       std::uint64_t hi) {
  std::string expected = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  if (!v.IsScalar()) bad(loc, key, expected, v);
  const std::string& s = v.Scalar();
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) bad(loc, key, expected, v);
  std::uint64_t x = 0;
  try {
    std::size_t pos = 0;
    x = std::stoull(s, &pos);
  } catch (const std::exception&) {
    bad(loc, key, expected, v);
  }
  if (x < lo || x > hi) bad(loc, key, expected, v);
  return x;
}

double get_double(const YAML::Node& v, const std::string& loc, std::string_view key, double lo, double hi) {
  std::ostringstream e;
  e << "a number in [" << lo << ", " << hi << "]";
  if (!v.IsScalar()) bad(loc, key, e.str(), v);
  double x = 0;
  try {
    std::size_t pos = 0;
    x = std::stod(v.Scalar(), &pos);
    if (pos != v.Scalar().size()) bad(loc, key, e.str(), v);
  } catch (const std::invalid_argument&) {
    bad(loc, key, e.str(), v);
  } catch (const std::out_of_range&) {
    bad(loc, key, e.str(), v);
  }
  if (!std::isfinite(x) || x < lo || x > hi) bad(loc, key, e.str(), v);
  return x;
}

bool get_bool(const YAML::Node& v, const std::string& loc, std::string_view key) {
  if (v.IsScalar()) {
    const std::string& s = v.Scalar();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  bad(loc, key, "true or false", v);
}

std::string get_string(const YAML::Node& v, const std::string& loc, std::string_view key) {
  if (!v.IsScalar() || v.Scalar().empty()) bad(loc, key, "a non-empty string", v);
  return v.Scalar();
}

constexpr std::uint64_t kMaxU = UINT64_MAX;

const std::vector<std::pair<std::string_view, Setter>>& setters() {
  static const std::vector<std::pair<std::string_view, Setter>> table = {
      {"name", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) {
         c.name = get_string(v, l, k);
         if (c.name.find_first_of("/\\") != std::string::npos) bad(l, k, "a name without '/'", v);
       }},
      {"trace", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.trace = get_string(v, l, k); }},
      {"extra_traces", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) {
         if (!v.IsSequence()) bad(l, k, "a list of trace files, e.g. [traces/a.trace, traces/b.trace]", v);
         c.extra_traces.clear();
         for (const auto& x : v) c.extra_traces.push_back(get_string(x, l, k));
       }},
      {"trace_max_ops", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) {
         c.trace_max_ops = get_uint(v, l, k, 0, kMaxU);
       }},
      {"grammar", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.grammar = get_string(v, l, k); }},
      {"speed_mode", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) {
         if (!v.IsScalar() || !parse_speed_mode(v.Scalar(), c.speed_mode)) bad(l, k, "modeled or measured", v);
       }},
      {"population", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.population = get_uint(v, l, k, 2, 1000000); }},
      {"offspring", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.offspring = get_uint(v, l, k, 0, 1000000); }},
      {"generations", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.generations = get_uint(v, l, k, 0, 1000000); }},
      {"crossover_rate", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.crossover_rate = get_double(v, l, k, 0, 1); }},
      {"mutation_rate", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.mutation_rate = get_double(v, l, k, 0, 1); }},
      {"codon_max", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.codon_max = get_uint(v, l, k, 2, UINT32_MAX); }},
      {"max_wraps", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.max_wraps = get_uint(v, l, k, 0, 100); }},
      {"max_depth", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.max_depth = get_uint(v, l, k, 1, 10000); }},
      {"init_max_depth", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.init_max_depth = get_uint(v, l, k, 1, 10000); }},
      {"duplicate_retries", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.duplicate_retries = get_uint(v, l, k, 0, 1000); }},
      {"seed", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.seed = get_uint(v, l, k, 0, kMaxU); }},
      {"threads", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.threads = get_uint(v, l, k, 0, 1024); }},
      {"time_limit_s", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.time_limit_s = get_double(v, l, k, 0, 1e9); }},
      {"memory_limit", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) {
         std::uint64_t x = 0;
         if (!v.IsScalar() || !parse_size(v.Scalar(), x)) bad(l, k, "a size in bytes (e.g. 512M, 2G; 0 = none)", v);
         c.memory_limit = x;
       }},
      {"repeats", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.repeats = get_uint(v, l, k, 1, 1000); }},
      {"threaded_replay", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) {
         ThreadModel m;
         if (!v.IsScalar() || (v.Scalar() != "off" && !parse_thread_model(v.Scalar(), &m)))
           bad(l, k, "off, lock, tlh or tcache", v);
         c.threaded_replay = v.Scalar();
       }},
      {"threaded_speed", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) {
         if (!v.IsScalar() || (v.Scalar() != "wall" && v.Scalar() != "mixed")) bad(l, k, "wall or mixed", v);
         c.threaded_speed = v.Scalar();
       }},
      {"threaded_window", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) {
         c.threaded_window = get_uint(v, l, k, 0, kMaxU);
       }},
      {"warm_replay", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.warm_replay = get_bool(v, l, k); }},
      {"measure_cutoff", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) {
         c.measure_cutoff = get_double(v, l, k, 0, 1e6);
         if (c.measure_cutoff > 0 && c.measure_cutoff < 1) bad(l, k, "0 (off) or a factor >= 1", v);
       }},
      {"remeasure_front", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.remeasure_front = get_bool(v, l, k); }},
      {"thread_siblings", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.thread_siblings = get_bool(v, l, k); }},
      {"hv_reference", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) {
         const char* expected = "auto or a list of 3 positive numbers [speed, fragmentation, quality]";
         if (v.IsScalar() && v.Scalar() == "auto") {
           c.hv_reference.reset();
           return;
         }
         if (!v.IsSequence() || v.size() != 3) bad(l, k, expected, v);
         std::array<double, 3> r{};
         for (std::size_t i = 0; i < 3; ++i) {
           r[i] = get_double(v[i], l, k, 0, 1e300);
           if (!(r[i] > 0)) bad(l, k, expected, v);
         }
         c.hv_reference = r;
       }},
      {"out", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.out = get_string(v, l, k); }},
      {"exhaustive", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.exhaustive = get_bool(v, l, k); }},
      {"exhaustive_limit", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.exhaustive_limit = get_uint(v, l, k, 1, kMaxU); }},
      {"exhaustive_range_values", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) { c.exhaustive_range_values = get_uint(v, l, k, 0, 1000000); }},
      {"islands", [](Config& c, const YAML::Node& v, const std::string& l, std::string_view k) {
         const char* expected = "a mapping with enabled, interval, migrants, topology";
         if (!v.IsMap()) bad(l, k, expected, v);
         for (const auto& kv : v) {
           const std::string sub = kv.first.IsScalar() ? kv.first.Scalar() : "";
           const std::string key = std::string(k) + "." + sub;
           const std::string loc = l == "command line" ? l : where(c.source, kv.first);
           if (sub == "enabled") c.islands.enabled = get_bool(kv.second, loc, key);
           else if (sub == "interval") c.islands.interval = get_uint(kv.second, loc, key, 1, 1000000);
           else if (sub == "migrants") c.islands.migrants = get_uint(kv.second, loc, key, 1, 1000000);
           else if (sub == "topology") {
             c.islands.topology = get_string(kv.second, loc, key);
             if (c.islands.topology != "ring" && c.islands.topology != "full") bad(loc, key, "ring or full", kv.second);
           } else {
             bad(loc, key, "one of enabled, interval, migrants, topology", kv.first);
           }
         }
       }},
  };
  return table;
}

std::string known_keys() {
  std::string s;
  for (const auto& [k, f] : setters()) {
    if (!s.empty()) s += ", ";
    s += k;
  }
  return s;
}

void set_key(Config& c, std::string_view key, const YAML::Node& value, const std::string& loc) {
  for (const auto& [k, f] : setters()) {
    if (k == key) {
      f(c, value, loc, key);
      return;
    }
  }
  throw ConfigError(loc + ": unknown key '" + std::string(key) + "', expected one of: " + known_keys());
}

}  // namespace

Config parse_config(std::string_view yaml, const std::string& source, Config base) {
  Config c = std::move(base);
  c.source = source;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  if (root.IsNull()) return c;
  if (!root.IsMap()) throw ConfigError(where(source, root) + ": expected a mapping of key: value");
  std::map<std::string, std::string> seen;  // key -> where it was first set
  for (const auto& kv : root) {
    const std::string loc = where(source, kv.first);
    if (!kv.first.IsScalar()) throw ConfigError(loc + ": expected a plain key");
    // yaml-cpp keeps both entries of a repeated key; one of them would be ignored silently.
    if (auto [it, fresh] = seen.emplace(kv.first.Scalar(), loc); !fresh)
      throw ConfigError(loc + ": duplicate key '" + kv.first.Scalar() + "' (first set at " + it->second + ")");
    set_key(c, kv.first.Scalar(), kv.second, loc);
  }
  return c;
}

Config load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in || std::filesystem::is_directory(path)) throw ConfigError(path + ": cannot read config file");
  std::ostringstream ss;
  ss << in.rdbuf();
  Config base;
  base.name = std::filesystem::path(path).stem().string();
  return parse_config(ss.str(), path, base);
}

void apply_override(Config& c, std::string_view key, std::string_view value) {
  YAML::Node v;
  try {
    v = YAML::Load(std::string(value));
  } catch (const YAML::Exception&) {
    v = YAML::Node(std::string(value));
  }
  if (v.IsNull()) v = YAML::Node(std::string(value));
  set_key(c, key, v, "command line");
}

std::string config_to_yaml(const Config& c) {
  std::ostringstream o;
  o.precision(17);
  o << "# evoalloc effective run configuration (defaults <- " << c.source << " <- command line)\n";
  o << "name: " << c.name << "\n";
  o << "trace: \"" << c.trace << "\"\n";
  o << "extra_traces: [";
  for (std::size_t i = 0; i < c.extra_traces.size(); ++i) o << (i ? ", " : "") << '"' << c.extra_traces[i] << '"';
  o << "]\n";
  o << "trace_max_ops: " << c.trace_max_ops << "\n";
  o << "grammar: \"" << c.grammar << "\"\n";
  o << "speed_mode: " << speed_mode_name(c.speed_mode) << "\n";
  o << "population: " << c.population << "\n";
  o << "offspring: " << c.offspring << "\n";
  o << "generations: " << c.generations << "\n";
  o << "crossover_rate: " << c.crossover_rate << "\n";
  o << "mutation_rate: " << c.mutation_rate << "\n";
  o << "codon_max: " << c.codon_max << "\n";
  o << "max_wraps: " << c.max_wraps << "\n";
  o << "max_depth: " << c.max_depth << "\n";
  o << "init_max_depth: " << c.init_max_depth << "\n";
  o << "duplicate_retries: " << c.duplicate_retries << "\n";
  o << "seed: " << c.seed << "\n";
  o << "threads: " << c.threads << "\n";
  o << "time_limit_s: " << c.time_limit_s << "\n";
  o << "memory_limit: " << c.memory_limit << "\n";
  o << "repeats: " << c.repeats << "\n";
  o << "measure_cutoff: " << c.measure_cutoff << "\n";
  o << "threaded_replay: " << c.threaded_replay << "\n";
  o << "threaded_speed: " << c.threaded_speed << "\n";
  o << "threaded_window: " << c.threaded_window << "\n";
  o << "warm_replay: " << (c.warm_replay ? "true" : "false") << "\n";
  o << "remeasure_front: " << (c.remeasure_front ? "true" : "false") << "\n";
  o << "thread_siblings: " << (c.thread_siblings ? "true" : "false") << "\n";
  if (c.hv_reference)
    o << "hv_reference: [" << (*c.hv_reference)[0] << ", " << (*c.hv_reference)[1] << ", " << (*c.hv_reference)[2]
      << "]\n";
  else
    o << "hv_reference: auto\n";
  o << "out: \"" << c.out << "\"\n";
  o << "exhaustive: " << (c.exhaustive ? "true" : "false") << "\n";
  o << "exhaustive_limit: " << c.exhaustive_limit << "\n";
  o << "exhaustive_range_values: " << c.exhaustive_range_values << "\n";
  if (c.islands.enabled)
    o << "islands: {enabled: true, interval: " << c.islands.interval << ", migrants: " << c.islands.migrants
      << ", topology: " << c.islands.topology << "}\n";
  return o.str();
}

}  // namespace evo
