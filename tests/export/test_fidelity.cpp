// tests/export/test_fidelity.cpp — what was measured is what ships: a prefix of
// the real espresso trace replayed through the runtime instance (registry row) and
// through the exported library (its replay driver, a separate process linked
// against lib<NAME>.a) gives the same peak footprint, the same final stats and the
// same sequence of block offsets, for designs of every family.
//
// Offsets are taken from the first block returned (export/ops_replay.hpp): the
// MemorySource base is not observable through AllocatorOps; both sequences are
// base-relative up to one constant, and a diverging first block would show in the
// footprint and in every later offset of a region/chunk mix.
#include <doctest/doctest.h>

#include <filesystem>

#include "core/instance.hpp"
#include "core/route/router.hpp"
#include "evaluate/site_profile.hpp"
#include "export_lib.hpp"
#include "export/ops_replay.hpp"

namespace {

using export_test::build;

#ifdef EVOALLOC_SANITIZE
constexpr std::size_t kPrefix = 40000;
#else
constexpr std::size_t kPrefix = 150000;
#endif

/// The first `n` ops of a trace as an op file (aligned kinds keep their alignment;
/// pvalloc rounds to pages, as replay does).
evo_export::OpList to_ops(const evo::Trace& t, std::size_t n) {
  evo_export::OpList l;
  l.slots = t.objects;
  for (std::size_t i = 0; i < n && i < t.ops.size(); ++i) {
    const evo::Op& op = t.ops[i];
    evo_export::OpRecord r{};
    r.slot = op.object;
    r.size = t.size_of(i);
    r.align = op.align_log2 ? std::uint64_t{1} << op.align_log2 : 16;
    switch (op.kind) {
      case evo::OpKind::Malloc: r.kind = 0; break;
      case evo::OpKind::Calloc: r.kind = 1; break;
      case evo::OpKind::Realloc: r.kind = 2; break;
      case evo::OpKind::Free: r.kind = 3; break;
      case evo::OpKind::Pvalloc:
        r.kind = 0, r.align = 4096, r.size = (r.size + 4095) & ~std::uint64_t{4095};
        break;
      case evo::OpKind::Valloc: r.kind = 0, r.align = 4096; break;
      default: r.kind = 0; break;
    }
    l.ops.push_back(r);
  }
  return l;
}

struct Runtime {
  std::vector<std::int64_t> offsets;
  evo::AllocStats stats;
  std::uint64_t failed;
};

Runtime run_runtime(const std::string& sentence, const evo_export::OpList& ops, const std::vector<evo::SizeCount>& hist) {
  evo::InstanceOptions io;
  io.size_histogram = hist;
  std::string err;
  evo::Instance inst = evo::Instance::create(sentence, io, &err);
  REQUIRE_MESSAGE(inst, err);
  evo_export::ReplayOut r = evo_export::replay_ops(ops, inst);
  return {std::move(r.offsets), inst.stats(), r.failed};
}

/// The replay driver's output file `out` holds the runtime's stats, failures and
/// block offsets, block for block.
void check_same(const std::string& out, const Runtime& rt) {
  std::istringstream in(export_test::slurp(out));
  std::string w;
  std::uint64_t peak = 0, footprint = 0, allocs = 0, frees = 0, os_calls = 0, failed = 0;
  in >> w >> peak >> w >> footprint >> w >> allocs >> w >> frees >> w >> os_calls >> w >> failed;
  REQUIRE(in);
  CHECK(peak == rt.stats.peak_footprint);
  CHECK(footprint == rt.stats.footprint);
  CHECK(allocs == rt.stats.allocs);
  CHECK(frees == rt.stats.frees);
  CHECK(os_calls == rt.stats.os_calls);
  CHECK(failed == rt.failed);
  std::vector<std::int64_t> offsets;
  offsets.reserve(rt.offsets.size());
  for (long long o; in >> o;) offsets.push_back(o);
  REQUIRE(offsets.size() == rt.offsets.size());
  std::size_t first_diff = offsets.size();
  for (std::size_t i = 0; i < offsets.size(); ++i)
    if (offsets[i] != rt.offsets[i]) {
      first_diff = i;
      break;
    }
  CHECK_MESSAGE(first_diff == offsets.size(), "first differing block offset at block " << first_diff);
}

}  // namespace

