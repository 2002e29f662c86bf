// Tests of evolve/config: defaults <- YAML <- command line, errors naming key and line.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sstream>

#include "evaluate/trace.hpp"
#include "evolve/config.hpp"

using namespace evo;

namespace {
std::string error_of(const std::string& yaml) {
  try {
    parse_config(yaml, "cfg.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

/// A config's measured speed of `sentence` on the first `max_ops` ops of one of the
/// shipped traces (its own size histogram); *err says why when it is NaN.
struct Measure {
  Trace trace;
  std::vector<SizeCount> hist;
  EvalOptions opt;
  Measure(const char* name, const Config& c, std::uint64_t max_ops)
      : trace(read_trace(std::string(EVOALLOC_SOURCE_DIR) + "/traces/" + name)),
        hist(size_histogram(trace)),
        opt(c.eval_options()) {
    opt.max_ops = max_ops;
  }
  double operator()(const std::string& sentence, std::string* err) const {
    err->clear();
    return measure_speed_ns(sentence, trace, hist, opt, err);
  }
};
}  // namespace

TEST_CASE("defaults, then the file, then the command line") {
  Config d;
  CHECK(d.population == 40);
  CHECK(d.speed_mode == SpeedMode::Modeled);
  CHECK_FALSE(d.hv_reference.has_value());
  Config c = parse_config("population: 12\nseed: 99\nspeed_mode: measured\nmemory_limit: 512M\nhv_reference: [10, 2, 30]\n",
                          "cfg.yaml");
  CHECK(c.population == 12);
  CHECK(c.seed == 99);
  CHECK(c.speed_mode == SpeedMode::Measured);
  CHECK(c.memory_limit == 512ull << 20);
  REQUIRE(c.hv_reference.has_value());
  CHECK((*c.hv_reference)[2] == 30.0);
  CHECK(c.generations == 20);  // default kept
  CHECK(c.lambda() == 12);
  apply_override(c, "seed", "5");
  apply_override(c, "hv_reference", "auto");
  apply_override(c, "trace", "/tmp/x y.trace");
  CHECK(c.seed == 5);
  CHECK_FALSE(c.hv_reference.has_value());
  CHECK(c.trace == "/tmp/x y.trace");
  EvalOptions eo = c.eval_options();
  CHECK(eo.speed_mode == SpeedMode::Measured);
  CHECK(eo.memory_limit == 512ull << 20);
}

TEST_CASE("unknown key: names the key and the line") {
  std::string e = error_of("population: 10\n\npopulaton: 12\n");
  CHECK(e.find("cfg.yaml:3") == 0);
  CHECK(e.find("unknown key 'populaton'") != std::string::npos);
}

TEST_CASE("bad values: name the key, the line and what is expected") {
  std::string e = error_of("seed: 1\nmutation_rate: 1.5\n");
  CHECK(e.find("cfg.yaml:2: key 'mutation_rate': expected a number in [0, 1], got '1.5'") == 0);
  e = error_of("population: -3\n");
  CHECK(e.find("cfg.yaml:1: key 'population'") == 0);
  e = error_of("population: 1\n");
  CHECK(e.find("expected an integer in [2,") != std::string::npos);
  e = error_of("speed_mode: fastest\n");
  CHECK(e.find("key 'speed_mode': expected modeled or measured") != std::string::npos);
  e = error_of("hv_reference: [1, 2]\n");
  CHECK(e.find("key 'hv_reference'") != std::string::npos);
  e = error_of("remeasure_front: maybe\n");
  CHECK(e.find("expected true or false") != std::string::npos);
  e = error_of("memory_limit: lots\n");
  CHECK(e.find("key 'memory_limit'") != std::string::npos);
  e = error_of("generations: [1]\n");
  CHECK(e.find("key 'generations'") != std::string::npos);
  e = error_of("- a\n- b\n");
  CHECK(e.find("expected a mapping") != std::string::npos);
  e = error_of("population: [1\n");
  CHECK(e.find("YAML syntax error") != std::string::npos);
  Config c;
  CHECK_THROWS_AS(apply_override(c, "generations", "many"), ConfigError);
  try {
    apply_override(c, "generations", "many");
  } catch (const ConfigError& x) {
    CHECK(std::string(x.what()).find("command line: key 'generations'") == 0);
  }
}

TEST_CASE("measure_cutoff: a factor of glibc's replay speed, set only for measured speed") {
  Config d;
  CHECK(d.measure_cutoff == 3);
  CHECK(error_of("measure_cutoff: 0.5\n").find("cfg.yaml:1: key 'measure_cutoff': expected 0 (off) or a factor >= 1") == 0);
  CHECK(error_of("measure_cutoff: -1\n").find("key 'measure_cutoff'") != std::string::npos);
  Config c = parse_config("measure_cutoff: 0\n", "cfg.yaml");
  CHECK(c.measure_cutoff == 0);
  CHECK(parse_config(config_to_yaml(parse_config("measure_cutoff: 2.5\n", "cfg.yaml")), "back").measure_cutoff == 2.5);

  const std::string src = EVOALLOC_SOURCE_DIR;
  ReadOptions ro;
  const Trace t = read_trace(src + "/traces/espresso.trace", ro);
  Config m = parse_config("speed_mode: measured\nmeasure_cutoff: 2\ntrace_max_ops: 200000\n", "cfg.yaml");
  std::ostringstream said;
  const EvalOptions eo = search_eval_options(m, t, &said);
  CHECK(eo.measure_cutoff_ns > 0);
  CHECK(said.str().find("glibc replays the trace at") != std::string::npos);
  // The cutoff is twice glibc's speed: glibc itself is well under three times it.
  const double glibc = system_speed_ns(t, 200000, 3);
  CHECK(glibc > 0);
  CHECK(eo.measure_cutoff_ns < 3 * 2 * glibc);
  CHECK(eo.measure_cutoff_ns > 2 * glibc / 3);
  // Off for modeled speed and for measure_cutoff 0.
  CHECK(search_eval_options(parse_config("speed_mode: modeled\n", "c"), t, nullptr).measure_cutoff_ns == 0);
  CHECK(search_eval_options(parse_config("speed_mode: measured\nmeasure_cutoff: 0\n", "c"), t, nullptr).measure_cutoff_ns ==
        0);
  // A design far slower than the cutoff is still scored (by its warm-up replay).
  EvalOptions tight = eo;
  tight.measure_cutoff_ns = 1e-3;
  tight.max_ops = 50000;
  const auto hist = size_histogram(t);
  const double ns = measure_speed_ns("minimal align=16 source=region harden=off", t, hist, tight);
  CHECK(ns > tight.measure_cutoff_ns);
}

TEST_CASE("threaded_replay: the thread model of measured speed on a multi-threaded trace") {
  CHECK(Config{}.threaded_replay == "off");
  CHECK_FALSE(Config{}.eval_options().threaded);
  Config c = parse_config("speed_mode: measured\nthreaded_replay: tlh\ntrace_max_ops: 30000\n", "cfg.yaml");
  CHECK(c.eval_options().threaded);
  CHECK(c.eval_options().thread_model == ThreadModel::Tlh);
  CHECK(parse_config(config_to_yaml(c), "back").threaded_replay == "tlh");
  CHECK(error_of("threaded_replay: yes\n").find("cfg.yaml:1: key 'threaded_replay': expected off, lock, tlh or tcache") == 0);
  // No measure cutoff for a threaded trace (glibc's sequential replay is no baseline).
  const std::string src = EVOALLOC_SOURCE_DIR;
  const Trace py = read_trace(src + "/traces/pyqueue.trace");
  REQUIRE(py.threads > 1);
  const EvalOptions eo = search_eval_options(c, py, nullptr);
  CHECK(eo.measure_cutoff_ns == 0);
  const auto hist = size_histogram(py);
  for (ThreadModel m : {ThreadModel::Lock, ThreadModel::Tlh}) {
    EvalOptions o = eo;
    o.thread_model = m;
    std::string err;
    const double ns = measure_speed_ns("slab slab=64K align=16 source=mmap harden=off front=none retain=256K", py, hist,
                                       o, &err);
    CAPTURE(err);
    CHECK(ns > 0);
  }
  // A design that names its model is measured on threads under it, whatever the run says.
  ThreadModel m = ThreadModel::Lock;
  EvalOptions off = eo;
  off.threaded = false;
  CHECK_FALSE(measured_on_threads("pad", py, off, &m));
  CHECK(measured_on_threads("pad threads=tlh", py, off, &m));
  CHECK(m == ThreadModel::Tlh);
  EvalOptions tlh = eo;  // threaded_replay: tlh
  CHECK(measured_on_threads("pad", py, tlh, &m));
  CHECK(m == ThreadModel::Tlh);
  CHECK(measured_on_threads("pad threads=lock", py, tlh, &m));
  CHECK(m == ThreadModel::Lock);
  // A one-thread trace is never replayed on threads.
  const Trace one = read_trace(src + "/traces/espresso.trace");
  REQUIRE(one.threads <= 1);
  CHECK_FALSE(measured_on_threads("pad threads=tlh", one, tlh, &m));
}

TEST_CASE("threaded_window: the threaded replay's pacing, on by default, 0 turns it off") {
  CHECK(Config{}.threaded_window == kPacingWindow);
  CHECK(Config{}.eval_options().threaded_window == kPacingWindow);
  Config c = parse_config("threaded_window: 0\n", "cfg.yaml");
  CHECK(c.eval_options().threaded_window == 0);
  CHECK(parse_config(config_to_yaml(parse_config("threaded_window: 512\n", "cfg.yaml")), "back").threaded_window == 512);
  CHECK(error_of("threaded_window: lots\n").find("cfg.yaml:1: key 'threaded_window'") == 0);
}

TEST_CASE("threaded_speed: wall, or mixed with the sequential replay's time per op") {
  CHECK(Config{}.threaded_speed == "wall");
  CHECK_FALSE(Config{}.eval_options().mixed_threaded_speed);
  Config c = parse_config("speed_mode: measured\nthreaded_replay: tcache\nthreaded_speed: mixed\ntrace_max_ops: 20000\n",
                          "cfg.yaml");
  CHECK(c.eval_options().mixed_threaded_speed);
  CHECK(parse_config(config_to_yaml(c), "back").threaded_speed == "mixed");
  CHECK(error_of("threaded_speed: fast\n").find("cfg.yaml:1: key 'threaded_speed': expected wall or mixed") == 0);
  const Measure measure("pyqueue.trace", c, 20000);
  std::string err;
  // Both replays run: a design the threaded replay can take under its model ...
  const double ns = measure("slab slab=64K align=16 source=mmap harden=off front=tcache:64:array retain=1M", &err);
  CAPTURE(err);
  CHECK(ns > 0);
  // ... and one it cannot (tcache without a front cache) fails as without mixed.
  CHECK(std::isnan(measure("slab slab=64K align=16 source=mmap harden=off front=none retain=1M", &err)));
  CHECK(err.find("front=tcache") != std::string::npos);
}

TEST_CASE("warm_replay: measured speed times the second pass over the trace on one instance") {
  CHECK_FALSE(Config{}.warm_replay);
  CHECK_FALSE(Config{}.eval_options().warm_replay);
  Config c = parse_config("speed_mode: measured\nwarm_replay: true\n", "cfg.yaml");
  CHECK(c.eval_options().warm_replay);
  CHECK(parse_config(config_to_yaml(c), "back").warm_replay);
  CHECK(error_of("warm_replay: sometimes\n").find("cfg.yaml:1: key 'warm_replay'") == 0);
  // The measurement takes the warm path (evaluate/replay.hpp; tested there) and
  // so does glibc's baseline of the measure cutoff.
  const Measure measure("espresso.trace", c, 50000);
  std::string err;
  const double warm = measure("slab slab=64K align=16 source=mmap harden=off front=none retain=4M", &err);
  CAPTURE(err);
  CHECK(warm > 0);
  CHECK(system_speed_ns(measure.trace, 50000, 1, true) > 0);
}

TEST_CASE("the effective config reads back identically") {
  Config c = parse_config("population: 7\nmutation_rate: 0.123456789\nhv_reference: [0.1, 2.5, 1e6]\nname: x\n",
                          "cfg.yaml");
  c.trace = "/some/where.trace";
  Config back = parse_config(config_to_yaml(c), "effective");
  CHECK(config_to_yaml(back) == config_to_yaml(c).replace(config_to_yaml(c).find("cfg.yaml"), 8, "effective"));
  CHECK(back.mutation_rate == c.mutation_rate);
  CHECK(back.hv_reference == c.hv_reference);
  CHECK(back.trace == c.trace);
}

TEST_CASE("extra_traces: a list of trace files; traces() puts the trace first") {
  Config d;
  CHECK(d.extra_traces.empty());
  CHECK(d.traces() == std::vector<std::string>{d.trace});
  Config c = parse_config("trace: a.trace\nextra_traces: [b.trace, c.trace]\n", "cfg.yaml");
  CHECK(c.traces() == std::vector<std::string>{"a.trace", "b.trace", "c.trace"});
  Config back = parse_config(config_to_yaml(c), "effective");
  CHECK(back.extra_traces == c.extra_traces);
  apply_override(c, "extra_traces", "[d.trace]");
  CHECK(c.extra_traces == std::vector<std::string>{"d.trace"});
  CHECK(error_of("extra_traces: b.trace\n") ==
        "cfg.yaml:1: key 'extra_traces': expected a list of trace files, e.g. [traces/a.trace, traces/b.trace], got "
        "'b.trace'");
  CHECK(error_of("population: 4\nextra_traces: [\"\"]\n").rfind("cfg.yaml:2: key 'extra_traces': expected a non-empty string", 0) == 0);
}

TEST_CASE("load_config: name from the file stem, missing file is an error") {
  auto dir = std::filesystem::temp_directory_path() / "evoalloc_test_config";
  std::filesystem::create_directories(dir);
  auto path = (dir / "tiny.yaml").string();
  std::ofstream(path) << "population: 4\n";
  Config c = load_config(path);
  CHECK(c.name == "tiny");
  CHECK(c.population == 4);
  CHECK_THROWS_AS(load_config((dir / "absent.yaml").string()), ConfigError);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the shipped configs load") {
  const std::string src = EVOALLOC_SOURCE_DIR;
  Config s = load_config(src + "/configs/smoke.yaml");
  CHECK(s.name == "smoke");
  CHECK(s.trace_max_ops > 0);
  if (std::filesystem::exists(src + "/configs/espresso.yaml")) {
    Config e = load_config(src + "/configs/espresso.yaml");
    CHECK(e.name == "espresso");
  }
}
