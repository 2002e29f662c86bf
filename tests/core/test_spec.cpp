// Tests of core/spec: canonical text, sizes, and the parser's error messages.
#include <doctest/doctest.h>

#include "core/registry.hpp"
#include "core/spec.hpp"

using evo::AllocatorSpec;
using evo::parse_spec;

TEST_CASE("sizes format with the largest exact suffix and parse back") {
  CHECK(evo::format_size(0) == "0");
  CHECK(evo::format_size(100) == "100");
  CHECK(evo::format_size(65536) == "64K");
  CHECK(evo::format_size(3 << 20) == "3M");
  CHECK(evo::format_size(std::uint64_t{1} << 30) == "1G");
  CHECK(evo::format_size(1536) == "1536");
  std::uint64_t v = 0;
  CHECK(evo::parse_size("64K", v));
  CHECK(v == 65536);
  CHECK(evo::parse_size("2m", v));
  CHECK(v == (2u << 20));
  CHECK_FALSE(evo::parse_size("", v));
  CHECK_FALSE(evo::parse_size("K", v));
  CHECK_FALSE(evo::parse_size("12Q", v));
  CHECK_FALSE(evo::parse_size("-1", v));
  CHECK_FALSE(evo::parse_size("99999999999999999999", v));
  CHECK_FALSE(evo::parse_size("17179869184G", v));  // overflows 64 bits
}

TEST_CASE("parse fills defaults in schema order, common keys last") {
  AllocatorSpec s;
  std::string err;
  REQUIRE(parse_spec("pad", s, &err));
  CHECK(s.text() == "pad chunk=64K align=16 source=region harden=off front=none retain=0");
  REQUIRE(parse_spec("pad  harden=off chunk=131072", s, &err));  // any order, extra spaces
  CHECK(s.text() == "pad chunk=128K align=16 source=region harden=off front=none retain=0");
  CHECK(s.get_size("chunk") == 131072);
  CHECK(s.get("nope") == nullptr);
  REQUIRE(parse_spec("minimal align=64", s, &err));
  CHECK(s.text() == "minimal align=64 source=region harden=off front=none retain=0");
}

TEST_CASE("the optional key threads: in the text only when given, last; no default") {
  AllocatorSpec s;
  std::string err;
  REQUIRE(parse_spec("pad", s, &err));
  CHECK(s.get("threads") == nullptr);
  CHECK(s.text().find("threads") == std::string::npos);
  REQUIRE(parse_spec("pad threads=tlh chunk=4K", s, &err));
  CHECK(s.text() == "pad chunk=4K align=16 source=region harden=off front=none retain=0 threads=tlh");
  REQUIRE(s.get("threads") != nullptr);
  CHECK(*s.get("threads") == "tlh");
  AllocatorSpec again;
  REQUIRE(parse_spec(s.text(), again, &err));
  CHECK(again == s);
  REQUIRE(parse_spec("pad threads=lock", s, &err));
  CHECK(s.text().ends_with(" retain=0 threads=lock"));
  // Naming the model changes the design (the fitness-cache key), not the row.
  AllocatorSpec plain;
  REQUIRE(parse_spec("pad", plain, &err));
  CHECK_FALSE(plain == s);
  CHECK(evo::find_row(plain, &err) == evo::find_row(s, &err));
  CHECK_FALSE(parse_spec("pad threads=many", s, &err));
  CHECK(err.find("column 13") != std::string::npos);  // the value's column
  CHECK(err.find("bad value 'many' for threads; expected lock|tlh|tcache") != std::string::npos);
  CHECK_FALSE(parse_spec("pad threads=lock threads=tlh", s, &err));
  CHECK(err.find("duplicate key 'threads'") != std::string::npos);
  // tcache runs the front cache in every thread: it needs one, and no harden=checked.
  REQUIRE(parse_spec("pad front=tcache:64 threads=tcache", s, &err));
  CHECK(s.text() == "pad chunk=64K align=16 source=region harden=off front=tcache:64 retain=0 threads=tcache");
  CHECK_FALSE(parse_spec("pad threads=tcache", s, &err));
  CHECK(err.find("give front=tcache:B") != std::string::npos);
  CHECK_FALSE(parse_spec("pad harden=checked front=tcache:64 threads=tcache", s, &err));
  CHECK(err.find("harden=checked cannot see a double free") != std::string::npos);
  CHECK(parse_spec("pad harden=canary front=tcache:64 threads=tcache", s, &err));
}

