// core/simple/slab_alloc.hpp — Slab: the allocator class of the `slab` row (see
// family.hpp), in a header so the exporter can instantiate it.
#pragma once

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>
#include <string>

#include "core/adapter.hpp"
#include "core/block/make.hpp"
#include "core/probe.hpp"
#include "core/simple/mapped_block.hpp"
#include "core/simple/source_backed.hpp"
#include "core/source/lazy_table.hpp"
#include "core/source/memory_source.hpp"
#include "core/source/meta_arena.hpp"

namespace evo::simple {

inline constexpr std::uint64_t kSlabMagic = 0x534c4142534c4142ull;   // "SLABSLAB"
inline constexpr std::uint64_t kLargeMagic = 0x4c41524745424c4bull;  // "LARGEBLK"
static_assert(static_cast<std::uint32_t>(kLargeMagic) != static_cast<std::uint32_t>(kSlabMagic), "is_large compares 32 bits");
inline constexpr std::size_t kSlabHeader = 64;
inline constexpr std::size_t kSlabMaxRequest = std::size_t{1} << 46;
inline constexpr std::size_t kSlabMaxClasses = 64;  // slab <= 1M gives at most 48


/// Lives in the first 64 bytes of every slab.
struct SlabHeader {
  std::uint64_t magic;
  std::uint32_t cls;
  std::uint32_t used;   // live objects
  char* free;           // LIFO list of freed objects (link in the object's first word)
  std::uint32_t bump;   // objects never handed out start at index `bump`
  std::uint32_t cap;    // objects per slab
  SlabHeader* next;     // partial list of the class (nullptr ends it)
  SlabHeader* prev;
  std::uint32_t listed;  // on its class's partial list
  std::uint32_t pad0;
  std::uint64_t pad[1];
};
static_assert(sizeof(SlabHeader) == kSlabHeader);

/// Partial lists: each class's list holds every slab of the class with a free or
/// never-used object, and may also hold full slabs: a slab that becomes full stays
/// on the list until a malloc of its class finds it full at the head (then it is
/// unlisted, lazily, on the slow path), so neither the malloc fast path nor a free
/// into a slab that was just full compares counts against the capacity, and a slab
/// that bounces between full and not full costs no list operation. An empty list's
/// head is a sentinel header (no free object, no room), never nullptr, so the fast
/// path tests one pointer (the free list) instead of two.
///
/// A slab joins its list at the tail (a first-in, first-out queue), both when it is
/// new and when a free relists it: a slab relisted by one free has one free object,
/// and at the head it would serve one malloc and send the next to the slow path,
/// where under frees in random order (a cache or a work set that lives long, sizes
/// spread over many classes) nearly every malloc would land. At the tail it waits
/// for the slabs ahead of it and gathers the frees that come meanwhile, so the
/// malloc that reaches it finds a run of free objects. Measured on mimalloc-bench's
/// larson (one thread, sizes 8-1000 freed at random; a slab design with no front
/// cache, LD_PRELOAD): see docs/benchmarks.md, issue 14, session 30.
class Slab : public SourceBacked {
 public:
  Slab(const AllocatorSpec& spec, const InstanceOptions& opt) : SourceBacked(spec, opt) {
    slab_ = spec.get_size("slab");
    low_mask_ = slab_ - 1;  // slab_: a power of two
    high_mask_ = ~low_mask_;
    std::size_t max_obj = slab_ / 8;
    // The class sizes, built without the heap (slab <= 1M: at most 8 + 4 x 10 classes).
    std::size_t sizes[kSlabMaxClasses];
    std::size_t n = 0;
    static_assert(kSlabMaxClasses <= 256, "the class lookup table holds one byte per entry");
    auto add = [&](std::size_t s) {
      s = align_up(s, min_align_);
      if (n < kSlabMaxClasses && (n == 0 || sizes[n - 1] != s)) sizes[n++] = s;
    };
    for (std::size_t s = 16; s <= 128 && s <= max_obj; s += 16) add(s);
    for (std::size_t base = 128; base < max_obj; base *= 2)
      for (std::size_t i = 1; i <= 4; ++i)
        if (base + i * base / 4 <= max_obj) add(base + i * base / 4);
    nclasses_ = n;
    max_small_ = sizes[n - 1];
    std::copy(sizes, sizes + n, sizes_);
    // The list heads and the lookup table in one block, the table at a fixed offset
    // from the heads: the fast path loads one base pointer for both.
    partial_ = reinterpret_cast<SlabHeader**>(
        arena_.alloc_array<char>(kSlabMaxClasses * sizeof(SlabHeader*) + max_small_ / 16 + 1));
    none_ = arena_.alloc_array<SlabHeader>(1);
    tail_ = arena_.alloc_array<SlabHeader*>(kSlabMaxClasses);
    if (partial_ == nullptr || none_ == nullptr || tail_ == nullptr) return;
    *none_ = SlabHeader{};  // free == nullptr, bump == cap == 0: never serves a request
    for (std::size_t c = 0; c < nclasses_; ++c) {
      partial_[c] = none_;
      tail_[c] = nullptr;
    }
    for (std::size_t q = 0; q <= max_small_ / 16; ++q)
      lookup()[q] = static_cast<std::uint8_t>(std::lower_bound(sizes_, sizes_ + n, q * 16) - sizes_);
    init_class_map();
  }
  ~Slab() = default;
  /// The reservation succeeded and the class tables found room in the arena.
  bool ok() const {
    return src_.ok() && partial_ != nullptr && none_ != nullptr && tail_ != nullptr && class_map_.ok();
  }

