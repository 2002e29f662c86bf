// core/simple/reap_vm_alloc.hpp — Reap and Vm: the allocator classes of the `reap`
// and `vm` rows (see family.hpp), in a header so the exporter can instantiate them.
#pragma once

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "core/adapter.hpp"
#include "core/block/make.hpp"
#include "core/probe.hpp"
#include "core/simple/mapped_block.hpp"
#include "core/simple/source_backed.hpp"
#include "core/source/memory_source.hpp"
#include "core/source/meta_arena.hpp"

namespace evo::simple {

inline constexpr std::size_t kReapMaxRequest = std::size_t{1} << 46;
inline constexpr std::uint64_t kReapMagic = 0x52454150424c4b21ull;  // "REAPBLK!"

inline std::size_t page_round(std::size_t n) { return align_up(n, kPageSize); }


/// Bump allocation with a live counter; resets when the counter reaches zero.
class Reap : public SourceBacked {
 public:
  Reap(const AllocatorSpec& spec, const InstanceOptions& opt) : SourceBacked(spec, opt) {
    region_ = common_params(spec).region;
    chunk_ = page_round(spec.get_size("chunk"));
    top_ = end_ = region_ ? src_.region_base() : nullptr;
    live_ = arena_.alloc_array<std::uint64_t>(1);
  }
  /// The reservation succeeded and the live counter found room in the arena.
  bool ok() const { return src_.ok() && live_ != nullptr; }

  static Reap* create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
    return block::make_allocator<Reap>(err, spec, opt);
  }

  void* allocate(std::size_t size, std::size_t align) {
    if (size > kReapMaxRequest) return nullptr;
    std::size_t n = align_up(size == 0 ? 1 : size, 16);
    std::size_t a = effective_align(min_align_, align);
    char* block = place(a);
    if (top_ == nullptr || block + n > end_) {
      if (!refill(n, a)) return nullptr;
      block = place(a);
    }
    std::uint64_t h[2] = {n, kReapMagic};
    std::memcpy(block - 16, h, 16);
    touch(probe_, block - 16, 16);
    top_ = block + n;
    ++*live_;
    ++allocs_;
    touch(probe_, live_, 8);
    return block;
  }

  void deallocate(void* p) {
    if (p == nullptr) return;
    ++frees_;
    touch(probe_, live_, 8);
    if (--*live_ == 0) reset();
  }

  void* reallocate(void* p, std::size_t size) { return realloc_by_copy(*this, p, size); }

  std::size_t usable_size(const void* p) const {
    const char* h = static_cast<const char*>(p) - 16;
    touch(probe_, h, 8);
    std::uint64_t n;
    std::memcpy(&n, h, 8);
    return n;
  }


  bool validate(ValidateLevel level, std::string* err) const {
    auto fail = [&](const char* m) {
      if (err) *err = m;
      return false;
    };
    if (top_ > end_) return fail("reap: bump pointer beyond the end of its chunk");
    if (*live_ > allocs_) return fail("reap: live counter exceeds allocations");
    if (level < ValidateLevel::Full) return true;
    if (region_ && end_ != src_.brk()) return fail("reap: chunk end differs from the break");
    if (*live_ == 0 && region_ && top_ != src_.region_base()) return fail("reap: nothing live but the bump pointer did not reset");
    for (char* c = chunks_; c != nullptr; c = next_chunk(c))
      if (!src_.contains(c)) return fail("reap: chunk list leaves the source");
    return true;
  }


 private:
  static char*& next_chunk(char* c) { return *reinterpret_cast<char**>(c); }
  static std::size_t& chunk_len(char* c) { return *reinterpret_cast<std::size_t*>(c + 8); }

  char* place(std::size_t a) const {
    return reinterpret_cast<char*>(align_up_addr(reinterpret_cast<std::uintptr_t>(top_) + 16, a));
  }