TEST_CASE("canonical text is a fixed point") {
  for (const evo::RegistryRow& row : evo::rows()) {
    AllocatorSpec a, b;
    std::string err;
    REQUIRE_MESSAGE(parse_spec(row.name, a, &err), err);
    REQUIRE(parse_spec(a.text(), b, &err));
    CHECK(a == b);
    CHECK(a.text() == row.name);
  }
}

TEST_CASE("parser errors name the column and what is expected") {
  AllocatorSpec s;
  std::string err;
  CHECK_FALSE(parse_spec("", s, &err));
  CHECK(err.find("empty") != std::string::npos);
  CHECK_FALSE(parse_spec("slabby", s, &err));
  CHECK(err.find("column 1") != std::string::npos);
  CHECK(err.find("unknown allocator family 'slabby'") != std::string::npos);
  CHECK(err.find("pad") != std::string::npos);

  CHECK_FALSE(parse_spec("pad chunk", s, &err));
  CHECK(err.find("column 5") != std::string::npos);
  CHECK(err.find("KEY=VALUE") != std::string::npos);

  CHECK_FALSE(parse_spec("pad colour=red", s, &err));
  CHECK(err.find("unknown key 'colour'") != std::string::npos);
  CHECK(err.find("chunk") != std::string::npos);

  CHECK_FALSE(parse_spec("pad chunk=4K chunk=8K", s, &err));
  CHECK(err.find("duplicate key 'chunk'") != std::string::npos);
  CHECK(err.find("column 14") != std::string::npos);

  CHECK_FALSE(parse_spec("pad chunk=1K", s, &err));  // below the 4K minimum
  CHECK(err.find("column 11") != std::string::npos);
  CHECK(err.find("4K..64M") != std::string::npos);

  CHECK_FALSE(parse_spec("pad align=8", s, &err));
  CHECK(err.find("16|32|64") != std::string::npos);

  CHECK_FALSE(parse_spec("pad source=mmap", s, &err));  // pad needs the region
  CHECK(err.find("expected region") != std::string::npos);
}

TEST_CASE("superblock schema: kinds, ranges and cross-key checks") {
  AllocatorSpec s;
  std::string err;
  REQUIRE(parse_spec("superblock", s, &err));
  CHECK(s.text() ==
        "superblock classes=jemalloc sb=64K bins=fullness-list alg=bumpstack pagemap=flat cache=lazy large=16K "
        "align=16 source=mmap harden=off front=none retain=0");
  REQUIRE(parse_spec("superblock classes=linear:32 sb=1048576 large=524288", s, &err));
  CHECK(*s.get("classes") == "linear:32");
  CHECK(*s.get("sb") == "1M");
  CHECK(*s.get("large") == "512K");
  REQUIRE(parse_spec("superblock classes=fitted:12", s, &err));
  CHECK(*s.get("classes") == "fitted:12");

  CHECK_FALSE(parse_spec("superblock sb=48K", s, &err));
  CHECK(err.find("power-of-two") != std::string::npos);
  CHECK_FALSE(parse_spec("superblock sb=2M", s, &err));
  CHECK_FALSE(parse_spec("superblock classes=linear:24", s, &err));
  CHECK(err.find("multiple of 16") != std::string::npos);
  CHECK_FALSE(parse_spec("superblock classes=fitted:1", s, &err));
  CHECK_FALSE(parse_spec("superblock classes=golden", s, &err));
  CHECK_FALSE(parse_spec("superblock sb=16K large=16K", s, &err));
  CHECK(err.find("at most sb/2 = 8K") != std::string::npos);
  CHECK_FALSE(parse_spec("superblock large=1000", s, &err));
  CHECK(err.find("multiple of 64") != std::string::npos);
  CHECK_FALSE(parse_spec("superblock large=256 classes=linear:512", s, &err));
  CHECK(err.find("step exceeds") != std::string::npos);
  CHECK_FALSE(parse_spec("superblock bins=heap", s, &err));
  CHECK(err.find("unordered|mtf|fullness-array|fullness-list|fullness-mtf") != std::string::npos);
  CHECK_FALSE(parse_spec("superblock source=region", s, &err));
}