  static Slab* create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
    return block::make_allocator<Slab>(err, spec, opt);
  }

  void* allocate(std::size_t size, std::size_t align) {
    if (align <= min_align_)
      if (void* p = try_allocate(size)) return p;
    return allocate_rest(size, align);
  }

  /// The common case of allocate(size, align <= min_align), exactly as allocate
  /// does it: a small request served from the first slab of its class's partial
  /// list (free list, else bump). nullptr when that is not the case (large request,
  /// no listed slab, or the first one full): then allocate() must be called. It
  /// calls nothing, so a caller that inlines it (the exported malloc) needs no
  /// stack frame.
  [[gnu::always_inline]] void* try_allocate(std::size_t size) {
    if (size > max_small_) return nullptr;
    const std::size_t c = lookup()[(size + 15) / 16];
    touch(probe_, &partial_[c], 8);
    SlabHeader* s = partial_[c];  // none_ when the list is empty
    touch(probe_, s, kSlabHeader);
    char* p = s->free;
    if (p != nullptr) [[likely]] {
      touch(probe_, p, 8);
      s->free = *reinterpret_cast<char**>(p);
    } else {
      if (s->bump == s->cap) return nullptr;  // full (or none_): allocate_rest unlists it
      p = reinterpret_cast<char*>(s) + kSlabHeader + static_cast<std::size_t>(s->bump++) * sizes_[c];
    }
    ++s->used;
    ++allocs_;
    return p;
  }

  void deallocate(void* vp) {
    if (vp == nullptr) return;
    ++frees_;
    char* p = static_cast<char*>(vp);
    if (is_large(p)) [[unlikely]] {
      unmap_mapped_block(src_, probe_, p);
      return;
    }
    auto* s = header_of(p);
    touch(probe_, s, kSlabHeader);
    *reinterpret_cast<char**>(p) = s->free;
    s->free = p;
    if (s->listed == 0) [[unlikely]] push_partial(s);  // it was full and unlisted
    if (--s->used == 0) [[unlikely]] release_empty(s);
  }

  /// A large block to a large size: its chunk resized with MemorySource::remap (in
  /// place, or moved without copying to a slab-aligned range, so is_large still
  /// finds its magic word). Anything else: allocate + copy + free.
  void* reallocate(void* vp, std::size_t size) {
    char* p = static_cast<char*>(vp);
    if (p == nullptr || size <= max_small_ || size > kSlabMaxRequest || !is_large(p))
      return realloc_by_copy(*this, vp, size);
    return remap_mapped_block(src_, probe_, p, size, slab_);
  }

  /// The class size of a small request; large ones get their mapping less the offset.
  std::size_t good_size(std::size_t n) const {
    if (n <= max_small_) return sizes_[lookup()[(n + 15) / 16]];
    const std::size_t off = 32;
    return align_up((n == 0 ? 1 : n) + off, kPageSize) - off;
  }

  /// A small block's size comes from the class map (a byte per slab, dense: the
  /// free path of a front cache reads no slab header); anything else (a large block,
  /// an address outside the chunk space) from the header at the slab boundary.
  std::size_t usable_size(const void* vp) const {
    const std::size_t i = (reinterpret_cast<std::uintptr_t>(vp) - map_base_) >> slab_shift_;  // wraps below the base
    if (i < class_map_.size()) [[likely]]
      if (const std::uint8_t v = class_map_.get(i, probe_); v != 0) [[likely]]
        return sizes_[v - 1];
    char* p = const_cast<char*>(static_cast<const char*>(vp));
    if (is_large(p)) return mapped_block_usable(p);
    const SlabHeader* s = header_of(p);
    touch(probe_, s, 8);
    return sizes_[s->cls];
  }

