// Tests of the recorder (evaluate/recorder/, `evoalloc record`) on real Debian
// programs: sort, perl, python3 with threads, programs that fork, _exit and abort,
// and the op sequence compared with glibc's own mtrace log of the same run.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "evaluate/import/mtrace.hpp"
#include "evaluate/record.hpp"
#include "evaluate/trace.hpp"
#include "tests/common/cli_helpers.hpp"

using namespace evo;
namespace fs = std::filesystem;

namespace {

const std::string kBin = std::string(EVOALLOC_BINARY_DIR) + "/app/evoalloc";
const std::string kRecorder = std::string(EVOALLOC_BINARY_DIR) + "/app/libevoalloc_recorder.so";
const std::string kHelper = std::string(EVOALLOC_BINARY_DIR) + "/tests/evaluate/libevoalloc_test_mtrace_helper.so";
const std::string kDebug = "/lib/x86_64-linux-gnu/libc_malloc_debug.so.0";

using test::quote;

fs::path scratch(const std::string& name) { return test::scratch_file("record", name); }

/// Runs a shell command; returns its exit status; stdout+stderr go to *out.
int run(const std::string& cmd, std::string* out = nullptr) { return test::run_logged(cmd, scratch("cmd.log"), out); }

/// `evoalloc record -o OUT [flags] -- program...`; returns the trace.
Trace record(const std::string& name, const std::string& program, const std::string& flags = "",
             std::string* out = nullptr) {
  fs::path t = scratch(name);
  std::string log;
  int rc = run(quote(kBin) + " record -o " + quote(t.string()) + " " + flags + " -- " + program, &log);
  INFO(log);
  REQUIRE(rc == 0);
  if (out != nullptr) *out = log;
  return read_trace(t.string());
}

bool have(const std::string& prog) { return run("command -v " + prog) == 0; }

fs::path sort_input() {
  fs::path in = scratch("numbers.txt");
  if (!fs::exists(in)) {
    std::ofstream o(in);
    std::uint64_t x = 7;
    for (int i = 0; i < 3000; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      o << (x >> 40) << " line " << i << '\n';
    }
  }
  return in;
}

/// The op sequence as glibc's mtrace can see it: calloc and the aligned kinds are
/// written as '+' (malloc), realloc(NULL, n) as '+', realloc(p, 0) as '-'.
struct Norm {
  char kind;
  std::uint32_t object;
  std::uint64_t size;
  bool operator==(const Norm&) const = default;
};
std::vector<Norm> normalise(const Trace& t, std::vector<bool>* live_out = nullptr) {
  std::vector<Norm> out;
  std::vector<bool> live(t.objects, false);
  for (std::size_t i = 0; i < t.ops.size(); ++i) {
    const Op& op = t.ops[i];
    const std::uint64_t size = t.size_of(i);
    if (op.kind == OpKind::Free || (op.kind == OpKind::Realloc && size == 0 && live[op.object])) {
      out.push_back({'-', op.object, 0});
      live[op.object] = false;
    } else if (op.kind == OpKind::Realloc && live[op.object]) {
      out.push_back({'<', op.object, size});
    } else {
      out.push_back({'+', op.object, size});
      live[op.object] = true;
    }
  }
  if (live_out != nullptr) *live_out = live;
  return out;
}

}  // namespace

TEST_CASE("record: sort (single thread, real Debian program)") {
  REQUIRE(fs::exists(kBin));
  REQUIRE(fs::exists(kRecorder));
  fs::path in = sort_input();
  fs::path sorted = scratch("sorted.txt");
  Trace t = record("sort.trace", "sort -n " + quote(in.string()) + " -o " + quote(sorted.string()));
  CHECK(t.ops.size() > 100);
  CHECK(t.threads == 1);
  CHECK(t.meta_value("source") == "record");
  CHECK(t.meta_value("program").find("sort -n") == 0);
  CHECK(t.counter("unmatched_frees") == 0);
  CHECK(t.counter("address_reuse") == 0);
  // The program still did its job under the recorder.
  std::string a;
  CHECK(run("sort -n " + quote(in.string()), &a) == 0);
  const std::string b = test::slurp(sorted);
  CHECK(a == b);
  // Call sites resolve to modules (the maps snapshot at exit).
  bool libc = false;
  for (const CallSite& cs : t.sites) libc |= cs.module.find("libc.so") != std::string::npos;
  CHECK(libc);
  // The program's standard output is its own: record reports on stderr, so
  // `evoalloc record -o T -- sort FILE > sorted` gives the same bytes as sort alone.
  fs::path piped = scratch("sorted-stdout.txt");
  fs::path t2 = scratch("sort2.trace");
  CHECK(std::system((quote(kBin) + " record -o " + quote(t2.string()) + " -- sort -n " + quote(in.string()) + " >" +
                     quote(piped.string()) + " 2>/dev/null")
                        .c_str()) == 0);
  const std::string c = test::slurp(piped);
  CHECK(c == a);
}

