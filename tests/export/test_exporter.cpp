// tests/export/test_exporter.cpp — the exporter's generated C++ and its errors,
// and the `evoalloc export` command line on bad input (exit codes, one-line errors).
#include <doctest/doctest.h>

#include <filesystem>

#include "core/registry.hpp"
#include "export_lib.hpp"

namespace {

evo::ExportRequest request(const std::string& sentence) {
  evo::ExportRequest r;
  std::string err;
  REQUIRE_MESSAGE(evo::parse_spec(sentence, r.spec, &err), err);
  r.name = std::string(1, 't');  // (assigning the literal trips g++ 12's -Wrestrict false positive)
  r.out_dir = std::string("/nonexistent");
  r.source_dir = export_test::source_dir();
  return r;
}

std::string cli(const std::string& args, int* rc) {
  const std::string out = export_test::libs_dir() + "/cli.out";
  std::filesystem::create_directories(export_test::libs_dir());
  *rc = export_test::run(export_test::binary_dir() + "/app/evoalloc export " + args + " > " + out + " 2>&1");
  return export_test::slurp(out);
}

}  // namespace

TEST_CASE("exporter: library names") {
  CHECK(evo::valid_export_name("espresso_fast"));
  CHECK(evo::valid_export_name("_x1"));
  CHECK_FALSE(evo::valid_export_name(""));
  CHECK_FALSE(evo::valid_export_name("1abc"));
  CHECK_FALSE(evo::valid_export_name("a-b"));
  CHECK_FALSE(evo::valid_export_name("a/b"));
  CHECK_FALSE(evo::valid_export_name(std::string(65, 'a')));
  // System libraries: `-L DIR -lc` would link the export instead of libc.
  CHECK_FALSE(evo::valid_export_name("c"));
  CHECK_FALSE(evo::valid_export_name("m"));
  CHECK_FALSE(evo::valid_export_name("pthread"));
  CHECK(evo::valid_export_name("cc"));
  CHECK(evo::valid_export_name("mylibc"));
}

TEST_CASE("exporter: the superblock design reads as its template, one layer a line") {
  evo::ExportRequest r = request("superblock bins=mtf alg=bitmap pagemap=radix2 cache=eager sb=128K");
  r.metrics = {{"speed", "4.25"}, {"fragmentation", "0.31"}};
  std::string err;
  const std::string h = evo::export_design_header(r, &err);
  REQUIRE_MESSAGE(!h.empty(), err);
  CHECK(h.find("using Design = evo::SuperblockHeap<\n"
               "    evo::MtfBin,  // bins=mtf\n"
               "    evo::BitmapAlg,  // alg=bitmap\n"
               "    evo::Radix2Pagemap,  // pagemap=radix2\n"
               "    evo::EagerCache>;  // cache=eager\n") != std::string::npos);
  CHECK(h.find("{\"sb\", \"128K\"}") != std::string::npos);
  CHECK(h.find("//   speed = 4.25") != std::string::npos);
  CHECK(h.find("//   fragmentation = 0.31") != std::string::npos);
  CHECK(h.find(r.spec.text()) != std::string::npos);
  CHECK(h.find("EVO_EXPORT_HARDEN") == std::string::npos);
}

TEST_CASE("exporter: every registry row has an export mapping") {
  std::string err;
  for (const evo::RegistryRow& row : evo::rows()) {
    CAPTURE(row.name);
    if (row.traits.routes) {  // needs the trace's sites (tests/export/test_route_export.cpp)
      CHECK(evo::export_design_header(request(row.name), &err).empty());
      CHECK(err.find("a routing design routes the trace's call sites: give the trace") != std::string::npos);
      continue;
    }
    evo::ExportRequest r = request(row.name);
    const std::string h = evo::export_design_header(r, &err);
    CHECK_MESSAGE(!h.empty(), err);
    const bool typed = h.find("#define EVO_EXPORT_TYPED") != std::string::npos;
    const bool routed = h.find("#define EVO_EXPORT_ROW_ROUTE") != std::string::npos;
    CHECK(typed != routed);
    // The row route names the family file the row comes from.
    if (routed) CHECK(evo::export_core_sources(r.spec).size() == 5);
  }
}

