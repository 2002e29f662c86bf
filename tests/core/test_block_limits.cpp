// Failure paths of the families' rows (block, textbook, buddy, hardening): under a
// footprint cap every row eventually returns nullptr (never crashes), stays valid,
// frees everything it handed out, and serves again afterwards. Also: bad numeric
// parameters are refused with a one-line error at instance creation.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/instance.hpp"

namespace {

bool is_ours(std::string_view f) {
  for (std::string_view x : {"block", "freelist", "btag", "dlbins", "reap", "fixed", "slab", "vm", "buddy"})
    if (f == x) return true;
  return false;
}

}  // namespace

TEST_CASE("every row of the families fails cleanly at the memory limit and recovers") {
  int rows = 0;
  for (const evo::RegistryRow& row : evo::rows()) {
    if (!is_ours(row.family)) continue;
    for (const char* harden : {"off", "checked"}) {
      if (std::string(harden) != "off" && row.id % 7 != 0) continue;  // hardening on a sample
      std::string text = row.name.substr(0, row.name.rfind(" harden=")) + " harden=" + harden;
      CAPTURE(text);
      evo::InstanceOptions opt;
      opt.memory_limit = 2 << 20;
      std::string err;
      evo::Instance a = evo::Instance::create(text, opt, &err);
      REQUIRE_MESSAGE(a, err);
      std::vector<void*> live;
      std::uint64_t x = 12345 + row.id;
      bool failed = false;
      for (int i = 0; i < 200000 && !failed; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        std::size_t size = (x >> 33) % 3 == 0 ? 1 + (x >> 40) % 20000 : 1 + (x >> 40) % 300;
        void* p = a.allocate(size, (x >> 20) % 8 == 0 ? 256 : 16);
        if (p == nullptr) {
          failed = true;
        } else {
          live.push_back(p);
        }
      }
      CHECK(failed);
      CHECK(a.stats().footprint <= opt.memory_limit);
      CHECK_MESSAGE(a.validate(evo::ValidateLevel::Full, &err), err);
      for (std::size_t i = 0; i < live.size(); i += 2) a.deallocate(live[i]);
      CHECK_MESSAGE(a.validate(evo::ValidateLevel::Full, &err), err);
      for (std::size_t i = 1; i < live.size(); i += 2) a.deallocate(live[i]);
      CHECK_MESSAGE(a.validate(evo::ValidateLevel::Full, &err), err);
      void* again = a.allocate(1000);
      CHECK(again != nullptr);
      a.deallocate(again);
      ++rows;
    }
  }
  CHECK(rows > 80);
}

TEST_CASE("unusable parameters are refused with a one-line error") {
  std::string err;
  for (const char* bad : {"block fit=worst", "block split_min=16", "btag chunk=1K", "dlbins bins=1", "fixed sizes=",
                          "fixed fallback=block", "slab slab=5000", "slab source=region", "vm source=region",
                          "buddy min=8", "buddy large=512K", "reap chunk=0"}) {
    CAPTURE(bad);
    err.clear();
    evo::Instance a = evo::Instance::create(bad, {}, &err);
    CHECK_FALSE(a);
    CHECK(!err.empty());
    CHECK(err.find('\n') == std::string::npos);
  }
}
