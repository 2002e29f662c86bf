// core/layers/harden.cpp — the hardening layer (see harden.hpp for the contract).
#include "core/layers/harden.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>


namespace evo {
namespace {

constexpr std::size_t kHeader = 16;
constexpr std::size_t kGuard = 8;
constexpr std::size_t kRecent = 1024;
constexpr std::uintptr_t kTomb = 1;  // deleted slot of the live set
constexpr std::size_t kMaxRequest = std::size_t{1} << 46;

thread_local HardenHook t_hook = nullptr;
thread_local void* t_hook_ctx = nullptr;

void report(std::string_view kind, const void* p, std::size_t size, const char* detail) {
  char msg[256];
  std::snprintf(msg, sizeof msg, "evoalloc harden: %.*s at %p (%s)", static_cast<int>(kind.size()), kind.data(), p,
                detail);
  HardenReport r{kind, p, size, msg};
  if (t_hook != nullptr) {
    t_hook(t_hook_ctx, r);
    return;
  }
  std::fprintf(stderr, "%s\n", msg);
  std::abort();
}

/// Open-addressing set of live block pointers. Its table is allocated from the
/// inner allocator itself, so it counts in the instance's footprint and limit.
class LiveSet {
 public:
  LiveSet(const RegistryRow* inner, void* st) : inner_(inner), st_(st) {}
  ~LiveSet() {
    if (table_ != nullptr) inner_->ops.deallocate(st_, table_);
  }
  LiveSet(const LiveSet&) = delete;
  LiveSet& operator=(const LiveSet&) = delete;
  std::size_t size() const { return count_; }
  /// Where p's probe sequence starts (the line a lookup of p touches first);
  /// nullptr before the table exists.
  const void* slot_address(std::uintptr_t p) const { return cap_ == 0 ? nullptr : &table_[slot(p)]; }

  bool insert(std::uintptr_t p) {
    if ((count_ + tombs_ + 1) * 4 > cap_ * 3 && !rehash(count_ * 4 + 64 > cap_ * 2 ? cap_ * 2 : cap_)) return false;
    std::size_t i = slot(p);
    std::size_t tomb = SIZE_MAX;
    while (table_[i] != 0) {
      if (table_[i] == p) return true;
      if (table_[i] == kTomb && tomb == SIZE_MAX) tomb = i;
      i = (i + 1) & (cap_ - 1);
    }
    if (tomb != SIZE_MAX) {
      i = tomb;
      --tombs_;
    }
    table_[i] = p;
    ++count_;
    return true;
  }
  bool erase(std::uintptr_t p) {
    if (cap_ == 0) return false;
    for (std::size_t i = slot(p); table_[i] != 0; i = (i + 1) & (cap_ - 1)) {
      if (table_[i] == p) {
        table_[i] = kTomb;
        --count_;
        ++tombs_;
        return true;
      }
    }
    return false;
  }
  bool contains(std::uintptr_t p) const {
    if (cap_ == 0) return false;
    for (std::size_t i = slot(p); table_[i] != 0; i = (i + 1) & (cap_ - 1))
      if (table_[i] == p) return true;
    return false;
  }
  template <class F>
  bool for_each(F f) const {
    for (std::size_t i = 0; i < cap_; ++i)
      if (table_[i] > kTomb && !f(table_[i])) return false;
    return true;
  }

 private:
  // Hashes the offset of p from the first table's address rather than p itself: the
  // inner instance lays everything out at fixed offsets of its reservation, so the
  // probe sequences (and the live-set touches the probe sees) are the same wherever
  // mmap placed the reservation, and the modeled metrics reproducible.
  std::size_t slot(std::uintptr_t p) const {
    return static_cast<std::size_t>((((p - anchor_) >> 4) * 0x9E3779B97F4A7C15ull) >> 20) & (cap_ - 1);
  }
  bool rehash(std::size_t new_cap) {
    if (new_cap < 512) new_cap = 512;
    auto* t = static_cast<std::uintptr_t*>(inner_->ops.allocate(st_, new_cap * sizeof(std::uintptr_t), 16));
    if (t == nullptr) return false;
    if (anchor_ == 0) anchor_ = reinterpret_cast<std::uintptr_t>(t);
    std::memset(t, 0, new_cap * sizeof(std::uintptr_t));
    std::uintptr_t* old = table_;
    std::size_t old_cap = cap_;
    table_ = t;
    cap_ = new_cap;
    count_ = tombs_ = 0;
    for (std::size_t i = 0; i < old_cap; ++i)
      if (old[i] > kTomb) insert(old[i]);
    if (old != nullptr) inner_->ops.deallocate(st_, old);
    return true;
  }