TEST_CASE("fidelity: exported libraries replay espresso exactly like the runtime instances") {
  const evo::Trace trace = evo::read_trace(export_test::source_dir() + "/traces/espresso.trace");
  const std::vector<evo::SizeCount> hist = evo::size_histogram(trace);
  const evo_export::OpList ops = to_ops(trace, kPrefix);
  const std::string ops_file = export_test::libs_dir() + "/espresso_prefix.ops";
  std::filesystem::create_directories(export_test::libs_dir());
  REQUIRE(evo_export::write_ops(ops_file, ops));

  // Designs of every family (lock, tlh and tcache thread models: the replay driver
  // links the malloc shim statically, so its own mallocs go through each model),
  // numeric parameters off their defaults, a fitted class table, hardening, the
  // cache front end: 18 libraries.
  std::vector<export_test::Design> designs;
  for (const export_test::Design& d : export_test::kFamilyDesigns) designs.push_back(d);
  for (const export_test::Design& d : export_test::kTlhDesigns) designs.push_back(d);
  for (const export_test::Design& d : export_test::kTcacheDesigns) designs.push_back(d);
  for (const export_test::Design& d : export_test::kFidelityDesigns) designs.push_back(d);
  for (const export_test::Design& d : designs) {
    CAPTURE(d.sentence);
    evo::AllocatorSpec spec;
    std::string err;
    REQUIRE_MESSAGE(evo::parse_spec(d.sentence, spec, &err), err);
    const bool fitted = spec.get("classes") != nullptr && spec.get("classes")->starts_with("fitted:");
    const std::string dir =
        build(d.name, d.sentence, &err, fitted ? hist : std::vector<evo::SizeCount>{}, export_test::threads_of(d.name));
    REQUIRE_MESSAGE(!dir.empty(), err);
    const std::string out = dir + "/replay.out";
    REQUIRE(export_test::run(dir + "/" + d.name + "_replay " + ops_file + " " + out) == 0);

    Runtime rt = run_runtime(spec.text(), ops, hist);
    check_same(out, rt);
    CHECK(rt.offsets.size() > kPrefix / 3);  // the prefix really allocated
  }
}

namespace {

/// A routing design's instance as replay_ops drives it: each op's site value picks the
/// class (0 rest, 1 short, 2 long, as in the exported library), blocks are keyed by
/// the sub-design that holds them.
struct RoutedInstance {
  evo::Instance& inst;
  evo::Router* router;
  void* allocate(std::size_t n, std::size_t a) { return inst.allocate(n, a); }
  void deallocate(void* p) { inst.deallocate(p); }
  void* reallocate(void* p, std::size_t n) { return inst.reallocate(p, n); }
  void route(std::uint8_t site) { evo::route_site = site; }
  unsigned region_of(const void* p) const { return static_cast<unsigned>(router->owner_of(p)); }
};

}  // namespace

TEST_CASE("fidelity: a routing design's export routes and replays like the runtime instance") {
  const evo::Trace trace = evo::read_trace(export_test::source_dir() + "/traces/espresso.trace");
  const std::vector<evo::SiteLife> lives = evo::site_lives(trace);
  const std::string sentence = "route life=16K short=[slab slab=64K] long=[pad] rest=[superblock front=tcache:64]";
  // The classes evaluation gives espresso's sites: each op carries 1 + its class (0 rest).
  evo::InstanceOptions eval_io;
  eval_io.sites = lives;
  std::string err;
  evo::Instance eval = evo::Instance::create(sentence, eval_io, &err);
  REQUIRE_MESSAGE(eval, err);
  const auto& eval_router = *static_cast<const evo::Router*>(eval.state());
  evo_export::OpList ops = to_ops(trace, kPrefix);
  std::size_t routed = 0;
  for (std::size_t i = 0; i < ops.ops.size(); ++i) {
    const evo::RouteClass c = eval_router.class_of(trace.ops[i].site);
    ops.ops[i].site = c == evo::RouteClass::Rest ? 0 : static_cast<std::uint8_t>(1 + static_cast<int>(c));
    routed += ops.ops[i].site != 0;
  }
  CHECK(routed > kPrefix / 4);
  const std::string ops_file = export_test::libs_dir() + "/espresso_prefix_routed.ops";
  std::filesystem::create_directories(export_test::libs_dir());
  REQUIRE(evo_export::write_ops(ops_file, ops));

  // The export, its site table from the same trace.
  evo::ExportRequest req;
  REQUIRE(export_test::request("x_route_fid", sentence, {}, "lock", &req, &err));
  req.sites = evo::export_sites(trace);
  REQUIRE_MESSAGE(evo::write_export(req, &err), err);
  REQUIRE_MESSAGE(evo::build_export(req.out_dir, 2, &err), err);
  const std::string out = req.out_dir + "/replay.out";
  REQUIRE(export_test::run(req.out_dir + "/x_route_fid_replay " + ops_file + " " + out) == 0);

  // The runtime instance, its classes set the way the library sets them.
  evo::Instance inst = evo::Instance::create(sentence, {}, &err);
  REQUIRE_MESSAGE(inst, err);
  auto* router = static_cast<evo::Router*>(inst.state());
  router->set_classes({static_cast<std::uint8_t>(evo::RouteClass::Rest), static_cast<std::uint8_t>(evo::RouteClass::Short),
                       static_cast<std::uint8_t>(evo::RouteClass::Long)});
  RoutedInstance ri{inst, router};
  const evo_export::ReplayOut rt = evo_export::replay_ops(ops, ri);
  const evo::AllocStats st = inst.stats();
  CHECK(router->class_allocs(evo::RouteClass::Short) > 0);

  check_same(out, Runtime{rt.offsets, st, rt.failed});
  evo::route_site = 0;
}