  bool validate(ValidateLevel level, std::string* err) const {
    auto fail = [&](const char* m) {
      if (err) *err = m;
      return false;
    };
    if (level < ValidateLevel::Full) return true;
    if (none_->free != nullptr || none_->bump != 0 || none_->cap != 0 || none_->listed != 0)
      return fail("slab: the empty-list sentinel was written");
    std::size_t n = 0;
    for (const SlabHeader* s = empty_; s != nullptr; s = s->next)
      if (s->magic != kSlabMagic || s->used != 0 || ++n > n_empty_) return fail("slab: empty-slab cache corrupt");
    if (n != n_empty_) return fail("slab: empty-slab count out of date");
    for (std::size_t c = 0; c < nclasses_; ++c) {
      const SlabHeader* prev = nullptr;
      for (const SlabHeader* s = first(c); s != nullptr; prev = s, s = s->next) {
        if (s->magic != kSlabMagic || s->cls != c) return fail("slab: partial list holds a slab of another class");
        if (s->prev != prev) return fail("slab: partial list back link broken");
        if (s->listed != 1) return fail("slab: a listed slab is not marked listed");
        if (s->used == 0 || s->used > s->cap) return fail("slab: partial list holds an empty slab");
        std::size_t nfree = 0;
        for (char* f = s->free; f != nullptr; f = *reinterpret_cast<char**>(f)) {
          if (header_of(f) != s) return fail("slab: free list leaves its slab");
          if (++nfree > s->cap) return fail("slab: free list cycles");
        }
        if (s->used + nfree + (s->cap - s->bump) != s->cap) return fail("slab: object counts do not add up");
      }
      if (tail_[c] != prev) return fail("slab: partial list tail out of date");
    }
    return true;
  }

 private:
  SlabHeader* header_of(const char* p) const {
    return reinterpret_cast<SlabHeader*>(reinterpret_cast<std::uintptr_t>(p) & high_mask_);
  }
  /// A slab-aligned chunk starts with a slab header or a large block's header, so the
  /// low 32 bits of the magic word tell them apart (one compare with an immediate).
  bool is_large(const char* p) const {
    if ((reinterpret_cast<std::uintptr_t>(p) & low_mask_) == 0) return true;
    touch(probe_, header_of(p), 8);
    return static_cast<std::uint32_t>(header_of(p)->magic) == static_cast<std::uint32_t>(kLargeMagic);
  }

  /// What try_allocate leaves: a large or over-aligned request, or a small one
  /// whose class has no partial slab.
  [[gnu::noinline]] void* allocate_rest(std::size_t size, std::size_t align) {
    if (size > kSlabMaxRequest) return nullptr;
    std::size_t a = effective_align(min_align_, align);
    if (size > max_small_ || a > min_align_) {
      void* p = alloc_large(size, a);
      if (p != nullptr) ++allocs_;
      return p;
    }
    const std::size_t c = lookup()[(size + 15) / 16];
    for (;;) {
      if (void* p = try_allocate(size)) return p;
      touch(probe_, &partial_[c], 8);
      SlabHeader* s = first(c);
      if (s == nullptr) {
        if (new_slab(c) == nullptr) return nullptr;
      } else {
        remove_partial(s);  // full: unlisted until one of its objects is freed
      }
    }
  }

  /// The class of each ceil(size / 16), a byte an entry, right after the list heads
  /// (one base pointer for both on the fast path).
  std::uint8_t* lookup() const { return reinterpret_cast<std::uint8_t*>(partial_ + kSlabMaxClasses); }

  /// The first slab of class c's partial list, nullptr when it is empty.
  SlabHeader* first(std::size_t c) const { return partial_[c] == none_ ? nullptr : partial_[c]; }

  // The slow paths stay out of line, so the inlined fast paths need no saved registers.
  [[gnu::noinline]] SlabHeader* new_slab(std::size_t c) {
    SlabHeader* s = empty_;
    if (s != nullptr) {
      empty_ = s->next;
      --n_empty_;
      set_class(s, static_cast<std::uint8_t>(c + 1));  // its page of the map is committed
    } else {
      s = static_cast<SlabHeader*>(src_.map(slab_, slab_, false));  // every header field is written below
      if (s == nullptr) return nullptr;
      if (!set_class(s, static_cast<std::uint8_t>(c + 1))) {
        src_.unmap(s, slab_);
        return nullptr;
      }
    }
    s->magic = kSlabMagic;
    s->cls = static_cast<std::uint32_t>(c);
    s->used = 0;
    s->free = nullptr;
    s->bump = 0;
    s->cap = static_cast<std::uint32_t>((slab_ - kSlabHeader) / sizes_[c]);
    s->next = s->prev = nullptr;
    s->listed = 0;
    push_partial(s);
    return s;
  }