  const RegistryRow* inner_;
  void* st_;
  std::uintptr_t* table_ = nullptr;
  std::uintptr_t anchor_ = 0;  // address of the first table (the hash origin, fixed for life)
  std::size_t cap_ = 0;
  std::size_t count_ = 0;
  std::size_t tombs_ = 0;
};

struct HardenState {
  const RegistryRow* inner;
  void* st;
  bool checked;
  std::size_t min_align;
  std::uint64_t secret;
  LiveSet* live = nullptr;  // checked only
  std::uintptr_t recent[kRecent] = {};
  std::size_t recent_pos = 0;
  const Probe* probe = nullptr;  // metadata touches of the layer itself (header, guard, live set)

  std::uint64_t canary(const char* p) const { return secret ^ (reinterpret_cast<std::uintptr_t>(p) * 0x2545F4914F6CDD1Dull); }
  std::uint32_t tag(const char* p) const { return static_cast<std::uint32_t>(canary(p) >> 32) | 1u; }
};

struct Header {
  std::uint64_t size;
  std::uint64_t off_tag;  // offset << 32 | tag
};

Header read_header(const char* p) {
  Header h;
  std::memcpy(&h, p - kHeader, sizeof h);
  return h;
}

bool canary_ok(const HardenState* s, const char* p, std::size_t size) {
  std::uint64_t g;
  std::memcpy(&g, p + size, kGuard);
  return g == s->canary(p);
}

void* h_allocate(void* self, std::size_t size, std::size_t align) {
  auto* s = static_cast<HardenState*>(self);
  if (size > kMaxRequest) return nullptr;
  std::size_t a = align > s->min_align ? align : s->min_align;
  std::size_t off = a > kHeader ? a : kHeader;
  char* q = static_cast<char*>(s->inner->ops.allocate(s->st, off + size + kGuard, a));
  if (q == nullptr) return nullptr;
  char* p = q + off;
  Header h{size, (std::uint64_t{off} << 32) | s->tag(p)};
  std::memcpy(p - kHeader, &h, sizeof h);
  std::uint64_t g = s->canary(p);
  std::memcpy(p + size, &g, kGuard);
  touch(s->probe, p - kHeader, kHeader);
  touch(s->probe, p + size, kGuard);
  if (s->live != nullptr) {
    if (!s->live->insert(reinterpret_cast<std::uintptr_t>(p))) {
      s->inner->ops.deallocate(s->st, q);
      return nullptr;
    }
    touch(s->probe, s->live->slot_address(reinterpret_cast<std::uintptr_t>(p)), sizeof(std::uintptr_t));
  }
  return p;
}

/// Checks that p may be freed; reports and returns false when it may not.
bool check_free(HardenState* s, const char* p, const char* what) {
  auto u = reinterpret_cast<std::uintptr_t>(p);
  touch(s->probe, p - kHeader, kHeader);
  if (s->live != nullptr) {
    if (const void* slot = s->live->slot_address(u); slot != nullptr) touch(s->probe, slot, sizeof(std::uintptr_t));
    if (s->live->contains(u)) return true;
    for (std::uintptr_t r : s->recent)
      if (r == u) {
        report("double-free", p, 0, what);
        return false;
      }
    report("invalid-free", p, 0, what);
    return false;
  }
  Header h = read_header(p);
  if (static_cast<std::uint32_t>(h.off_tag) != s->tag(p)) {
    report("invalid-free", p, 0, what);
    return false;
  }
  return true;
}

void h_deallocate(void* self, void* vp) {
  if (vp == nullptr) return;
  auto* s = static_cast<HardenState*>(self);
  char* p = static_cast<char*>(vp);
  if (!check_free(s, p, "free of a pointer that is not a live block")) return;
  Header h = read_header(p);
  touch(s->probe, p + h.size, kGuard);
  if (!canary_ok(s, p, h.size)) report("overflow", p, h.size, "the guard word after the block was overwritten");
  if (s->live != nullptr) {
    s->live->erase(reinterpret_cast<std::uintptr_t>(p));
    s->recent[s->recent_pos++ % kRecent] = reinterpret_cast<std::uintptr_t>(p);
  }
  Header dead{0, 0};
  std::memcpy(p - kHeader, &dead, sizeof dead);
  s->inner->ops.deallocate(s->st, p - (h.off_tag >> 32));
}

void* h_reallocate(void* self, void* vp, std::size_t size) {
  auto* s = static_cast<HardenState*>(self);
  if (vp == nullptr) return h_allocate(self, size, 16);
  if (size == 0) {
    h_deallocate(self, vp);
    return nullptr;
  }
  char* p = static_cast<char*>(vp);
  if (!check_free(s, p, "realloc of a pointer that is not a live block")) return nullptr;
  Header h = read_header(p);
  if (!canary_ok(s, p, h.size)) report("overflow", p, h.size, "the guard word after the block was overwritten");
  if (size <= h.size) {  // shrink in place: move the guard
    h.size = size;
    std::memcpy(p - kHeader, &h, sizeof h);
    std::uint64_t g = s->canary(p);
    std::memcpy(p + size, &g, kGuard);
    return p;
  }
  void* q = h_allocate(self, size, 16);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, h.size);
  h_deallocate(self, p);
  return q;
}

std::size_t h_usable_size(const void*, const void* p) { return read_header(static_cast<const char*>(p)).size; }
std::size_t h_good_size(const void*, std::size_t n) { return n; }  // usable = the requested size

void h_stats(const void* self, AllocStats* out) {
  auto* s = static_cast<const HardenState*>(self);
  s->inner->ops.stats(s->st, out);  // the live set's table is inside the inner footprint
}

bool h_validate(const void* self, ValidateLevel level, std::string* err) {
  auto* s = static_cast<const HardenState*>(self);
  if (!s->inner->ops.validate(s->st, level, err)) return false;
  if (level < ValidateLevel::Full || s->live == nullptr) return true;
  return s->live->for_each([&](std::uintptr_t u) {
    const char* p = reinterpret_cast<const char*>(u);
    Header h = read_header(p);
    if (static_cast<std::uint32_t>(h.off_tag) != s->tag(p)) {
      if (err) *err = "harden: header of a live block overwritten";
      return false;
    }
    if (!canary_ok(s, p, h.size)) {
      if (err) *err = "harden: guard word after a live block of " + std::to_string(h.size) + " B overwritten";
      return false;
    }
    return true;
  });
}

void h_destroy(void* self) {
  auto* s = static_cast<HardenState*>(self);
  delete s->live;  // frees its table into the inner allocator first
  s->inner->ops.destroy(s->st);
  delete s;
}

void* h_create(const AllocatorSpec&, const InstanceOptions&, std::string* err) {
  if (err) *err = "hardening rows are made by wrap_hardening, not created directly";
  return nullptr;
}

/// The wrapper rows: one per (registry row, mode), built once.
struct WrapperTable {
  std::vector<RegistryRow> canary, checked;
};

const WrapperTable& wrappers() {
  static const WrapperTable t = [] {
    WrapperTable t;
    for (const RegistryRow& r : rows()) {
      for (int m = 0; m < 2; ++m) {
        RegistryRow w = r;
        std::string_view mode = m == 0 ? "canary" : "checked";
        std::size_t at = w.name.rfind("harden=off");
        if (at != std::string::npos) w.name.replace(at, 10, "harden=" + std::string(mode));
        w.traits.needs_header = true;
        w.ops = AllocatorOps{&h_allocate, &h_deallocate, &h_reallocate, &h_usable_size,
                             &h_stats,    &h_validate,   &h_destroy, &h_good_size};
        w.create = &h_create;
        (m == 0 ? t.canary : t.checked).push_back(std::move(w));
      }
    }
    return t;
  }();
  return t;
}

}  // namespace