TEST_CASE("exporter: errors") {
  std::string err;
  evo::ExportRequest fitted = request("superblock classes=fitted:8");
  CHECK(evo::export_design_header(fitted, &err).empty());
  CHECK(err.find("--trace") != std::string::npos);
  fitted.histogram = {{16, 10}, {48, 3}};
  CHECK_FALSE(evo::export_design_header(fitted, &err).empty());

  evo::ExportRequest tlh = request("btag");
  tlh.threads = "tlh";
  const std::string tlh_header = evo::export_design_header(tlh, &err);
  CHECK(tlh_header.find("Thread model: tlh (thread-local heaps") != std::string::npos);
  tlh.threads = "percpu";
  CHECK(evo::export_design_header(tlh, &err).empty());
  CHECK(err.find("expected lock") != std::string::npos);

  // tcache runs the design's front cache per thread: a design without one is refused.
  evo::ExportRequest tc = request("slab front=tcache:64");
  tc.threads = "tcache";
  const std::string tc_header = evo::export_design_header(tc, &err);
  CHECK(tc_header.find("Thread model: tcache (the front cache in every thread") != std::string::npos);
  CHECK(tc_header.find("kConcurrentUsableSize = true") != std::string::npos);  // slab: frees need no lock
  CHECK(evo::export_design_header(request("btag front=tcache:16"), &err).find("kConcurrentUsableSize = false") !=
        std::string::npos);
  tc = request("slab");
  tc.threads = "tcache";
  CHECK(evo::export_design_header(tc, &err).empty());
  CHECK(err.find("needs front=tcache:B") != std::string::npos);

  evo::ExportRequest bad_name = request("btag");
  bad_name.name = "no good";
  CHECK_FALSE(evo::write_export(bad_name, &err));
  CHECK(err.find("--name") != std::string::npos);

  evo::ExportRequest no_tree = request("btag");
  no_tree.source_dir = "/nonexistent-tree";
  no_tree.out_dir = export_test::libs_dir() + "/no_tree";
  CHECK_FALSE(evo::write_export(no_tree, &err));
  CHECK(err.find("not the evoalloc source tree") != std::string::npos);
}

