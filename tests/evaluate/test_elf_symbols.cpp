// Tests of evaluate/elf_symbols: file offsets of functions in this very test
// binary (and in libc) resolve to their (demangled) names; missing, non-ELF and
// out-of-range inputs give "".
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include "evaluate/elf_symbols.hpp"

using namespace evo;

namespace elf_test_ns {
[[gnu::noinline]] int marker_function(int x) {
  asm volatile("" ::: "memory");
  return x * 3 + 1;
}
}  // namespace elf_test_ns

extern "C" [[gnu::noinline]] int elf_test_c_marker(int x) {
  asm volatile("" ::: "memory");
  return x + 7;
}

namespace {

/// Module path and file offset of a code address, from /proc/self/maps (as the
/// recorder computes them).
bool locate(const void* addr, std::string* module, std::uint64_t* offset) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  while (std::getline(maps, line)) {
    unsigned long long s = 0, e = 0, off = 0;
    char perms[8] = {};
    int used = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %*s %n", &s, &e, perms, &off, &used) < 4) continue;
    if (a < s || a >= e) continue;
    *module = line.substr(static_cast<std::size_t>(used));
    *offset = a - s + off;
    return !module->empty() && (*module)[0] == '/';
  }
  return false;
}

}  // namespace

TEST_CASE("function offsets in this test binary resolve to their names") {
  REQUIRE(elf_test_ns::marker_function(1) == 4);
  REQUIRE(elf_test_c_marker(1) == 8);
  SymbolResolver r;
  std::string mod;
  std::uint64_t off = 0;
  REQUIRE(locate(reinterpret_cast<const void*>(&elf_test_ns::marker_function), &mod, &off));
  CHECK(mod == std::filesystem::canonical("/proc/self/exe").string());
  CHECK(r.function_at(mod, off) == "elf_test_ns::marker_function(int)");
  CHECK(r.function_at(mod, off + 1) == "elf_test_ns::marker_function(int)");  // inside it
  REQUIRE(locate(reinterpret_cast<const void*>(&elf_test_c_marker), &mod, &off));
  CHECK(r.function_at(mod, off) == "elf_test_c_marker");
  CHECK(r.modules_read() == 1);  // cached: one module read once
}

TEST_CASE("a libc function resolves through its symbol table") {
  SymbolResolver r;
  std::string mod;
  std::uint64_t off = 0;
  // getpid's address in libc itself (not a PLT stub: taken through a volatile pointer)
  auto* volatile fn = &::getpid;
  REQUIRE(locate(reinterpret_cast<const void*>(fn), &mod, &off));
  const std::string name = r.function_at(mod, off);
  CHECK(name.find("getpid") != std::string::npos);
}

TEST_CASE("missing, non-ELF modules and offsets outside every function give empty names") {
  SymbolResolver r;
  CHECK(r.function_at("", 100).empty());
  CHECK(r.function_at("/nonexistent/libnothing.so", 100).empty());
  const auto text = std::filesystem::temp_directory_path() / ("evoalloc_elf_" + std::to_string(getpid()) + ".txt");
  {
    std::ofstream o(text);
    o << "\x7f" "ELF but not really an ELF file, just text\n";
  }
  CHECK(r.function_at(text.string(), 3).empty());
  std::filesystem::remove(text);
  CHECK(r.function_at("/proc/self/exe", 0).empty());          // the ELF header, not code
  CHECK(r.function_at("/proc/self/exe", 1ull << 60).empty());  // beyond the file
  CHECK(r.function_at("/", 0).empty());                        // a directory
}

TEST_CASE("demangle leaves plain names alone") {
  CHECK(demangle("_ZN3evo5traceEv") == "evo::trace()");
  CHECK(demangle("malloc") == "malloc");
  CHECK(demangle("_Zbroken") == "_Zbroken");
}
