// core/superblock/heap.hpp — SuperblockHeap: the superblock family's allocator,
// composed from four policies (one registry row per combination):
//
//   SuperblockHeap<Bin, Alg, Pagemap, Cache>
//     Bin      core/superblock/bins.hpp        which superblock of a class serves a request
//     Alg      core/superblock/algorithms.hpp  how blocks are found inside a superblock
//     Pagemap  core/superblock/pagemap.hpp     page -> superblock / large chunk, for free()
//     Cache    core/superblock/caches.hpp      what happens to empty superblocks
//
// Numeric parameters live in the state: class scheme (core/sizeclass/), superblock
// size `sb`, the large threshold, the alignment quantum.
//
// allocate(size, align): need = size (+ align - quantum when align > quantum, the
//   block is then over-allocated and the returned pointer aligned inside it);
//   need > large -> a chunk of whole pages mapped at that alignment, marked in the
//   pagemap as (pages << 1) | 1 on its first page, unmapped on free. Otherwise the
//   class of `need`, its bin picks a superblock with space (or a new one comes from
//   the cache or the source), the algorithm hands out a block.
// Pagemap entries of a superblock's pages: the header's address (page-aligned) with
//   the block size / 16 in bits 1..11 (sb_entry; 0 there when the size is not a
//   multiple of 16 below 32 KiB): usable_size, on the free path of every front
//   cache, reads the size from the entry without touching the header (one miss
//   less per free of a block in a cold superblock, as tcmalloc's pagemap size
//   classes do). A superblock reused from the cache for another class has its
//   entries rewritten.
// Blocks start at a cache-line boundary (the header, and the bitmap of alg=bitmap,
//   padded to 64 bytes, or to the quantum when it is larger), as slab's 64-byte
//   header and mimalloc's pages give: a block whose size is a multiple of 64 then
//   spans whole lines instead of straddling two (jemalloc's classes at align=16
//   used to start 48 bytes into a line). Costs at most 48 bytes per superblock; on
//   xmalloc-test and larson the change was within the noise (docs/benchmarks.md).
// deallocate(p): the pagemap gives the superblock; the block index is (p-begin)/size
//   (so interior pointers of aligned blocks resolve). The bin is updated; a
//   superblock whose live count reaches 0 goes to the cache policy.
// reallocate: a large chunk to a large size is resized with MemorySource::remap
//   (in place, or its pages moved without copying; the pagemap mark follows).
//   Otherwise in place when the new size fits the usable size and is at least
//   half of it; else allocate + copy + free.
// validate(Cheap): counters agree. validate(Full): every superblock's pagemap
//   entries, header, algorithm state, bin membership, bin order and the cache.
#pragma once

#include <atomic>
#include <cstring>
#include <new>
#include <string>

#include "core/adapter.hpp"
#include "core/probe.hpp"
#include "core/registry.hpp"
#include "core/sizeclass/size_classes.hpp"
#include "core/source/memory_source.hpp"
#include "core/source/meta_arena.hpp"
#include "core/superblock/algorithms.hpp"
#include "core/superblock/bins.hpp"
#include "core/superblock/caches.hpp"
#include "core/superblock/pagemap.hpp"

namespace evo {

template <template <class> class BinT, class Alg, class Pagemap, template <class> class CacheT>
class SuperblockHeap {
  using Bin = BinT<Superblock>;
  using Cache = CacheT<Superblock>;
  using BinState = typename Bin::State;

 public:
  SuperblockHeap(std::size_t reserve, std::size_t limit, const Probe* probe,
                 SourceBacking backing = SourceBacking::Real, MemoryGroup* group = nullptr)
      : src_(reserve, limit, backing, group), arena_(src_), probe_(probe) {}
  ~SuperblockHeap() = default;  // the source returns every byte

  static SuperblockHeap* create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
    auto* h = new (std::nothrow)
        SuperblockHeap(opt.reserve ? opt.reserve : MemorySource::kDefaultReserve, opt.memory_limit, opt.probe,
                                         opt.backing, opt.group);
    if (h == nullptr || !h->init(spec, opt, err)) {
      delete h;
      return nullptr;
    }
    return h;
  }

