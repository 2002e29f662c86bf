// tests/export/test_programs.cpp — exported libraries replace glibc's malloc in
// real Debian programs: one design of each family (superblock, block, buddy,
// textbook btag) with the global lock, superblock and btag with thread-local heaps
// (--threads tlh), and slab and btag with per-thread caches over one heap (--threads
// tcache), under LD_PRELOAD run python3 (dicts and strings, threads),
// perl (text processing), sqlite3 (3000 inserts + a query), sort (300k lines, also
// with --parallel=4 threads), file (libmagic on this tree's files), gs (renders
// tests/export/data/figures.ps: paths, text, fills, loops, two pages), fdfind (fd-find,
// Rust: walker threads allocate the paths a receiver thread frees; file, gs and
// fdfind are skipped with a message if missing), the randomized multi-threaded stress of the C
// API (tests/export/data/stress.c: remote frees and remote reallocs) and fork while
// threads allocate (tests/export/data/forks.c); every output equals the same
// program's output under glibc. A routing design learned from file's call sites runs
// the same programs. Further cases check the tlh heap pool (threads that exit give
// their heap to the next thread) and the summed EVOALLOC_STATS line, and the same of
// the tcache cache pool. Skipped in the sanitizer build: ASan owns malloc and cannot
// host a preloaded allocator.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "export_lib.hpp"

#ifdef EVOALLOC_SANITIZE

TEST_CASE("programs: skipped under EVOALLOC_SANITIZE") {
  MESSAGE("skipped under EVOALLOC_SANITIZE: LD_PRELOAD allocators and ASan cannot share a process");
}

#else

