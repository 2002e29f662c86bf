#include "evaluate/cache_model.hpp"

#include <bit>
#include <stdexcept>
#include <string>

namespace evo {

namespace {

bool pow2(std::uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

CacheModel::CacheModel(const CacheConfig& cfg) : cfg_(cfg) {
  auto check = [](bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string("cache model: ") + what);
  };
  check(pow2(cfg.line) && pow2(cfg.page) && cfg.line <= cfg.page, "line and page must be powers of two, line <= page");
  check(pow2(cfg.l1_size) && pow2(cfg.l2_size), "cache sizes must be powers of two");
  check(pow2(cfg.l1_ways) && pow2(cfg.l2_ways), "associativities must be powers of two");
  check(cfg.l1_size >= cfg.l1_ways * cfg.line && cfg.l2_size >= cfg.l2_ways * cfg.line,
        "each level needs at least one set");
  line_shift_ = static_cast<unsigned>(std::countr_zero(cfg.line));
  page_line_shift_ = static_cast<unsigned>(std::countr_zero(cfg.page)) - line_shift_;
  l1_.ways = cfg.l1_ways;
  l1_.set_mask = cfg.l1_size / (cfg.l1_ways * cfg.line) - 1;
  l2_.ways = cfg.l2_ways;
  l2_.set_mask = cfg.l2_size / (cfg.l2_ways * cfg.line) - 1;
  reset();
}

void CacheModel::reset() {
  l1_.tags.assign((l1_.set_mask + 1) * l1_.ways, kEmpty);
  l2_.tags.assign((l2_.set_mask + 1) * l2_.ways, kEmpty);
  last_line_ = kEmpty;
  last_page_ = kEmpty;
  counts_ = {};
  pages_.assign(1024, kEmpty);
  pages_size_ = 0;
}

CacheCounts CacheModel::total() const {
  CacheCounts t;
  for (const CacheCounts& c : counts_) {
    t.touches += c.touches;
    t.accesses += c.accesses;
    t.l1_misses += c.l1_misses;
    t.l2_misses += c.l2_misses;
  }
  return t;
}

namespace {
inline std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}
}  // namespace

void CacheModel::note_page(std::uint64_t page) {
  std::uint64_t mask = pages_.size() - 1;
  for (std::uint64_t i = mix(page) & mask;; i = (i + 1) & mask) {
    if (pages_[i] == page) return;
    if (pages_[i] == kEmpty) {
      pages_[i] = page;
      if (++pages_size_ * 2 > pages_.size()) grow_pages();
      return;
    }
  }
}

void CacheModel::grow_pages() {
  std::vector<std::uint64_t> old(pages_.size() * 2, kEmpty);
  old.swap(pages_);
  std::uint64_t mask = pages_.size() - 1;
  for (std::uint64_t p : old) {
    if (p == kEmpty) continue;
    std::uint64_t i = mix(p) & mask;
    while (pages_[i] != kEmpty) i = (i + 1) & mask;
    pages_[i] = p;
  }
}

}  // namespace evo
