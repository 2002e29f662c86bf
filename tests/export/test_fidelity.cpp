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
    CHECK(rt.offsets.size() > kPrefix / 3);  // the prefix really allocated
  }
}