  bool init(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
    if (!src_.ok()) {
      if (err) *err = "cannot reserve address space for the instance";
      return false;
    }
    CommonParams c = common_params(spec);
    src_.set_retain(c.retain);
    quantum_ = c.min_align;
    sb_size_ = spec.get_size("sb");
    large_ = spec.get_size("large");
    const std::string* scheme = spec.get("classes");
    if (sb_size_ < kPageSize || large_ == 0 || large_ > sb_size_ / 2 || scheme == nullptr) {
      if (err) *err = "superblock: inconsistent sb/large (large must be at most sb/2)";
      return false;
    }
    if (!classes_.build(*scheme, large_, quantum_, opt.size_histogram, arena_, err)) return false;
    bins_ = static_cast<BinState*>(arena_.alloc(sizeof(BinState) * classes_.count()));
    if (bins_ == nullptr) {
      if (err) *err = "superblock: out of memory for the bins";
      return false;
    }
    for (std::uint32_t i = 0; i < classes_.count(); ++i) new (&bins_[i]) BinState{};
    if (!pagemap_.init(src_, arena_, err)) return false;
    return true;
  }

  // ---- the allocator contract ----
  void* allocate(std::size_t size, std::size_t align) {
    std::size_t a = effective_align(quantum_, align);
    if (size == 0) size = 1;
    std::size_t need = size;
    if (a > quantum_) {
      if (__builtin_add_overflow(size, a - quantum_, &need)) return nullptr;
    }
    if (need > large_) return alloc_large(size, a);
    std::uint32_t cls = classes_.lookup(need, probe_);
    BinState& bin = bins_[cls];
    Superblock* sb = Bin::pick(bin, probe_);
    if (sb == nullptr) {
      sb = new_superblock(cls);
      if (sb == nullptr) return nullptr;
      Bin::insert(bin, sb, probe_);
    }
    char* blk = static_cast<char*>(Alg::alloc(sb, probe_));
    ++sb->live;
    touch(probe_, sb, 64);
    Cache::on_use(cache_, sb, probe_);
    if (!Alg::has_space(sb)) Bin::remove(bin, sb, probe_);
    else Bin::on_alloc(bin, sb, probe_);
    ++allocs_;
    ++live_small_;
    if (a > quantum_) {
      blk = reinterpret_cast<char*>(align_up_addr(reinterpret_cast<std::uintptr_t>(blk), a));
      carved_.store(true, std::memory_order_relaxed);
    }
    return blk;
  }

  void deallocate(void* p) {
    if (p == nullptr) return;
    std::uintptr_t e = pagemap_.get(p, probe_);
    if (e == 0) return;  // not ours (the hardening layer reports such frees)
    ++frees_;
    if (const std::size_t bytes = marked_chunk_bytes(e)) {
      unmap_marked_chunk(src_, pagemap_, probe_, p, bytes);
      --live_large_;
      large_bytes_ -= bytes;
      return;
    }
    Superblock* sb = sb_of(e);
    touch(probe_, sb, 64);
    char* blk = sb->block(sb->index_of(p));
    --sb->live;
    --live_small_;
    Alg::free(sb, blk, probe_);
    if (sb->in_bin) Bin::on_free(bins_[sb->cls], sb, probe_);
    else if (Alg::has_space(sb)) Bin::insert(bins_[sb->cls], sb, probe_);
    if (sb->live == 0) Cache::on_empty(cache_, *this, sb);
  }

  void* reallocate(void* p, std::size_t size) {
    if (p != nullptr && size > large_) {
      const std::uintptr_t e = pagemap_.get(p, probe_);
      if (const std::size_t bytes = marked_chunk_bytes(e)) return realloc_large(p, bytes, size);
    }
    return realloc_by_copy(*this, p, size);
  }

  std::size_t usable_size(const void* p) const {
    std::uintptr_t e = pagemap_.get(p, probe_);
    if (e == 0) return 0;
    if (const std::size_t bytes = marked_chunk_bytes(e)) return bytes;
    // Until an aligned request has been carved inside a block, every pointer handed
    // out is a block start: its usable size is the block size, which the entry holds.
    const bool whole = !carved_.load(std::memory_order_relaxed);
    if (const std::size_t size = sb_entry_size(e); size != 0 && whole) [[likely]]
      return size;
    const Superblock* sb = sb_of(e);
    touch(probe_, sb, 64);
    if (whole) return sb->size;
    return static_cast<std::size_t>(sb->block(sb->index_of(p)) + sb->size - static_cast<const char*>(p));
  }

  /// The class size a request of n bytes gets (page-rounded above the large threshold).
  std::size_t good_size(std::size_t n) const {
    const std::size_t need = n == 0 ? 1 : n;
    if (need > large_) return align_up(need, kPageSize);
    return classes_.size(classes_.lookup(need, nullptr));
  }

  void stats(AllocStats* out) const { fill_source_stats(src_, allocs_, frees_, out); }