HardenHook set_harden_hook(HardenHook hook, void* ctx, void** prev_ctx) {
  HardenHook prev = t_hook;
  if (prev_ctx != nullptr) *prev_ctx = t_hook_ctx;
  t_hook = hook;
  t_hook_ctx = ctx;
  return prev;
}

bool wrap_hardening(std::string_view mode, const RegistryRow*& row, void*& state, std::string* err,
                    std::size_t min_align, const Probe* probe) {
  if (mode == "off") return true;
  if (mode != "canary" && mode != "checked") {
    if (err) *err = "harden=" + std::string(mode) + ": expected off|canary|checked";
    return false;
  }
  const WrapperTable& t = wrappers();
  const std::vector<RegistryRow>& table = mode == "canary" ? t.canary : t.checked;
  if (row == nullptr || row->id >= table.size()) {
    if (err) *err = "harden: not a registry row";
    return false;
  }
  auto* s = new (std::nothrow) HardenState{row, state, mode == "checked", min_align < 16 ? 16 : min_align, 0};
  if (s == nullptr) {
    if (err) *err = "harden: out of memory";
    return false;
  }
  s->probe = probe;
  s->secret = 0x9E3779B97F4A7C15ull ^ (reinterpret_cast<std::uintptr_t>(s) * 0xBF58476D1CE4E5B9ull);
  if (s->checked) {
    s->live = new (std::nothrow) LiveSet(row, state);
    if (s->live == nullptr) {
      if (err) *err = "harden=checked: out of memory for the live-block set";
      delete s;
      return false;
    }
  }
  row = &table[row->id];
  state = s;
  return true;
}

}  // namespace evo
