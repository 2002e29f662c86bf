// core/block/classes.cpp — see classes.hpp.
#include "core/block/classes.hpp"

#include <algorithm>
#include <charconv>

#include "core/block/chunk.hpp"
#include "core/spec.hpp"

namespace evo::block {
namespace {

std::vector<std::size_t> jemalloc_like(std::size_t max_size, std::size_t max_count) {
  std::vector<std::size_t> v;
  for (std::size_t s = 16; s <= 128 && s <= max_size && v.size() < max_count; s += 16) v.push_back(s);
  for (std::size_t base = 128; v.size() < max_count; base *= 2) {
    std::size_t step = base / 4;
    bool done = false;
    for (int i = 1; i <= 4 && v.size() < max_count; ++i) {
      std::size_t s = base + step * static_cast<std::size_t>(i);
      if (s > max_size) {
        done = true;
        break;
      }
      v.push_back(s);
    }
    if (done) break;
  }
  return v;
}

}  // namespace

std::vector<std::size_t> class_sizes(std::string_view scheme, std::span<const SizeCount> histogram,
                                     std::size_t max_size, std::string* err) {
  std::vector<std::size_t> v;
  if (max_size < 16) max_size = 16;
  if (scheme == "jemalloc") return jemalloc_like(max_size, kMaxClasses);
  if (scheme == "pow2") {
    for (std::size_t s = 16; s <= max_size; s *= 2) v.push_back(s);
    return v;
  }
  if (scheme.starts_with("linear:")) {
    std::uint64_t step = 0;
    if (!parse_size(scheme.substr(7), step) || step < 16 || step % 16 != 0) {
      if (err != nullptr) *err = "class scheme '" + std::string(scheme) + "': expected linear:STEP, STEP a multiple of 16";
      return {};
    }
    for (std::size_t s = step; s <= max_size && v.size() < kMaxClasses; s += step) v.push_back(s);
    if (v.empty()) v.push_back(round16(step));
    return v;
  }
  if (scheme.starts_with("fitted:")) {
    std::string_view ks = scheme.substr(7);
    std::size_t k = 0;
    auto [ptr, ec] = std::from_chars(ks.data(), ks.data() + ks.size(), k);
    if (ec != std::errc() || ptr != ks.data() + ks.size() || k < 1) {
      if (err != nullptr) *err = "class scheme '" + std::string(scheme) + "': expected fitted:K";
      return {};
    }
    std::vector<SizeCount> h;
    std::uint64_t total = 0;
    for (const SizeCount& e : histogram) {
      std::size_t s = round16(e.size == 0 ? 1 : e.size);
      if (s > max_size || e.count == 0) continue;
      h.push_back({s, e.count});
      total += e.count;
    }
    if (h.empty()) return jemalloc_like(max_size, k);
    std::sort(h.begin(), h.end(), [](const SizeCount& a, const SizeCount& b) { return a.size < b.size; });
    // Cut at the request-count quantiles i/K: each class ends at the size where
    // the cumulative count first reaches i/K of the total.
    std::uint64_t cum = 0;
    std::size_t next = 1;
    for (const SizeCount& e : h) {
      cum += e.count;
      while (next <= k && cum * k >= total * next) {
        if (v.empty() || v.back() < e.size) v.push_back(e.size);
        ++next;
      }
    }
    return v;
  }
  if (err != nullptr) *err = "unknown class scheme '" + std::string(scheme) + "' (expected jemalloc|pow2|linear:STEP|fitted:K)";
  return {};
}

}  // namespace evo::block