TEST_CASE("record: perl, with _exit and abort cutting the run short") {
  if (!have("perl")) return;
  Trace t = record("perl.trace", "perl -e " + quote("my @a; push @a, 'x' x $_ for 1..5000; print scalar(@a), qq(\\n);"));
  CHECK(t.ops.size() > 5000);
  std::uint64_t big = 0;
  for (std::size_t i = 0; i < t.ops.size(); ++i) big += t.size_of(i) >= 4000;
  CHECK(big > 0);

  // POSIX::_exit skips atexit handlers and destructors: the interposed _exit flushes.
  std::string log;
  Trace e = record("perl_exit.trace",
                   "perl -MPOSIX -e " + quote("my @a; push @a, 'y' x $_ for 1..5000; POSIX::_exit(3);"), "", &log);
  CHECK(e.ops.size() > 5000);
  CHECK(log.find("exit status 3") != std::string::npos);

  // abort: what was still buffered is lost, the trace stays readable up to the cut.
  Trace ab = record("perl_abort.trace",
                    "perl -MPOSIX -e " + quote("my @a; push @a, 'z' x $_ for 1..60000; POSIX::abort();"), "", &log);
  CHECK(log.find("killed by signal 6") != std::string::npos);
  CHECK(log.find("did not reach exit") != std::string::npos);
  CHECK(ab.ops.size() > 8192);  // at least one whole buffer reached the file
}

TEST_CASE("record: python3 with threads (per-thread buffers merged in order)") {
  if (!fs::exists("/usr/bin/python3")) return;
  const std::string script =
      "import threading\n"
      "def work(n):\n"
      "    keep = []\n"
      "    for i in range(20000):\n"
      "        keep.append(bytearray(600 + (i * n) % 3000))\n"
      "        if len(keep) > 50: keep.pop(0)\n"
      "ts = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]\n"
      "[t.start() for t in ts]\n"
      "[t.join() for t in ts]\n";
  fs::path py = scratch("threads.py");
  std::ofstream(py) << script;
  Trace t = record("py.trace", "/usr/bin/python3 " + quote(py.string()));
  CHECK(t.threads >= 5);
  CHECK(t.ops.size() > 4 * 20000);
  // Merging by sequence number never shows an address allocated twice while live.
  CHECK(t.counter("address_reuse") == 0);
  CHECK(t.counter("unmatched_frees") == 0);
  std::vector<std::uint64_t> per_thread(t.threads, 0);
  for (const Op& op : t.ops) ++per_thread[op.thread];
  int busy = 0;
  for (auto n : per_thread) busy += n > 20000;
  CHECK(busy >= 4);
}

TEST_CASE("record: a thread ending while the process exits is flushed once") {
  // The program's threads report "done" before their key destructors run, and
  // main exits at once: the recorder's exit flush meets each thread's own final
  // flush. Before the per-buffer flush lock, about one run in three wrote a
  // buffer twice (its ops then show as address reuse and unmatched frees).
  const std::string prog = std::string(EVOALLOC_BINARY_DIR) + "/tests/evaluate/evoalloc_test_exit_race";
  REQUIRE(fs::exists(prog));
  for (int run_no = 0; run_no < 12; ++run_no) {
    CAPTURE(run_no);
    Trace t = record("race.trace", quote(prog));
    CHECK(t.counter("address_reuse") == 0);
    CHECK(t.counter("unmatched_frees") == 0);
    // Each thread's ops reached the trace (4 x at least 8000 events, one per call).
    std::vector<std::uint64_t> per_thread(t.threads, 0);
    for (const Op& op : t.ops) ++per_thread[op.thread];
    int whole = 0;
    for (auto n : per_thread) whole += n >= 8000;
    CHECK(whole == 4);
  }
}

