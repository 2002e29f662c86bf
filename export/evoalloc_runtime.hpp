// evoalloc_runtime.hpp — the exported design as one heap object (part of every
// export; copied into DIR/include/ by `evoalloc export`).
//
// Contract:
//   evo_export::Heap h;  h.init(&err)   builds a fresh, private instance of the
//                                       design described by the generated design.hpp
//                                       (its own MemorySource, nothing shared);
//                                       false + one line in err on failure.
//   allocate/deallocate/reallocate/usable_size/stats  exactly the semantics of
//                                       core/ops.hpp (align <= 16 = default; size 0
//                                       gives a unique block; realloc(p, 0) frees).
//   destroy()                           returns every byte to the OS.
// Not thread-safe (one user at a time); the malloc shim (shim.cpp) adds the lock.
// evo_export::BackHeap is the same without the design's front cache (front=tcache:B):
// thread model tcache runs that cache in every thread (shim.cpp) over one BackHeap.
// The heap may allocate with malloc while init() runs (spec strings, the class
// table); the shim serves those calls from a static bootstrap arena. After init
// the design never calls malloc.
//
// design.hpp (generated) provides, in namespace evo_export:
//   kName, kSentence, kFamily, kParams[] / kParamCount, kHarden,
//   kHistogram[] / kHistogramSize (the trace's size histogram for fitted classes),
//   EVO_EXPORT_HARDEN when harden != off (the hardening layer wraps the row),
//   kConcurrentUsableSize (the family row's Traits::concurrent_usable_size),
//   EVO_EXPORT_FRONT + kFrontBound when front=tcache:B (typed: Design is already
//   FrontCache<TypedBack<...>>, one inlined pipeline; row route: the cache is put
//   around the row here, calling it through its function pointers, as evaluation does),
//   and either EVO_EXPORT_TYPED + `using Design = <the composed template>` (the
//   allocator class is named directly and called without any indirection) or
//   EVO_EXPORT_ROW_ROUTE + kAddRows/kRowName (families whose allocator class is
//   private to its .cpp: the row that file registers is used, same code, one
//   indirect call per request).
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "core/adapter.hpp"
#include "core/layers/front.hpp"
#include "core/layers/harden.hpp"
#include "core/ops.hpp"
#include "core/registry.hpp"
#include "core/spec.hpp"
#include "design.hpp"
#ifdef EVO_EXPORT_ROUTE
#include "core/instance.hpp"
#include "core/route/router.hpp"
#endif

namespace evo {
/// The export's one registry row, published for rows() (src/registry_stub.cpp).
void set_export_row(const RegistryRow* row);
}  // namespace evo