  /// A slab whose last object was freed: cached for any class, or unmapped.
  [[gnu::noinline]] void release_empty(SlabHeader* s) {
    remove_partial(s);
    if (n_empty_ < kEmptyMax) {  // keep a few empty slabs for any class
      s->next = empty_;
      empty_ = s;
      ++n_empty_;
    } else {
      set_class(s, 0);
      src_.unmap(s, slab_);
    }
  }

  /// The class map: one byte per slab-sized unit of the chunk space, class + 1 for
  /// a slab in use (or cached empty), 0 for anything else (never set, a large block,
  /// a slab given back). A LazyTable: unset entries read 0 at no cost, committed a
  /// page (4096 slabs) at a time, counted in the footprint.
  void init_class_map() {
    slab_shift_ = static_cast<unsigned>(std::countr_zero(slab_));
    map_base_ = reinterpret_cast<std::uintptr_t>(src_.chunk_base());
    class_map_.init(src_, arena_, src_.chunk_capacity() >> slab_shift_);
  }
  /// Sets the map entry of slab s; false when its page of entries cannot be committed.
  bool set_class(const SlabHeader* s, std::uint8_t v) {
    return class_map_.set((reinterpret_cast<std::uintptr_t>(s) - map_base_) >> slab_shift_, v, probe_);
  }

  /// Lists s at the tail of its class's partial list (see the class comment).
  [[gnu::noinline]] void push_partial(SlabHeader* s) {
    SlabHeader* t = tail_[s->cls];
    s->prev = t;
    s->next = nullptr;
    if (t != nullptr) {
      touch(probe_, t, kSlabHeader);
      t->next = s;
    } else {
      partial_[s->cls] = s;
    }
    tail_[s->cls] = s;
    s->listed = 1;
  }
  void remove_partial(SlabHeader* s) {
    if (s->prev != nullptr) {
      s->prev->next = s->next;
    } else {
      partial_[s->cls] = s->next != nullptr ? s->next : none_;
    }
    if (s->next != nullptr) {
      s->next->prev = s->prev;
    } else {
      tail_[s->cls] = s->prev;
    }
    s->next = s->prev = nullptr;
    s->listed = 0;
  }

  [[gnu::noinline]] void* alloc_large(std::size_t size, std::size_t a) {
    std::size_t off = a > 32 ? a : 32;
    std::size_t len = align_up((size == 0 ? 1 : size) + off, kPageSize);
    // not zeroed: the magic word and the header are written below, and malloc owes no
    // zeroes (calloc clears its block itself)
    char* base = static_cast<char*>(src_.map(len, a > slab_ ? a : slab_, false));
    if (base == nullptr) return nullptr;
    std::memcpy(base, &kLargeMagic, 8);
    char* p = base + off;
    std::uint64_t h[2] = {len, off};
    std::memcpy(p - 16, h, 16);
    touch(probe_, base, 8);
    touch(probe_, p - 16, 16);
    return p;
  }

  // The fields from slab_ to slab_shift_ are written once, at start, and read by
  // every free: under thread model tcache without the heap's lock, from every
  // thread, so they have cache lines of their own (no field written under the lock
  // beside them: that would cost a miss per free whenever another thread refilled
  // or flushed).
  MetaArena arena_{src_};  // the class lookup table and partial-list heads below
  alignas(64) std::size_t slab_ = 4096;
  std::uintptr_t low_mask_ = 4095;           // slab_ - 1
  std::uintptr_t high_mask_ = ~low_mask_;    // the slab of an address: & high_mask_
  std::size_t max_small_ = 0;
  std::size_t nclasses_ = 0;
  // What the probe touches lives in the arena, inside the instance's reservation,
  // so its addresses (and the modeled speed) are the same run to run.
  SlabHeader** partial_ = nullptr;           // list head per class, none_ if empty, then lookup() (arena)
  SlabHeader* none_ = nullptr;               // the empty lists' sentinel (arena)
  SlabHeader** tail_ = nullptr;              // last slab per class, nullptr if empty (arena)
  std::size_t sizes_[kSlabMaxClasses] = {};  // object size per class (never probed)
  LazyTable<std::uint8_t> class_map_;        // see init_class_map
  std::uintptr_t map_base_ = 0;              // the chunk space's base
  unsigned slab_shift_ = 12;                 // log2(slab_)
  static constexpr std::size_t kEmptyMax = 16;
  alignas(64) SlabHeader* empty_ = nullptr;  // cached empty slabs (linked through next)
  std::size_t n_empty_ = 0;
};

}  // namespace evo::simple