  bool validate(ValidateLevel level, std::string* err) const {
    if (allocs_ - frees_ != live_small_ + live_large_) return fail(err, "alloc/free counters disagree with live counts");
    if (large_bytes_ > src_.footprint()) return fail(err, "large bytes exceed the footprint");
    if (level < ValidateLevel::Full) return true;
    if (!classes_.validate(err)) return false;
    std::size_t n_sb = 0, n_in_bin = 0, live = 0;
    Superblock* prev = nullptr;
    for (Superblock* sb = all_; sb != nullptr; prev = sb, sb = sb->anext) {
      if (sb->aprev != prev) return fail(err, "superblock list: broken link");
      if (++n_sb > n_superblocks_) return fail(err, "superblock list longer than the count");
      for (std::size_t off = 0; off < sb_size_; off += kPageSize)
        if (pagemap_.get(reinterpret_cast<char*>(sb) + off, nullptr) != sb_entry(sb, sb->size))
          return fail(err, "pagemap entry of a superblock page does not point to it with its block size");
      if (sb->cls >= classes_.count() || sb->size != classes_.size(sb->cls))
        return fail(err, "superblock header: class and block size disagree");
      if (sb->begin < reinterpret_cast<char*>(sb) + sizeof(Superblock) ||
          sb->begin + std::size_t{sb->capacity} * sb->size > reinterpret_cast<char*>(sb) + sb_size_ ||
          reinterpret_cast<std::uintptr_t>(sb->begin) % quantum_ != 0 || sb->capacity == 0)
        return fail(err, "superblock header: block area out of bounds");
      if (sb->live > sb->capacity) return fail(err, "superblock: live > capacity");
      if (!Alg::validate(sb, err)) return false;
      if (sb->in_cache && (sb->in_bin || sb->live != 0)) return fail(err, "cached superblock is in a bin or live");
      if (!sb->in_cache && bool(sb->in_bin) != Alg::has_space(sb))
        return fail(err, "superblock with space not in its bin, or full one in it");
      if (sb->live == 0 && !sb->in_cache && !sb->marked) return fail(err, "empty superblock not handed to the cache");
      n_in_bin += sb->in_bin;
      live += sb->live;
    }
    if (n_sb != n_superblocks_) return fail(err, "superblock count mismatch");
    if (live != live_small_) return fail(err, "sum of superblock live counts differs from live blocks");
    std::size_t listed = 0;
    for (std::uint32_t c = 0; c < classes_.count(); ++c) {
      if (!Bin::validate(bins_[c], listed, err)) return false;
      Superblock* head = Bin::pick(const_cast<BinState&>(bins_[c]), nullptr);
      if (head != nullptr && head->cls != c) return fail(err, "a bin serves a superblock of another class");
    }
    if (listed != n_in_bin) return fail(err, "bins list a different number of superblocks than are in_bin");
    if (!Cache::validate(cache_, err)) return false;
    return true;
  }

  // ---- the heap interface caches use ----
  const Probe* probe() const { return probe_; }
  void bin_detach(Superblock* sb) {
    if (sb->in_bin) Bin::remove(bins_[sb->cls], sb, probe_);
  }
  void release(Superblock* sb) {
    if (sb->aprev != nullptr) sb->aprev->anext = sb->anext;
    else all_ = sb->anext;
    if (sb->anext != nullptr) sb->anext->aprev = sb->aprev;
    --n_superblocks_;
    set_entries(sb, 0);  // the nodes exist: cannot fail
    src_.unmap(sb, sb_size_);
  }

  // For tests and benchmarks.
  std::size_t superblocks() const { return n_superblocks_; }
  std::size_t cached() const { return Cache::count(cache_); }
  const SizeClasses& classes() const { return classes_; }
  std::size_t sb_size() const { return sb_size_; }
  std::uint64_t stats_footprint() const { return src_.footprint(); }

 private:
  void* alloc_large(std::size_t size, std::size_t align) {
    if (size > src_.chunk_capacity()) return nullptr;
    std::size_t bytes = align_up(size, kPageSize);
    // The program's bytes: calloc zeroes its own.
    void* p = map_marked_chunk(src_, pagemap_, probe_, bytes, align, false);
    if (p == nullptr) return nullptr;
    ++allocs_;
    ++live_large_;
    large_bytes_ += bytes;
    return p;
  }

  /// A large chunk of `old` bytes resized for `size` (> large) bytes.
  void* realloc_large(void* p, std::size_t old, std::size_t size) {
    if (size > src_.chunk_capacity()) return nullptr;
    const std::size_t bytes = align_up(size, kPageSize);
    void* q = remap_marked_chunk(src_, pagemap_, probe_, p, old, bytes, kPageSize);
    if (q != nullptr) large_bytes_ = large_bytes_ - old + bytes;
    return q;
  }