namespace evo_export {

#ifdef EVO_EXPORT_TYPED
#ifdef EVO_EXPORT_FRONT
using BackDesign = Backend;  // Design = FrontCache<TypedBack<Backend>>
#else
using BackDesign = Design;
#endif
#endif

/// Puts the cache front end (bound B) around a row's state, as Instance::create does
/// (for designs called through their row): `row` becomes a copy of it with the
/// front's functions, one static copy per Tag. On failure the state is destroyed.
template <class Tag>
bool wrap_row_front(const evo::RegistryRow*& row, void*& state, std::uint32_t bound, std::size_t align,
                    std::string* err) {
  static const evo::RegistryRow front_row = [r = row] {
    evo::RegistryRow x = *r;
    x.ops = evo::ops_front_row_ops();
    return x;
  }();
  void* fc = evo::make_ops_front(&row->ops, state, bound, align, nullptr, err);
  if (fc == nullptr) {
    row->ops.destroy(state);
    return false;
  }
  row = &front_row;
  state = fc;
  return true;
}

#ifdef EVO_EXPORT_ROUTE
/// A routing design's sub-design of class c, from its struct of design.hpp (RouteShort,
/// RouteLong, RouteRest): its row's create with the router's memory group, then its
/// own front cache around the row and its hardening around both when it names them
/// (as Instance::create does; the hardening layer's wrapper rows all share one set of
/// functions, which call the wrapped row kept in their state).
template <class Sub>
bool make_route_sub(evo::Router& r, evo::RouteClass c, const evo::InstanceOptions& base, std::string* err) {
  evo::AllocatorSpec spec;
  spec.family = Sub::kFamily;
  for (std::size_t i = 0; i < Sub::kParamCount; ++i) spec.params.emplace_back(Sub::kParams[i].key, Sub::kParams[i].value);
  const evo::RegistryRow* row = Sub::row(err);
  if (row == nullptr) return false;
  void* state = row->create(spec, r.sub_options(c, base), err);
  if (state == nullptr) {
    if (err != nullptr && err->empty()) *err = std::string("cannot create the sub-design '") + Sub::kSentence + "'";
    return false;
  }
  if constexpr (Sub::kFrontBound != 0)
    if (!wrap_row_front<Sub>(row, state, Sub::kFrontBound, static_cast<std::size_t>(spec.get_size("align")), err))
      return false;
  if (std::string_view(Sub::kHarden) != "off" &&
      !evo::wrap_hardening(Sub::kHarden, row, state, err, static_cast<std::size_t>(spec.get_size("align")))) {
    row->ops.destroy(state);
    return false;
  }
  r.set_sub(c, evo::Instance(row, state));
  return true;
}

/// The router of a routing design with its sub-designs. The shim sets evo::route_site
/// to 1 + the class of the caller's site (export/site_map.hpp), 0 when the site is
/// not in the table: the class table maps those values.
inline evo::Router* make_router(const evo::InstanceOptions& opt, std::string* err) {
  evo::Router* r = evo::Router::make(opt.memory_limit);
  if (r == nullptr) {
    if (err != nullptr) *err = "route: out of memory";
    return nullptr;
  }
  bool ok = make_route_sub<RouteShort>(*r, evo::RouteClass::Short, opt, err);
#ifdef EVO_EXPORT_ROUTE_LONG
  ok = ok && make_route_sub<RouteLong>(*r, evo::RouteClass::Long, opt, err);
#endif
  ok = ok && make_route_sub<RouteRest>(*r, evo::RouteClass::Rest, opt, err);
  if (!ok) {
    delete r;
    return nullptr;
  }
  using C = evo::RouteClass;
  r->set_classes({static_cast<std::uint8_t>(C::Rest), static_cast<std::uint8_t>(C::Short),
                  static_cast<std::uint8_t>(C::Long)});
  return r;
}
#endif

/// The design's instance; WithFront = false leaves out its front cache.
template <bool WithFront>
class BasicHeap {
#ifdef EVO_EXPORT_TYPED
  using Direct = std::conditional_t<WithFront, Design, BackDesign>;
#endif

 public:
  /// Creates the instance; `limit` caps its footprint in bytes (0 = none).
  bool init(std::string* err, std::size_t limit = 0) {
    evo::AllocatorSpec spec;
    spec.family = kFamily;
    for (std::size_t i = 0; i < kParamCount; ++i) spec.params.emplace_back(kParams[i].key, kParams[i].value);
    evo::InstanceOptions opt;
    opt.memory_limit = limit;
    opt.size_histogram = std::span<const evo::SizeCount>(kHistogram, kHistogramSize);
    const evo::RegistryRow* row = design_row(err);
    if (row == nullptr) return false;
    evo::set_export_row(row);
#ifdef EVO_EXPORT_ROUTE
    router_ = make_router(opt, err);
    void* state = router_;
#else
    void* state = row->create(spec, opt, err);
#endif
    if (state == nullptr) {
      if (err != nullptr && err->empty()) *err = std::string("cannot create the design '") + kSentence + "'";
      return false;
    }
#if defined(EVO_EXPORT_FRONT) && !defined(EVO_EXPORT_TYPED)
    if constexpr (WithFront)
      if (!wrap_row_front<BasicHeap>(row, state, kFrontBound, static_cast<std::size_t>(spec.get_size("align")), err))
        return false;
#endif
#ifdef EVO_EXPORT_HARDEN
    if (!evo::wrap_hardening(kHarden, row, state, err, static_cast<std::size_t>(spec.get_size("align")))) {
      row->ops.destroy(state);
      return false;
    }
#endif
    ops_ = &row->ops;
    state_ = state;
#if defined(EVO_EXPORT_TYPED) && !defined(EVO_EXPORT_HARDEN)
    direct_ = static_cast<Direct*>(state);
#endif
    return true;
  }