TEST_CASE("record: programs that fork get one trace per process") {
  if (!have("perl")) return;
  std::string log;
  fs::path out = scratch("fork.trace");
  Trace t = record("fork.trace",
                   "perl -e " + quote("my @p = map { 'p' x $_ } 1..300; my $pid = fork(); "
                                      "if ($pid == 0) { my @c = map { 'c' x $_ } 1..2000; exit 0 } "
                                      "waitpid($pid, 0); print qq(parent\\n);"),
                   "--children", &log);
  CHECK(t.ops.size() > 300);
  CHECK(log.find("pid") != std::string::npos);
  int children = 0;
  for (const auto& e : fs::directory_iterator(out.parent_path())) {
    std::string n = e.path().filename().string();
    if (n.rfind("fork.trace.", 0) == 0 && n.find(".raw") == std::string::npos) {
      Trace c = read_trace(e.path().string());
      CHECK(c.ops.size() > 2000);
      ++children;
    }
  }
  CHECK(children == 1);
  CHECK_FALSE(fs::exists(out.string() + ".raw.d"));

  // sh -c forks and execs: the other images are reported, not mixed into the trace.
  Trace s = record("sh.trace", "sh -c " + quote("sort " + sort_input().string() + " >/dev/null; true"), "", &log);
  CHECK(s.counter("address_reuse") == 0);
  CHECK(log.find("other process image") != std::string::npos);
}

TEST_CASE("record: the op sequence equals glibc mtrace's for the same run") {
  // One run of sort with both the recorder and glibc's mtrace preloaded: the
  // recorder sees each call first and passes it to libc_malloc_debug, which logs
  // it. sort is deterministic for a fixed input and single-threaded.
  if (!fs::exists(kDebug) || !fs::exists(kHelper)) {
    MESSAGE("skipped: " << kDebug << " or " << kHelper << " missing");
    return;
  }
  fs::path dir = scratch("eq.raw.d");
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::path mlog = scratch("eq.mtrace");
  std::string cmd = "EVOALLOC_RECORD_DIR=" + quote(dir.string()) + " MALLOC_TRACE=" + quote(mlog.string()) +
                    " LD_PRELOAD=" + quote(kRecorder + ":" + kDebug + ":" + kHelper) + " sort -n " +
                    quote(sort_input().string());
  REQUIRE(run(cmd) == 0);
  auto files = list_raw_files(dir.string());
  REQUIRE(files.size() == 1);
  fs::path rec = scratch("eq.trace");
  convert_raw(files[0].path, rec.string(), "sort");
  Trace r = read_trace(rec.string());
  Trace m = import_mtrace(mlog.string());
  std::vector<Norm> a = normalise(r), b = normalise(m);
  MESSAGE("recorder: " << a.size() << " ops, mtrace: " << b.size() << " ops");
  REQUIRE(a.size() > 100);
  // Every op the recorder saw is the op mtrace logged at the same position.
  std::size_t same = 0;
  while (same < std::min(a.size(), b.size()) && a[same] == b[same]) ++same;
  CHECK_MESSAGE(same == a.size(), "first difference at op " << same);
  // mtrace's log goes on after the recorder stopped: mtrace() registers an atexit
  // handler that calls __libc_freeres, which frees libc's internal buffers — calls
  // an untraced run never makes. They come after the recorder's final flush and
  // are frees only.
  REQUIRE(b.size() >= a.size());
  std::size_t extra_frees = 0;
  for (std::size_t i = a.size(); i < b.size(); ++i) extra_frees += b[i].kind == '-';
  CHECK(extra_frees == b.size() - a.size());
}

TEST_CASE("record: usage and runtime errors") {
  std::string log;
  CHECK(run(quote(kBin) + " record -o " + quote(scratch("x.trace").string())) == 2);
  CHECK(run(quote(kBin) + " record -- true") == 2);
  CHECK(run(quote(kBin) + " record -o " + quote(scratch("x.trace").string()) + " -- /nonexistent/prog", &log) == 1);
  CHECK(log.find("cannot run") != std::string::npos);
}