TEST_CASE("cli: export usage and runtime errors") {
  int rc = 0;
  std::string out = cli("--name x --out /tmp/evoalloc-export-none", &rc);
  CHECK(rc == 2);
  CHECK(out.find("exactly one of --run") != std::string::npos);
  out = cli("--allocator 'superblock bins=nope' --name x --out /tmp/evoalloc-export-none", &rc);
  CHECK(rc == 2);
  CHECK(out.find("--allocator:") != std::string::npos);
  out = cli("--allocator btag --name 9x --out /tmp/evoalloc-export-none", &rc);
  CHECK(rc == 2);
  out = cli("--allocator btag --name c --out /tmp/evoalloc-export-none", &rc);
  CHECK(rc == 2);
  CHECK(out.find("system library") != std::string::npos);
  // A fitted class table needs allocations to fit: a trace without any is an error saying so.
  const std::string empty_log = export_test::libs_dir() + "/empty.mtrace", empty = export_test::libs_dir() + "/empty.trace";
  std::ofstream(empty_log) << "= Start\n= End\n";
  REQUIRE(std::system(("'" + export_test::binary_dir() + "/app/evoalloc' import " + empty_log + " -o " + empty +
                       " >/dev/null 2>&1").c_str()) == 0);
  out = cli("--allocator 'superblock classes=fitted:8' --trace " + empty + " --name e --out /tmp/evoalloc-export-none", &rc);
  CHECK(rc == 1);
  CHECK(out.find("has no allocations") != std::string::npos);
  out = cli("--allocator btag --name x --out /tmp/evoalloc-export-none --threads percpu", &rc);
  CHECK(rc == 2);
  CHECK(out.find("expected lock") != std::string::npos);
  // A model the design cannot run under, asked for with --threads, is a usage error
  // too, said once (not "export: export: ...").
  out = cli("--allocator 'slab front=none' --name x --out /tmp/evoalloc-export-none --threads tcache", &rc);
  CHECK(rc == 2);
  CHECK(out.find("evoalloc export: --threads tcache:") != std::string::npos);
  CHECK(out.find("needs front=tcache:B") != std::string::npos);
  CHECK(out.find("export: export:") == std::string::npos);
  out = cli("--run /nonexistent-run --pick knee --name x --out /tmp/evoalloc-export-none", &rc);
  CHECK(rc == 1);
  CHECK(out.find("front.csv: cannot open") != std::string::npos);
  out = cli("--run " + export_test::source_dir() + "/results/curated/espresso-seed1 --pick sideways --name x --out /tmp/e", &rc);
  CHECK(rc == 2);
  CHECK(out.find("fastest|leanest|best-quality|knee|program|N") != std::string::npos);
  // A real pick writes the project (--no-build keeps the test cheap).
  const std::string dir = export_test::libs_dir() + "/cli_pick";
  out = cli("--run " + export_test::source_dir() + "/results/curated/espresso-seed1 --pick knee --name knee --out " + dir +
                " --no-build --trace " + export_test::source_dir() + "/traces/espresso.trace",
            &rc);
  CHECK_MESSAGE(rc == 0, out);
  CHECK(out.find("pick knee: row ") != std::string::npos);  // the report says why that row
  CHECK(out.find(" is nearest the ideal point") != std::string::npos);
  const std::string h = export_test::slurp(dir + "/design.hpp");
  CHECK(h.find("Scored with") != std::string::npos);
  CHECK(h.find("--pick knee") != std::string::npos);
  CHECK(std::filesystem::exists(dir + "/CMakeLists.txt"));
  CHECK(export_test::slurp(dir + "/CMakeLists.txt").find("set(knee_THREADS \"lock\")") != std::string::npos);
  CHECK(out.find("thread model: lock (the default)\n") != std::string::npos);
  // --threads tlh: the project's default model is tlh.
  const std::string dir2 = export_test::libs_dir() + "/cli_tlh";
  out = cli("--allocator btag --name tl --out " + dir2 + " --threads tlh --no-build", &rc);
  CHECK_MESSAGE(rc == 0, out);
  CHECK(export_test::slurp(dir2 + "/CMakeLists.txt").find("set(tl_THREADS \"tlh\")") != std::string::npos);
  CHECK(std::filesystem::exists(dir2 + "/src/source_hook.cpp"));
  CHECK(out.find("thread model: tlh (--threads)\n") != std::string::npos);
  // The report says which model the library is built with and where it came from:
  // --threads over the design's own threads= key is named as an override.
  const std::string dir3 = export_test::libs_dir() + "/cli_override";
  out = cli("--allocator 'slab front=tcache:64:array threads=tlh' --name ov --out " + dir3 + " --threads tcache --no-build", &rc);
  CHECK_MESSAGE(rc == 0, out);
  CHECK(export_test::slurp(dir3 + "/CMakeLists.txt").find("set(ov_THREADS \"tcache\")") != std::string::npos);
  CHECK(out.find("thread model: tcache (--threads; the design says threads=tlh)\n") != std::string::npos);
  out = cli("--allocator 'slab front=tcache:64:array threads=tlh' --name ov --out " + dir3 + " --no-build", &rc);
  CHECK_MESSAGE(rc == 0, out);
  CHECK(export_test::slurp(dir3 + "/CMakeLists.txt").find("set(ov_THREADS \"tlh\")") != std::string::npos);
  CHECK(out.find("thread model: tlh (the design's threads= key)\n") != std::string::npos);
}
