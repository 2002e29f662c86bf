// core/route/router.hpp — the `route` family: a design that sends each allocation to
// one of three sub-designs by the call site it comes from.
//
//   route life=SIZE short=[DESIGN] long=none|[DESIGN] rest=[DESIGN]  (+ the common keys)
//
// Each bracketed DESIGN is a complete design of any other family (its own canonical
// text, core/spec.hpp), built as its own instance: its own MemorySource, its own
// front cache and hardening if it names them. The router sends an allocation to
//   short  the sites whose objects die young: at most 1% of the site's objects are
//          never freed, and the p90 of their lifetimes, in bytes allocated (by any
//          site) between an object's malloc and its free, is at most `life`;
//   long   (when not `none`) the sites that keep most of what they allocate: at least
//          half of the site's objects are never freed;
//   rest   every other site, the sites with fewer than kMinSiteAllocs objects (too
//          little evidence), the unknown site 0, and every site when no profile is
//          given (then the design behaves as its rest design plus the router's cost).
// The classes are decided once, when the instance is made, from
// InstanceOptions::sites (the trace's per-site lifetimes, evaluate/site_profile.hpp),
// so the evolution chooses the thresholds and the trace decides which site is which.
// Lifetimes in bytes rather than in ops: they stay comparable between a short and a
// long input of the same program (the same site frees after the same work).
//
// Site of a call: the thread-local `route_site`, set by the caller right before each
// allocating call (malloc, calloc, realloc, the aligned kinds): the replays set the
// trace's site id; a call made without setting it keeps the previous value, which only
// changes where a block goes, never correctness. A free goes to the sub-design whose
// memory holds the block (each sub-design's reservation is recorded in the router's
// MemoryGroup): no header, no lookup table; a realloc stays in its block's sub-design.
//
// Accounting (stats): footprint and peak are those of the sum of the sub-designs'
// sources (MemoryGroup: the peak of the sum, not a sum of peaks), and the instance's
// memory limit caps that sum; the counts are the sums. class_allocs(c) counts the
// allocations sent to each class.
//
// Checks (parse time): the router has no memory of its own, so its own align, source
// and retain keys stay at their defaults (16, mmap, 0: give them to the sub-designs);
// a sub-design cannot route again nor name a thread model (the whole design has one,
// given at the top: `route ... threads=lock`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/instance.hpp"
#include "core/registry.hpp"

namespace evo {

/// The call site of the allocating call being made (see the header comment): a trace
/// site id in the replays; in the exported library 1 + the class of the caller's
/// return address (export/site_map.hpp). 0 = unknown (the rest class). Initial-exec:
/// the exported library is preloaded, and its shim's own thread-locals are too.
inline thread_local std::uint32_t route_site __attribute__((tls_model("initial-exec"))) = 0;

/// Sites with fewer objects than this go to the rest class.
inline constexpr std::uint64_t kMinSiteAllocs = 8;

enum class RouteClass : std::uint8_t { Short = 0, Long = 1, Rest = 2 };
inline constexpr std::size_t kRouteClasses = 3;
/// "short" / "long" / "rest".
const char* route_class_name(RouteClass c);

/// The class of one site with the given profile under the thresholds (see above).
/// has_long: the design has a long sub-design (else long sites go to rest).
RouteClass classify_site(const SiteLife& s, std::uint64_t life, bool has_long);

const FamilySchema& route_schema();
void route_add_rows(std::vector<RegistryRow>& out);

class Router {
 public:
  /// The row's create: each sub-design built by Instance::create from its text, the
  /// sites classified from opt.sites.
  static Router* create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err);

  // Assembly, for create and for the exported library (evoalloc_runtime.hpp), which
  // builds its sub-designs from generated constants instead of spec texts:
  /// An empty router (no sub-design, every site rest) whose sub-designs' sources are
  /// counted together, their sum capped at `limit` bytes (0 = none). nullptr on OOM.
  static Router* make(std::uint64_t limit);
  /// `base` for building the sub-design of class c: the router's group (the sources
  /// made next record tag c) and no limit of its own (the group's caps the sum).
  InstanceOptions sub_options(RouteClass c, const InstanceOptions& base);
  void set_sub(RouteClass c, Instance sub) { sub_[static_cast<std::size_t>(c)] = std::move(sub); }
  /// The class of each route_site value (RouteClass values; past the end: rest).
  void set_classes(std::vector<std::uint8_t> classes) { class_of_ = std::move(classes); }
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  void* allocate(std::size_t size, std::size_t align) {
    const std::uint32_t s = route_site;
    const std::size_t c = s < class_of_.size() ? class_of_[s] : kRest;
    ++class_allocs_[c];
    return sub_[c].allocate(size, align);
  }
  void deallocate(void* p) {
    if (p != nullptr) sub_[owner(p)].deallocate(p);
  }
  void* reallocate(void* p, std::size_t size) {
    if (p == nullptr) return allocate(size, 16);
    return sub_[owner(p)].reallocate(p, size);
  }
  std::size_t usable_size(const void* p) const { return sub_[owner(p)].usable_size(p); }
  std::size_t good_size(std::size_t size) const { return sub_[kRest].ops().good_size(sub_[kRest].state(), size); }
  void stats(AllocStats* out) const;
  bool validate(ValidateLevel level, std::string* err) const;

  /// Allocations sent to class c so far.
  std::uint64_t class_allocs(RouteClass c) const { return class_allocs_[static_cast<std::size_t>(c)]; }
  /// The class of trace site `site` (Rest past the profile).
  RouteClass class_of(std::uint32_t site) const {
    return site < class_of_.size() ? static_cast<RouteClass>(class_of_[site]) : RouteClass::Rest;
  }
  /// The class whose sub-design holds block p (Rest for an address of none).
  RouteClass owner_of(const void* p) const { return static_cast<RouteClass>(owner(p)); }
  /// The sub-design of class c (empty for long when the design has none).
  const Instance& sub(RouteClass c) const { return sub_[static_cast<std::size_t>(c)]; }

 private:
  static constexpr std::size_t kRest = static_cast<std::size_t>(RouteClass::Rest);
  Router() = default;
  std::size_t owner(const void* p) const { return group_.tag_of(p, kRest); }

  MemoryGroup group_;  // first: the sub-designs' sources point at it until they die
  Instance sub_[kRouteClasses];
  std::vector<std::uint8_t> class_of_;  // per trace site id
  std::uint64_t class_allocs_[kRouteClasses] = {};
};

}  // namespace evo
