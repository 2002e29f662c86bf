// tests/export/test_pmr.cpp — the header-only embedding: a program using
// include/evoalloc_pmr.hpp (std::pmr containers over DesignResource, a std::vector
// with DesignAllocator) built against lib<NAME>_design.a, which does not replace
// malloc. The program checks its own results and the resource's exact accounting.
#include <doctest/doctest.h>

#include <fstream>

#include "export_lib.hpp"

TEST_CASE("pmr: containers over an exported design, malloc untouched") {
  std::string err;
  const export_test::Design& d = export_test::kFamilyDesigns[0];  // superblock
  const std::string dir = export_test::build(d.name, d.sentence, &err);
  REQUIRE_MESSAGE(!dir.empty(), err);
  const std::string src = dir + "/pmr_check.cpp", exe = dir + "/pmr_check";
  {
    std::ofstream f(src);
    f << R"(#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>
#include "evoalloc_pmr.hpp"
int main() {
  void* probe = std::malloc(24);  // glibc's: the design library does not define malloc
  std::free(probe);
  evo_export::DesignResource res;
  {
    std::pmr::vector<std::pmr::string> v(&res);
    std::pmr::map<int, std::pmr::string> m(&res);
    for (int i = 0; i < 20000; ++i) {
      v.emplace_back(std::string(static_cast<std::size_t>(i % 200), 'a' + i % 26));
      m.emplace(i, std::pmr::string(std::to_string(i) + "-value-long-enough-to-allocate", &res));
    }
    std::size_t total = 0;
    for (const auto& s : v) total += s.size();
    if (total != 1990000 || m.size() != 20000 || m.at(1234) != "1234-value-long-enough-to-allocate") return 3;
    std::vector<double, evo_export::DesignAllocator<double>> w{evo_export::DesignAllocator<double>(&res)};
    for (int i = 0; i < 100000; ++i) w.push_back(i * 0.5);
    if (w[99999] != 49999.5) return 4;
    void* big = res.allocate(1 << 20, 4096);
    if (reinterpret_cast<std::uintptr_t>(big) % 4096 != 0) return 5;
    res.deallocate(big, 1 << 20, 4096);
    evo::AllocStats s = res.stats();
    if (s.allocs < 40000 || s.peak_footprint < (1u << 20) || s.footprint == 0) return 6;
  }
  evo::AllocStats s = res.stats();
  if (s.allocs != s.frees) return 7;
  std::printf("ok %llu\n", static_cast<unsigned long long>(s.allocs));
  return 0;
}
)";
  }
  REQUIRE(export_test::run("c++ -std=c++20 -O1 -I" + dir + "/include " + src + " " + dir + "/lib" + d.name +
                           "_design.a -o " + exe + " > " + dir + "/pmr_build.log 2>&1") == 0);
  CHECK(export_test::run(exe + " > " + dir + "/pmr.out") == 0);
  CHECK(export_test::slurp(dir + "/pmr.out").starts_with("ok "));
  // The design library exports no malloc: only the shim libraries do.
  CHECK(export_test::run("nm -g --defined-only " + dir + "/lib" + d.name + "_design.a | grep -qw malloc") != 0);
  CHECK(export_test::run("nm -D --defined-only " + dir + "/lib" + d.name + ".so | grep -qw malloc") == 0);
}