namespace {

namespace fs = std::filesystem;

struct Program {
  const char* what;
  std::string cmd;  ///< shell command; stdout is compared
};

/// `cmd` quoted for sh -c '...'.
std::string sh_quote(const std::string& cmd) {
  std::string c;
  for (char ch : cmd) {
    if (ch == '\'') c += "'\\''";
    else c += ch;
  }
  return c;
}

/// The folder of the programs' inputs and outputs (created).
std::string work_dir() {
  const std::string work = export_test::libs_dir() + "/programs";
  fs::create_directories(work);
  return work;
}

/// Writes the Python script `text` to `name` in the work folder; its path.
std::string write_script(const std::string& work, const std::string& name, const std::string& text) {
  const std::string path = work + "/" + name;
  std::ofstream(path) << text;
  return path;
}

/// N of the ", heaps N" (tlh) or ", caches N" (tcache) an EVOALLOC_STATS line ends with.
long heaps_in(const std::string& line, const std::string& label = "heaps") {
  long heaps = -1;
  const auto h = line.find(", " + label + " ");
  REQUIRE(h != std::string::npos);
  REQUIRE(std::sscanf(line.c_str() + h + label.size() + 3, "%ld", &heaps) == 1);
  return heaps;
}

/// The programs, their input file, and each one's output under glibc: built once per
/// test process (the first case that asks).
struct Suite {
  std::string work, text;
  std::vector<Program> programs;
  std::vector<std::string> expected;
};

/// `file` (libmagic: regular expressions and buffers, from many call sites in libc and
/// libmagic) on a fixed list of this source tree's files: `first` of them, or all.
std::string file_cmd(std::size_t first = 0) {
  std::vector<std::string> files;
  for (const char* dir : {"core/layers", "core/simple", "core/superblock", "docs"})
    for (const auto& e : fs::directory_iterator(export_test::source_dir() + "/" + dir)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  if (first != 0 && first < files.size()) files.resize(first);
  std::string cmd = "/usr/bin/file";
  for (const std::string& f : files) cmd += " " + f;
  return cmd;
}

const Suite& suite() {
  static Suite s;
  if (!s.programs.empty()) return s;
  const std::string work = work_dir();
  s.work = work;
  // Inputs: a large file of numbers and words (deterministic).
  const std::string text = work + "/input.txt";
  s.text = text;
  REQUIRE(export_test::run("/usr/bin/perl -e 'srand(7); for (1..300000) { printf(\"%d %s\\n\", int(rand(1e9)), "
                           "join(\"\", map { chr(97 + int(rand(26))) } 1..(1 + $_ % 17))) }' > " +
                           text) == 0);
  const std::string py = write_script(work, "dicts.py",
                                      "import threading\n"
                                      "d = {}\n"
                                      "for i in range(200000):\n"
                                      "    d['k%d' % i] = ('v' * (i % 50)) + str(i)\n"
                                      "s = ''.join(sorted(d.keys())[:1000])\n"
                                      "words = {}\n"
                                      "for line in open('" + text + "'):\n"
                                      "    n, w = line.split()\n"
                                      "    words[w] = words.get(w, 0) + int(n) % 7\n"
                                      "out = [0] * 4\n"
                                      "def work(k):\n"
                                      "    acc = []\n"
                                      "    for i in range(50000):\n"
                                      "        acc.append(str(i * k) * 3)\n"
                                      "        if len(acc) > 500: acc = acc[250:]\n"
                                      "    out[k] = len(''.join(acc))\n"
                                      "ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]\n"
                                      "[t.start() for t in ts]; [t.join() for t in ts]\n"
                                      "print(len(d), len(s), len(words), sum(words.values()), out)\n");
  const std::string stress = export_test::binary_dir() + "/tests/export/evoalloc_test_export_stress";
  const std::string forks = export_test::binary_dir() + "/tests/export/evoalloc_test_export_forks";
  REQUIRE(fs::exists(stress));
  REQUIRE(fs::exists(forks));
  std::vector<Program> programs = {
      {"python3", "/usr/bin/python3 " + py},
      {"perl", "/usr/bin/perl -ne '@w = split; $c{$w[1]} .= substr($w[0], 0, 3); END { for (sort keys %c) { "
               "$n++; $l += length $c{$_} } print \"$n $l\\n\" }' " + text},
      {"sqlite3", "/usr/bin/sqlite3 :memory: \"create table t(a integer, b text); with recursive c(x) as (select 1 "
                  "union all select x+1 from c where x<3000) insert into t select x, printf('%08d-%s', x*7919 % 10007, "
                  "hex(zeroblob(x % 40))) from c; create index i on t(b); select count(*), sum(a), max(b) from t "
                  "where a % 3 = 0;\""},
      {"sort", "/usr/bin/sort -k2,2 -k1,1n " + text + " | /usr/bin/md5sum"},
      {"sort --parallel=4", "/usr/bin/sort --parallel=4 -S 20M -n " + text + " | /usr/bin/md5sum"},
      {"stress (8 threads)", stress + " 8 60000"},
      {"fork (4 threads, 12 forks)", forks + " 4 12"},
  };
  if (fs::exists("/usr/bin/file")) {
    programs.push_back({"file", file_cmd()});
  } else {
    MESSAGE("file not installed: its run is skipped (scripts/install-deps.sh installs it)");
  }
  if (fs::exists("/usr/bin/fdfind")) {
    // fd-find (Rust): two walker threads allocate every path and hand it to the
    // receiver thread, which prints and frees it (a fifth of the frees are remote).
    programs.push_back({"fdfind (3 threads)", "/usr/bin/fdfind -j 2 -u . /usr/include | /usr/bin/sort | /usr/bin/md5sum"});
  } else {
    MESSAGE("fdfind (fd-find) not installed: its run is skipped (scripts/install-deps.sh installs it)");
  }
  if (fs::exists("/usr/bin/gs")) {
    // Both pages as raw PPM on stdout: the bytes of the rendering are compared.
    programs.push_back({"gs", "/usr/bin/gs -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=ppmraw -r100 -sOutputFile=- " +
                                  export_test::source_dir() + "/tests/export/data/figures.ps | /usr/bin/md5sum"});
  } else {
    MESSAGE("gs (ghostscript) not installed: the gs rendering is skipped (scripts/install-deps.sh installs it)");
  }
  std::vector<std::string> expected;
  for (const Program& p : programs) {
    const std::string out = work + "/glibc.out";
    REQUIRE_MESSAGE(export_test::run(p.cmd + " > " + out) == 0, p.what);
    expected.push_back(export_test::slurp(out));
    REQUIRE(!expected.back().empty());
  }
  s.expected = std::move(expected);
  s.programs = std::move(programs);
  return s;
}

/// Runs every program of the suite under `lib` (LD_PRELOAD applies to every process
/// of a pipeline: sort and md5sum); each output must equal glibc's.
void check_outputs(const std::string& name, const std::string& lib) {
  const Suite& s = suite();
  for (std::size_t i = 0; i < s.programs.size(); ++i) {
    CAPTURE(name);
    CAPTURE(s.programs[i].what);
    const std::string out = s.work + "/" + name + ".out";
    CHECK(export_test::run("LD_PRELOAD=" + lib + " sh -c '" + sh_quote(s.programs[i].cmd) + "' > " + out) == 0);
    CHECK(export_test::slurp(out) == s.expected[i]);
  }
}

}  // namespace

TEST_CASE("programs: real Debian programs give glibc's output under each exported family") {
  const Suite& suite_ = suite();
  const std::string& work = suite_.work;
  const std::string& text = suite_.text;
  std::vector<export_test::Design> designs(std::begin(export_test::kFamilyDesigns), std::end(export_test::kFamilyDesigns));
  designs.insert(designs.end(), std::begin(export_test::kTlhDesigns), std::end(export_test::kTlhDesigns));
  designs.insert(designs.end(), std::begin(export_test::kTcacheDesigns), std::end(export_test::kTcacheDesigns));
  for (const export_test::Design& d : designs) {
    std::string err;
    const std::string dir = export_test::build(d.name, d.sentence, &err, {}, export_test::threads_of(d.name));
    REQUIRE_MESSAGE(!dir.empty(), err);
    const std::string lib = dir + "/lib" + d.name + ".so";
    CAPTURE(d.sentence);
    check_outputs(d.name, lib);
    // EVOALLOC_STATS survives a program that closes stderr before exit (coreutils' close_stdout).
    const std::string log = work + "/" + d.name + ".stats";
    CHECK(export_test::run("EVOALLOC_STATS=1 LD_PRELOAD=" + lib + " /usr/bin/sort " + text + " > /dev/null 2> " + log) ==
          0);
    CHECK(export_test::slurp(log).find(std::string("evoalloc ") + d.name + ": footprint ") != std::string::npos);
  }
}

TEST_CASE("programs: a routing design learned from file's call sites keeps every program's output") {
  // The route family (core/route/router.hpp, export/site_map.hpp) in real programs:
  // learned from `file` on the first 20 files of its list (evoalloc record, then
  // export --trace, which classifies the trace's call sites), then preloaded into
  // `file` on all of them and into every other program of the suite, whose own sites
  // the trace never saw (libc's are the same module and offsets: they route too).
  // The rest sub-design and the router are hardened: a block freed into the wrong
  // sub-design, or a broken canary, aborts the program.
  if (!fs::exists("/usr/bin/file")) {
    MESSAGE("file not installed: the routing case is skipped (scripts/install-deps.sh installs it)");
    return;
  }
  const Suite& s = suite();
  const std::string bin = export_test::binary_dir() + "/app/evoalloc";
  const std::string trace = s.work + "/file_short.trace";
  REQUIRE(export_test::run(bin + " record -o " + trace + " -- " + file_cmd(20) + " > /dev/null 2>&1") == 0);
  const std::string name = "x_route_file";
  const std::string dir = export_test::libs_dir() + "/" + name;
  const std::string design = "route life=8K short=[slab slab=64K] long=[pad] rest=[superblock harden=checked] harden=canary";
  const std::string ex_log = s.work + "/" + name + ".log";
  const int ex = export_test::run(bin + " export --allocator '" + design + "' --trace " + trace + " --name " + name +
                                  " --out " + dir + " --jobs 2 > " + ex_log + " 2>&1");
  REQUIRE_MESSAGE(ex == 0, export_test::slurp(ex_log));
  const std::string lib = dir + "/lib" + name + ".so";
  check_outputs(name, lib);
  // file on all its files: the sites classified short send their blocks to `short`
  const std::string log = s.work + "/" + name + ".stats";
  REQUIRE(export_test::run("EVOALLOC_STATS=1 LD_PRELOAD=" + lib + " " + file_cmd() + " > /dev/null 2> " + log) == 0);
  const std::string line = export_test::slurp(log);
  CAPTURE(line);
  long long n_short = -1, n_long = -1, n_rest = -1;
  const auto at = line.find("route short ");
  REQUIRE(at != std::string::npos);
  REQUIRE(std::sscanf(line.c_str() + at, "route short %lld long %lld rest %lld", &n_short, &n_long, &n_rest) == 3);
  CHECK(n_short > 1000);
  CHECK(n_rest > 0);
}

TEST_CASE("programs: tlh and tcache reuse the heaps/caches of exited threads and sum the stats") {
  const std::string work = work_dir();
  for (const export_test::Design& d : {export_test::kTlhDesigns[0], export_test::kTcacheDesigns[0]}) {
  const std::string model = export_test::threads_of(d.name);
  CAPTURE(model);
  std::string err;
  const std::string dir = export_test::build(d.name, d.sentence, &err, {}, model);
  REQUIRE_MESSAGE(!dir.empty(), err);
  const std::string lib = dir + "/lib" + d.name + ".so";
  // 40 threads one after another (each allocates, frees and exits), then 4 at once;
  // each allocates 3000 strings of > 512 bytes (past pymalloc: real malloc calls).
  const std::string py = write_script(work, "pool.py",
                                      "import threading\n"
                                      "def work(k):\n"
                                      "    acc = ['x' * (600 + (i + k) % 50) for i in range(3000)]\n"
                                      "    return len(''.join(acc))\n"
                                      "for k in range(40):\n"
                                      "    t = threading.Thread(target=work, args=(k,)); t.start(); t.join()\n"
                                      "ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]\n"
                                      "[t.start() for t in ts]; [t.join() for t in ts]\n"
                                      "print('done')\n");
  const std::string log = work + "/pool.stats";
  REQUIRE(export_test::run("EVOALLOC_STATS=1 LD_PRELOAD=" + lib + " /usr/bin/python3 " + py + " > " + work +
                           "/pool.out 2> " + log) == 0);
  CHECK(export_test::slurp(work + "/pool.out") == "done\n");
  const std::string line = export_test::slurp(log);
  CAPTURE(line);
  unsigned long long allocs = 0, frees = 0;
  const auto at = line.find("allocs ");
  REQUIRE(at != std::string::npos);
  REQUIRE(std::sscanf(line.c_str() + at, "allocs %llu, frees %llu", &allocs, &frees) == 2);
  const long heaps = heaps_in(line, model == "tlh" ? "heaps" : "caches");
  // The main thread's heap (cache) plus about one per concurrent worker: the 40
  // sequential threads reuse pooled ones (python's join may return just before the
  // exiting thread's key destructor pools its heap, so a few extra are allowed),
  // never one per thread.
  CHECK(heaps >= 2);
  CHECK(heaps <= 10);
  CHECK(allocs > 40 * 3000);  // summed over every heap (cache), not just the main thread's
  CHECK(frees > 40 * 3000);
  CHECK(frees <= allocs);
  }
}

TEST_CASE("programs: every block one thread allocates and another frees is counted freed once the freer exits") {
  // Under tlh the consumer's frees are remote: they wait in its batch for the owner
  // (core/remote_queue.hpp), and its exit hook hands the last partial batch over
  // (1007 blocks: 15 would be left behind). 100000 blocks overflow the owner's ring
  // (64 batches) while it waits in pthread_join: the rest go in overflow nodes, count
  // as freed, and are reused when the owner allocates again. Under tcache the frees
  // go to the consumer's cache.
  const std::string work = work_dir();
  const std::string prog = export_test::binary_dir() + "/tests/export/evoalloc_test_export_handoff";
  REQUIRE(fs::exists(prog));
  for (const export_test::Design& d : {export_test::kTlhDesigns[0], export_test::kTlhDesigns[1], export_test::kTcacheDesigns[0]}) {
    for (const char* n : {"1007", "100000"}) {
      CAPTURE(d.sentence);
      CAPTURE(n);
      std::string err;
      const std::string dir = export_test::build(d.name, d.sentence, &err, {}, export_test::threads_of(d.name));
      REQUIRE_MESSAGE(!dir.empty(), err);
      const std::string out = work + "/handoff_" + d.name + ".out";
      REQUIRE(export_test::run("LD_PRELOAD=" + dir + "/lib" + d.name + ".so " + prog + " " + n + " > " + out) == 0);
      const std::string text = export_test::slurp(out);
      CAPTURE(text);
      long long live = -1, regrown = -1;
      REQUIRE(std::sscanf(text.c_str(), "live %lld regrown %lld", &live, &regrown) == 2);
      CHECK(live >= 0);
      CHECK(live <= 4);  // what pthread_create keeps, not a batch
      if (export_test::threads_of(d.name) == "tlh") CHECK(regrown <= 10);  // the owner drained and reused them
    }
  }
}

TEST_CASE("programs: tlh and tcache with more threads alive at once than heaps/caches (the rest share)") {
  const std::string work = work_dir();
  const std::string prog = export_test::binary_dir() + "/tests/export/evoalloc_test_export_many_threads";
  REQUIRE(fs::exists(prog));
  std::vector<export_test::Design> designs(std::begin(export_test::kTlhDesigns), std::end(export_test::kTlhDesigns));
  designs.push_back(export_test::kTcacheDesigns[1]);  // tcache: threads past 1024 caches use the heap directly
  for (const export_test::Design& d : designs) {
    CAPTURE(d.sentence);
    const std::string model = export_test::threads_of(d.name);
    std::string err;
    const std::string dir = export_test::build(d.name, d.sentence, &err, {}, model);
    REQUIRE_MESSAGE(!dir.empty(), err);
    const std::string out = work + "/many_" + d.name + ".out", log = work + "/many_" + d.name + ".stats";
    // 1100 threads each hold 4 blocks until all of them do: 1024 heaps, the rest
    // share. Every heap's instance object is built in the bootstrap arena, which
    // must hold them all (it once ran out at ~600 heaps and aborted the process).
    const int rc = export_test::run("EVOALLOC_STATS=1 LD_PRELOAD=" + dir + "/lib" + d.name + ".so " + prog +
                                    " 1100 > " + out + " 2> " + log);
    const std::string line = export_test::slurp(log);
    CAPTURE(line);
    CHECK(rc == 0);
    CHECK(export_test::slurp(out) == "done 1100\n");
    const long heaps = heaps_in(line, model == "tlh" ? "heaps" : "caches");
    CHECK(heaps > 512);
    CHECK(heaps <= 1024);
  }
}

#endif  // EVOALLOC_SANITIZE