  /// A superblock's pagemap entry: its header's address, the block size / 16 in bits
  /// 1..11 when it fits (else 0 there: read the header).
  static std::uintptr_t sb_entry(const Superblock* sb, std::size_t size) {
    const std::uintptr_t units = size % 16 == 0 && size / 16 < 2048 ? size / 16 : 0;
    return reinterpret_cast<std::uintptr_t>(sb) | (units << 1);
  }
  static Superblock* sb_of(std::uintptr_t e) { return reinterpret_cast<Superblock*>(e & ~std::uintptr_t{kPageSize - 1}); }
  /// The block size an entry holds, or 0.
  static std::size_t sb_entry_size(std::uintptr_t e) { return (e & 0xFFE) << 3; }

  /// Sets the pagemap entry of every page of superblock `sb` to `entry`. False when a
  /// pagemap node cannot be mapped; the pages set before it are cleared again (only a
  /// fresh superblock's pages can lack nodes).
  bool set_entries(Superblock* sb, std::uintptr_t entry) {
    char* base = reinterpret_cast<char*>(sb);
    for (std::size_t off = 0; off < sb_size_; off += kPageSize) {
      if (!pagemap_.set(base + off, entry, probe_)) {
        for (std::size_t o2 = 0; o2 < off; o2 += kPageSize) pagemap_.set(base + o2, 0, probe_);
        return false;
      }
    }
    return true;
  }

  /// A superblock set up for class `cls`: from the cache, else freshly mapped.
  Superblock* new_superblock(std::uint32_t cls) {
    static_assert(kPageSize == 4096, "sb_entry keeps the size in the low 12 bits of a page address");
    const std::uint32_t size = classes_.size(cls);
    Superblock* sb = Cache::take(cache_, *this);
    if (sb != nullptr && sb->size != size)  // reused for another class: its entries say the new size
      set_entries(sb, sb_entry(sb, size));   // the nodes exist: cannot fail
    if (sb == nullptr) {
      void* mem = src_.map(sb_size_, kPageSize, false);  // the header and Alg::init write what is read
      if (mem == nullptr) return nullptr;
      sb = static_cast<Superblock*>(mem);
      if (!set_entries(sb, sb_entry(sb, size))) {
        src_.unmap(mem, sb_size_);
        return nullptr;
      }
      sb->aprev = nullptr;
      sb->anext = all_;
      if (all_ != nullptr) all_->aprev = sb;
      all_ = sb;
      ++n_superblocks_;
    }
    std::size_t hdr = sizeof(Superblock);
    if constexpr (Alg::kBitmap) {
      std::size_t cap0 = (sb_size_ - hdr) / size;
      hdr += (cap0 + 63) / 64 * 8;
    }
    hdr = align_up(hdr, quantum_ > kBlockLine ? quantum_ : kBlockLine);
    sb->next = sb->prev = sb->cnext = sb->cprev = nullptr;
    sb->begin = reinterpret_cast<char*>(sb) + hdr;
    sb->free = nullptr;
    sb->set_size(size);
    sb->capacity = static_cast<std::uint32_t>((sb_size_ - hdr) / size);
    sb->live = 0;
    sb->bump = 0;
    sb->cls = cls;
    sb->hint = 0;
    sb->bucket = 0;
    sb->in_bin = sb->in_cache = sb->marked = 0;
    touch(probe_, sb, sizeof(Superblock));
    Alg::init(sb, probe_);
    return sb;
  }

  // Three groups of cache lines. The source and the arena are written as the heap
  // grows. The second group is written once, at start, and read on every call:
  // under thread model tcache every thread's free reads the pagemap (usable_size)
  // without the heap's lock, so no field written under that lock may share its
  // lines (a shared line costs a miss per free whenever another thread refilled or
  // flushed: false sharing). The third group is written by every allocation.
  MemorySource src_;
  MetaArena arena_;
  alignas(64) const Probe* probe_;
  SizeClasses classes_;
  Pagemap pagemap_;
  // An aligned block was carved inside a larger one (interior pointers exist). Atomic:
  // usable_size reads it without the heap's lock under thread model tcache. Set once.
  std::atomic<bool> carved_{false};
  alignas(64) BinState* bins_ = nullptr;
  typename Cache::State cache_{};
  Superblock* all_ = nullptr;
  std::size_t n_superblocks_ = 0;
  static constexpr std::size_t kBlockLine = 64;  ///< where the first block starts (a cache line)
  std::size_t quantum_ = 16;
  std::size_t sb_size_ = 0;
  std::size_t large_ = 0;
  std::uint64_t allocs_ = 0, frees_ = 0;
  std::uint64_t live_small_ = 0, live_large_ = 0;
  std::uint64_t large_bytes_ = 0;
};

}  // namespace evo