  bool ok() const { return state_ != nullptr; }
#ifdef EVO_EXPORT_ROUTE
  /// The router under the design's front cache and hardening (its per-class counts).
  const evo::Router* router() const { return router_; }
  /// For the fidelity replay (ops_replay.hpp): the site of the next call, and the
  /// class whose sub-design holds p.
  void route(std::uint8_t site) { evo::route_site = site; }
  unsigned region_of(const void* p) const { return static_cast<unsigned>(router_->owner_of(p)); }
#endif

#if defined(EVO_EXPORT_TYPED) && !defined(EVO_EXPORT_HARDEN)
  // The composed class called directly (the shim calls these only after init()).
  void* allocate(std::size_t n, std::size_t a) { return direct_->allocate(n, a); }
  /// The design's inline fast path for a request at the default alignment, when
  /// the class has one (simple::Slab::try_allocate): a block, or nullptr when
  /// allocate() must be called. Designs without one always say nullptr.
  template <class D = Direct>  // a template, so the branch not taken is not compiled
  [[gnu::always_inline]] void* try_allocate(std::size_t n) {
    if constexpr (requires(D& d) { d.try_allocate(n); })
      return static_cast<D*>(direct_)->try_allocate(n);
    else
      return nullptr;
  }
  void deallocate(void* p) { direct_->deallocate(p); }
  void* reallocate(void* p, std::size_t n) { return direct_->reallocate(p, n); }
  std::size_t usable_size(const void* p) const { return direct_->usable_size(p); }
  std::size_t good_size(std::size_t n) const { return evo::RowAdapter<Direct>::good_size(direct_, n); }
#else
  void* allocate(std::size_t n, std::size_t a) { return ops_->allocate(state_, n, a); }
  void* try_allocate(std::size_t) { return nullptr; }
  void deallocate(void* p) { ops_->deallocate(state_, p); }
  void* reallocate(void* p, std::size_t n) { return ops_->reallocate(state_, p, n); }
  std::size_t usable_size(const void* p) const { return ops_->usable_size(state_, p); }
  std::size_t good_size(std::size_t n) const { return ops_->good_size(state_, n); }
#endif
  /// The family row's Traits::concurrent_usable_size (thread model tcache: frees find
  /// a block's size without the shared lock). Hardening keeps it: its usable_size
  /// reads the block's own header.
  static constexpr bool concurrent_usable_size() { return kConcurrentUsableSize; }
  evo::AllocStats stats() const {
    evo::AllocStats s;
    if (state_ != nullptr) ops_->stats(state_, &s);
    return s;
  }
  bool validate(evo::ValidateLevel level, std::string* err) const { return ops_->validate(state_, level, err); }
  void destroy() {
    if (state_ != nullptr) ops_->destroy(state_);
    state_ = nullptr;
#ifdef EVO_EXPORT_ROUTE
    router_ = nullptr;
#endif
#ifdef EVO_EXPORT_TYPED
    direct_ = nullptr;
#endif
  }

  /// The design's row (id 0), also the one row of the export's registry stub (so
  /// the hardening layer, which wraps registry rows, finds it).
  static const evo::RegistryRow* design_row(std::string* err) {
#ifdef EVO_EXPORT_TYPED
    (void)err;
    static const evo::RegistryRow row = evo::make_row<Direct>(kSentence, evo::Traits{});
    return &row;
#else
    static const std::vector<evo::RegistryRow> rows = [] {
      std::vector<evo::RegistryRow> v;
      kAddRows(v);
      return v;
    }();
    for (const evo::RegistryRow& r : rows)
      if (r.name == kRowName) return &r;
    if (err != nullptr) *err = std::string("the family file registers no row '") + kRowName + "'";
    return nullptr;
#endif
  }

 private:
  const evo::AllocatorOps* ops_ = nullptr;
  void* state_ = nullptr;
#ifdef EVO_EXPORT_ROUTE
  evo::Router* router_ = nullptr;
#endif
#ifdef EVO_EXPORT_TYPED
  Direct* direct_ = nullptr;
#endif
};

using Heap = BasicHeap<true>;
using BackHeap = BasicHeap<false>;

}  // namespace evo_export
