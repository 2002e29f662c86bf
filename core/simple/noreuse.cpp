// core/simple/noreuse.cpp — the no-reuse families `minimal` and `pad` (see family.hpp).
#include "core/simple/family.hpp"

#include <cstring>
#include <new>

#include "core/adapter.hpp"
#include "core/probe.hpp"
#include "core/source/memory_source.hpp"

namespace evo {
namespace {

constexpr std::uint32_t kBlockMagic = 0xB10C4EADu;
constexpr std::uint32_t kSkipMagic = 0x5C1B5C1Bu;
constexpr std::size_t kHeader = 16;

struct Header {
  std::uint32_t magic;
  std::uint32_t zero;
  std::uint64_t len;  // usable bytes (block) or skipped bytes (skip record)
};
static_assert(sizeof(Header) == kHeader);

/// Bump allocator on the region. chunk == 0: grow the break by exactly what each
/// request needs (minimal); else grow in multiples of chunk (pad).
class Bump {
 public:
  Bump(std::size_t reserve, std::size_t limit, SourceBacking backing, MemoryGroup* group, const Probe* probe,
       std::size_t min_align, std::size_t chunk)
      : src_(reserve, limit, backing, group), probe_(probe), min_align_(min_align), chunk_(chunk) {
    top_ = src_.region_base();
  }

  template <class T>
  static T* create_common(const AllocatorSpec& spec, const InstanceOptions& opt, std::size_t chunk,
                          std::string* err) {
    CommonParams c = common_params(spec);
    auto* b = new (std::nothrow) T(opt.reserve ? opt.reserve : MemorySource::kDefaultReserve, opt.memory_limit,
                                      opt.backing, opt.group, opt.probe, c.min_align, chunk);
    if (b == nullptr || !b->src_.ok()) {
      if (err) *err = "cannot reserve address space for the instance";
      delete b;
      return nullptr;
    }
    b->src_.set_retain(c.retain);
    return b;
  }

  void* allocate(std::size_t size, std::size_t align) {
    if (size > (std::size_t{1} << 40) || align > (std::size_t{1} << 30)) return nullptr;
    std::size_t a = effective_align(min_align_, align);
    std::size_t n = align_up(size == 0 ? 1 : size, 16);
    char* block = reinterpret_cast<char*>(align_up_addr(reinterpret_cast<std::uintptr_t>(top_) + kHeader, a));
    char* end = block + n;
    if (!ensure(end)) return nullptr;
    char* hdr = block - kHeader;
    if (hdr > top_) {  // alignment padding: a skip record the walker steps over
      Header skip{kSkipMagic, 0, static_cast<std::uint64_t>(hdr - top_)};
      std::memcpy(top_, &skip, sizeof skip);
      touch(probe_, top_, kHeader);
    }
    Header h{kBlockMagic, 0, n};
    std::memcpy(hdr, &h, sizeof h);
    touch(probe_, hdr, kHeader);
    top_ = end;
    last_ = block;
    ++allocs_;
    return block;
  }

  void deallocate(void* p) {
    if (p != nullptr) ++frees_;
  }

  void* reallocate(void* p, std::size_t size) {
    if (p == nullptr) return allocate(size, 16);
    if (size == 0) {
      deallocate(p);
      return nullptr;
    }
    if (size > (std::size_t{1} << 40)) return nullptr;
    char* block = static_cast<char*>(p);
    std::size_t n = align_up(size, 16);
    Header* h = header(block);
    touch(probe_, h, kHeader);
    if (block == last_) {  // the most recent block: resize in place
      char* end = block + n;
      if (end > top_ && !ensure(end)) return nullptr;
      if (end < top_ && chunk_ == 0) src_.shrink(static_cast<std::size_t>(top_ - end));
      h->len = n;
      top_ = end;
      return p;
    }
    if (n <= h->len) return p;
    void* q = allocate(size, 16);
    if (q == nullptr) return nullptr;
    std::memcpy(q, p, h->len);
    deallocate(p);
    return q;
  }

  std::size_t usable_size(const void* p) const {
    const Header* h = header(p);
    touch(probe_, h, kHeader);
    return h->len;
  }

  void stats(AllocStats* out) const { fill_source_stats(src_, allocs_, frees_, out); }

  bool validate(ValidateLevel level, std::string* err) const {
    auto fail = [&](const std::string& m) {
      if (err) *err = m;
      return false;
    };
    if (top_ < src_.region_base() || top_ > src_.brk()) return fail("bump pointer outside the region");
    if (chunk_ == 0 && top_ != src_.brk()) return fail("minimal: bump pointer differs from the break");
    if (level < ValidateLevel::Full) return true;
    const char* cur = src_.region_base();
    while (cur < top_) {
      Header h;
      std::memcpy(&h, cur, sizeof h);
      if (h.magic == kSkipMagic) {
        if (h.len < kHeader || h.len % 16 != 0) return fail("bad skip record");
        cur += h.len;
      } else if (h.magic == kBlockMagic) {
        if (h.len == 0 || h.len % 16 != 0) return fail("bad block header");
        cur += kHeader + h.len;
      } else {
        return fail("corrupt header at region offset " + std::to_string(cur - src_.region_base()));
      }
    }
    if (cur != top_) return fail("region walk overshoots the bump pointer");
    return true;
  }

 protected:
  static Header* header(const void* p) {
    return reinterpret_cast<Header*>(const_cast<char*>(static_cast<const char*>(p)) - kHeader);
  }

  /// Makes [.., end) available below the break.
  bool ensure(char* end) {
    char* brk = src_.brk();
    if (end <= brk) return true;
    std::size_t need = static_cast<std::size_t>(end - brk);
    if (chunk_ != 0) need = align_up(need, chunk_);
    return src_.grow(need) != nullptr;
  }

  MemorySource src_;
  const Probe* probe_;
  std::size_t min_align_;
  std::size_t chunk_;
  char* top_ = nullptr;
  char* last_ = nullptr;
  std::uint64_t allocs_ = 0;
  std::uint64_t frees_ = 0;
};

struct Minimal : Bump {
  using Bump::Bump;
  static Minimal* create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
    return create_common<Minimal>(spec, opt, 0, err);
  }
};
struct Pad : Bump {
  using Bump::Bump;
  static Pad* create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
    return create_common<Pad>(spec, opt, spec.get_size("chunk"), err);
  }
};

constexpr Traits kNoReuseTraits{16, false, true, true, false};

}  // namespace

const FamilySchema& minimal_schema() {
  static const FamilySchema s{"minimal", "no reuse: grow the break by exactly each request; free does nothing", {},
                              {"region"}};
  return s;
}

void minimal_add_rows(std::vector<RegistryRow>& out) { out.push_back(make_row<Minimal>("minimal", kNoReuseTraits)); }

const FamilySchema& pad_schema() {
  static const FamilySchema s{"pad",
                              "no reuse: grow the break in chunks of at least `chunk` bytes and bump within",
                              {{"chunk", KeyKind::Size, "64K", {}, 4096, std::uint64_t{64} << 20}},
                              {"region"}};
  return s;
}

void pad_add_rows(std::vector<RegistryRow>& out) { out.push_back(make_row<Pad>("pad", kNoReuseTraits)); }

}  // namespace evo
