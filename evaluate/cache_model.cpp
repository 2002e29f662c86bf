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
  page_line_mask_ = (std::uint64_t{1} << page_line_shift_) - 1;
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
  last_frame_ = 0;
  counts_ = {};
  pages_.assign(1024, kEmpty);
  frames_.assign(1024, 0);
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

std::uint64_t CacheModel::note_page(std::uint64_t page) {
  std::uint64_t mask = pages_.size() - 1;
  for (std::uint64_t i = mix(page) & mask;; i = (i + 1) & mask) {
    if (pages_[i] == page) return frames_[i];
    if (pages_[i] == kEmpty) {
      const std::uint64_t frame = pages_size_;
      pages_[i] = page;
      frames_[i] = frame;
      if (++pages_size_ * 2 > pages_.size()) grow_pages();
      return frame;
    }
  }
}

void CacheModel::grow_pages() {
  std::vector<std::uint64_t> old(pages_.size() * 2, kEmpty), old_frames(pages_.size() * 2, 0);
  old.swap(pages_);
  old_frames.swap(frames_);
  std::uint64_t mask = pages_.size() - 1;
  for (std::size_t k = 0; k < old.size(); ++k) {
    if (old[k] == kEmpty) continue;
    std::uint64_t i = mix(old[k]) & mask;
    while (pages_[i] != kEmpty) i = (i + 1) & mask;
    pages_[i] = old[k];
    frames_[i] = old_frames[k];
  }
}

}  // namespace evo