TEST_CASE("record: every entry point is logged with its kind, size, alignment and object") {
  const std::string prog = std::string(EVOALLOC_BINARY_DIR) + "/tests/evaluate/evoalloc_test_alloc_kinds";
  REQUIRE(fs::exists(prog));
  for (const char* arg : {"", "_exit"}) {
    CAPTURE(arg);
    Trace t = record("kinds.trace", quote(prog) + " " + arg);
    // The program's own ops come after whatever the C runtime allocated first:
    // find the malloc(100) that starts them.
    std::size_t at = 0;
    while (at < t.ops.size() && !(t.ops[at].kind == OpKind::Malloc && t.size_of(at) == 100)) ++at;
    REQUIRE(at + 17 <= t.ops.size());
    struct E {
      OpKind kind;
      std::uint64_t size;
      std::uint8_t align;
    };
    const E want[] = {{OpKind::Malloc, 100, 0},       {OpKind::Calloc, 300, 0},        {OpKind::Realloc, 5000, 0},
                      {OpKind::Memalign, 200, 6},     {OpKind::PosixMemalign, 300, 7}, {OpKind::AlignedAlloc, 512, 8},
                      {OpKind::Valloc, 77, 12},       {OpKind::Pvalloc, 88, 12},       {OpKind::Realloc, 63, 0},
                      {OpKind::Realloc, 0, 0},        {OpKind::Free, 0, 0},            {OpKind::Free, 0, 0},
                      {OpKind::Free, 0, 0},           {OpKind::Free, 0, 0},            {OpKind::Free, 0, 0},
                      {OpKind::Free, 0, 0},           {OpKind::Free, 0, 0}};
    for (std::size_t i = 0; i < std::size(want); ++i) {
      CAPTURE(i);
      CHECK(t.ops[at + i].kind == want[i].kind);
      CHECK(t.size_of(at + i) == want[i].size);
      CHECK(t.ops[at + i].align_log2 == want[i].align);
    }
    const Op* o = &t.ops[at];
    CHECK(o[2].object == o[0].object);   // realloc keeps the object
    CHECK(o[9].object == o[1].object);   // realloc(b, 0) frees calloc's object
    CHECK(o[10].object == o[0].object);  // free(a)
    CHECK(o[16].object == o[8].object);  // free(h), h from reallocarray(NULL, ...)
    CHECK(t.counter("free_null") >= 1);
    CHECK(t.counter("realloc_null") >= 1);
    CHECK(t.counter("realloc_zero") >= 1);
    // Call sites of the program's own calls resolve to the program's file.
    CHECK(t.sites[o[0].site].module.find("evoalloc_test_alloc_kinds") != std::string::npos);
  }
}

TEST_CASE("record: call sites are named from the program's ELF symbol table") {
  const std::string prog = std::string(EVOALLOC_BINARY_DIR) + "/tests/evaluate/evoalloc_test_named_sites";
  REQUIRE(fs::exists(prog));
  std::string log;
  Trace t = record("named.trace", quote(prog), "", &log);
  CHECK(log.find(" named)") != std::string::npos);
  // The program's five malloc(100 + i) and five calloc(1, 40), by size and kind.
  int mallocs = 0, callocs = 0;
  for (std::size_t i = 0; i < t.ops.size(); ++i) {
    const Op& op = t.ops[i];
    const CallSite& cs = t.sites[op.site];
    if (op.kind == OpKind::Malloc && t.size_of(i) >= 100 && t.size_of(i) < 105 &&
        cs.module.find("evoalloc_test_named_sites") != std::string::npos) {
      CHECK(cs.symbol == "evo_sites::make_buffer(unsigned long)");
      ++mallocs;
    }
    if (op.kind == OpKind::Calloc && t.size_of(i) == 40) {
      CHECK(cs.symbol == "evo_sites_plain_alloc");
      ++callocs;
    }
  }
  CHECK(mallocs == 5);
  CHECK(callocs == 5);
  // `trace info` shows the names among the top call sites.
  fs::path tr = scratch("named.trace");
  REQUIRE(run(quote(kBin) + " trace info " + quote(tr.string()), &log) == 0);
  CHECK(log.find("(evo_sites::make_buffer(unsigned long))") != std::string::npos);
}