  bool refill(std::size_t n, std::size_t a) {
    if (region_) {
      char* want = place(a) + n;
      std::size_t more = align_up(static_cast<std::size_t>(want - src_.brk()), chunk_);
      if (src_.grow(more) == nullptr) return false;
      end_ = src_.brk();
      return true;
    }
    std::size_t len = std::max(chunk_, page_round(n + a + 32));
    char* c = static_cast<char*>(src_.map(len, kPageSize, false));  // the chunk header is written below
    if (c == nullptr) return false;
    next_chunk(c) = chunks_;
    chunk_len(c) = len;
    chunks_ = c;
    top_ = c + 16;
    end_ = c + len;
    return true;
  }

  /// Everything was freed: back to the start, keeping at most one chunk.
  void reset() {
    if (region_) {
      top_ = src_.region_base();
      if (src_.region_size() > chunk_) src_.shrink(src_.region_size() - chunk_);
      end_ = src_.brk();
      return;
    }
    char* keep = (chunks_ != nullptr && chunk_len(chunks_) == chunk_) ? chunks_ : nullptr;
    for (char* c = chunks_; c != nullptr;) {
      char* next = next_chunk(c);
      if (c != keep) src_.unmap(c, chunk_len(c));
      c = next;
    }
    chunks_ = keep;
    if (keep != nullptr) {
      next_chunk(keep) = nullptr;
      top_ = keep + 16;
      end_ = keep + chunk_len(keep);
    } else {
      top_ = end_ = nullptr;
    }
  }

  MetaArena arena_{src_};  // holds the live counter (the one word every call touches)
  bool region_ = true;
  std::size_t chunk_ = 64 * 1024;
  char* top_ = nullptr;
  char* end_ = nullptr;
  char* chunks_ = nullptr;  // mmap source: chunks, newest first
  std::uint64_t* live_ = nullptr;  // live blocks (in the arena)
};

/// One mapping per object.
class Vm : public SourceBacked {
 public:
  Vm(const AllocatorSpec& spec, const InstanceOptions& opt) : SourceBacked(spec, opt) {}
  bool ok() const { return src_.ok(); }
  static Vm* create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
    return block::make_allocator<Vm>(err, spec, opt);
  }

  void* allocate(std::size_t size, std::size_t align) {
    if (size > kReapMaxRequest) return nullptr;
    std::size_t a = effective_align(min_align_, align);
    std::size_t off = a > 16 ? a : 16;
    std::size_t len = page_round((size == 0 ? 1 : size) + off);
    char* base = static_cast<char*>(src_.map(len, a > kPageSize ? a : kPageSize, false));  // header written below
    if (base == nullptr) return nullptr;
    char* p = base + off;
    std::uint64_t h[2] = {len, off};
    std::memcpy(p - 16, h, 16);
    touch(probe_, p - 16, 16);
    ++allocs_;
    ++live_;
    return p;
  }
  void deallocate(void* vp) {
    if (vp == nullptr) return;
    unmap_mapped_block(src_, probe_, vp);
    ++frees_;
    --live_;
  }
  /// Every block is a chunk: resized with MemorySource::remap (in place, or moved
  /// without copying; the header moves with it).
  void* reallocate(void* vp, std::size_t size) {
    if (vp == nullptr || size == 0 || size > kReapMaxRequest) return realloc_by_copy(*this, vp, size);
    return remap_mapped_block(src_, probe_, vp, size, kPageSize);
  }
  std::size_t usable_size(const void* vp) const {
    touch(probe_, static_cast<const char*>(vp) - 16, 16);
    return mapped_block_usable(vp);
  }
  bool validate(ValidateLevel, std::string* err) const {
    // Each live object holds at least one page, and nothing else is held.
    if (src_.footprint() < live_ * kPageSize) {
      if (err) *err = "vm: footprint below one page per live object";
      return false;
    }
    return true;
  }

 private:
  std::uint64_t live_ = 0;
};

}  // namespace evo::simple
