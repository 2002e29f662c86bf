// Tests of the hardening layer (core/layers/harden): a one-byte overflow, a double
// free and a foreign free are reported with a clear message; the default hook
// aborts; clean workloads never report; alignment survives the header.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "core/instance.hpp"
#include "core/layers/harden.hpp"
#include "tests/core/stress.hpp"

namespace {

constexpr std::size_t kOps = evo::test::stress_ops(20000, 3000);

struct Reports {
  std::vector<std::string> kinds;
  std::vector<std::string> messages;
  const void* last_ptr = nullptr;
};

void record(void* ctx, const evo::HardenReport& r) {
  auto* rep = static_cast<Reports*>(ctx);
  rep->kinds.emplace_back(r.kind);
  rep->messages.emplace_back(r.message);
  rep->last_ptr = r.ptr;
}

/// Installs the recording hook for the scope of a test.
struct HookScope {
  Reports rep;
  evo::HardenHook prev;
  void* prev_ctx = nullptr;
  HookScope() { prev = evo::set_harden_hook(&record, &rep, &prev_ctx); }
  ~HookScope() { evo::set_harden_hook(prev, prev_ctx); }
};

using evo::test::make;

const char* kDesigns[] = {"btag", "block fit=best", "buddy", "superblock", "slab"};

/// body(design, instance, reports) for each of kDesigns with harden=MODE (CAPTUREd),
/// under the recording hook.
template <class Body>
void for_each_hardened(const char* mode, Body body) {
  for (const char* d : kDesigns) {
    const std::string text = std::string(d) + " harden=" + mode;
    CAPTURE(text);
    HookScope hook;
    evo::Instance a = make(text);
    body(d, a, hook.rep);
  }
}

}  // namespace

TEST_CASE("harden=canary catches a one-byte overflow at free, and the block is still freed") {
  for_each_hardened("canary", [](const char*, evo::Instance& a, const Reports& rep) {
    CHECK(a.row().name.find("harden=canary") != std::string::npos);
    char* p = static_cast<char*>(a.allocate(100));
    CHECK(a.usable_size(p) == 100);
    std::memset(p, 1, 100);  // in bounds: fine
    a.deallocate(p);
    CHECK(rep.kinds.empty());
    char* q = static_cast<char*>(a.allocate(37));
    q[37] = 'x';  // one byte too far
    a.deallocate(q);
    REQUIRE(rep.kinds.size() == 1);
    CHECK(rep.kinds[0] == "overflow");
    CHECK(rep.last_ptr == q);
    CHECK(rep.messages[0].find("evoalloc harden: overflow at") == 0);
    std::string err;
    CHECK_MESSAGE(a.validate(evo::ValidateLevel::Full, &err), err);
  });
}

TEST_CASE("harden=checked reports a double free and a foreign free, and ignores them") {
  for_each_hardened("checked", [](const char* d, evo::Instance& a, const Reports& rep) {
    evo::Instance other = make(std::string(d));
    void* keep = a.allocate(64);
    void* p = a.allocate(64);
    a.deallocate(p);
    a.deallocate(p);  // double free
    REQUIRE(rep.kinds.size() == 1);
    CHECK(rep.kinds[0] == "double-free");
    void* foreign = other.allocate(64);
    a.deallocate(foreign);  // never returned by `a`
    int on_stack = 0;
    a.deallocate(&on_stack);
    REQUIRE(rep.kinds.size() == 3);
    CHECK(rep.kinds[1] == "invalid-free");
    CHECK(rep.kinds[2] == "invalid-free");
    CHECK(a.reallocate(foreign, 100) == nullptr);
    CHECK(rep.kinds.size() == 4);
    std::string err;
    CHECK_MESSAGE(a.validate(evo::ValidateLevel::Full, &err), err);
    other.deallocate(foreign);
    a.deallocate(keep);
    CHECK(rep.kinds.size() == 4);
  });
}

TEST_CASE("harden=checked: validate(Full) finds an overflow before the block is freed") {
  HookScope hook;
  evo::Instance a = make("btag harden=checked");
  char* p = static_cast<char*>(a.allocate(24));
  std::string err;
  CHECK(a.validate(evo::ValidateLevel::Full, &err));
  p[24] = 0;
  CHECK_FALSE(a.validate(evo::ValidateLevel::Full, &err));
  CHECK(err.find("guard word") != std::string::npos);
}

TEST_CASE("the default hook prints the report and aborts") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::signal(SIGABRT, SIG_DFL);  // doctest's crash handler must not intercept
    dup2(fds[1], 2);
    close(fds[0]);
    evo::set_harden_hook(nullptr, nullptr);
    std::string err;
    evo::Instance a = evo::Instance::create("btag harden=checked", {}, &err);
    void* p = a.allocate(10);
    a.deallocate(p);
    a.deallocate(p);
    _exit(0);  // not reached
  }
  close(fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(out.find("evoalloc harden: double-free at 0x") != std::string::npos);
  CHECK(WIFSIGNALED(status));
  if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == SIGABRT);
}

TEST_CASE("hardened rows keep the alignment, realloc semantics and pass the stress harness without reports") {
  for (const char* d : kDesigns) {
    for (const char* mode : {"canary", "checked"}) {
      std::string text = std::string(d) + " align=64 harden=" + mode;
      CAPTURE(text);
      HookScope hook;
      evo::Instance a = make(text);
      void* p = a.allocate(10);
      CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
      a.deallocate(p);
      evo::test::StressResult r = evo::test::run_stress(a, evo::test::stress_config(31, kOps, 100000, 2500));
      CHECK_MESSAGE(r.ok, r.error);
      CHECK(hook.rep.kinds.empty());
    }
  }
}

TEST_CASE("wrap_hardening rejects an unknown mode") {
  std::string err;
  const evo::RegistryRow* row = &evo::rows()[0];
  void* state = reinterpret_cast<void*>(0x1);
  CHECK_FALSE(evo::wrap_hardening("paranoid", row, state, &err));
  CHECK(err.find("off|canary|checked") != std::string::npos);
  CHECK(row == &evo::rows()[0]);
}

TEST_CASE("the hardening layer reports its own metadata touches to the probe") {
  struct Counter {
    std::uint64_t touches = 0;
    std::uint64_t bytes = 0;
  };
  auto count_touches = [](const char* text) {
    Counter c;
    evo::Probe probe{[](void* ctx, const void*, std::uint32_t n) {
                       auto* k = static_cast<Counter*>(ctx);
                       ++k->touches;
                       k->bytes += n;
                     },
                     &c};
    evo::InstanceOptions opt;
    opt.probe = &probe;
    std::string err;
    evo::Instance inst = evo::Instance::create(text, opt, &err);
    REQUIRE_MESSAGE(inst, err);
    std::vector<void*> blocks;
    for (int i = 0; i < 200; ++i) blocks.push_back(inst.allocate(24 + i % 5 * 40));
    for (void* p : blocks) inst.deallocate(p);
    return c;
  };
  Counter off = count_touches("btag");
  Counter canary = count_touches("btag harden=canary");
  Counter checked = count_touches("btag harden=checked");
  // Per allocate + free: canary adds header and guard touches (4 at least);
  // checked adds the live-set slot lookups on top.
  CHECK(canary.touches >= off.touches + 4 * 200);
  CHECK(checked.touches > canary.touches);
  CHECK(canary.bytes > off.bytes);
}
