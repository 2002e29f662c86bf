// core/sizeclass/size_classes.cpp — see size_classes.hpp.
#include "core/sizeclass/size_classes.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <tuple>

namespace evo {
namespace {

std::size_t round_up(std::size_t n, std::size_t q) { return (n + q - 1) / q * q; }

void finish(std::vector<std::uint32_t>& v, std::size_t large, std::size_t quantum) {
  for (auto& s : v) s = static_cast<std::uint32_t>(round_up(s, quantum));
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  while (!v.empty() && v.back() > large) v.pop_back();
  if (v.empty() || v.back() != large) v.push_back(static_cast<std::uint32_t>(large));
}

// Exact DP: choose K-1 classes among the candidates (+ large) minimising sum count*(class-size).
std::vector<std::uint32_t> fit(std::size_t k, std::size_t large, std::size_t quantum, std::span<const SizeCount> hist) {
  std::map<std::uint64_t, std::uint64_t> by_size;  // rounded size -> count
  for (const SizeCount& sc : hist) {
    if (sc.size > large || sc.count == 0) continue;
    by_size[round_up(sc.size == 0 ? 1 : sc.size, quantum)] += sc.count;
  }
  // Candidate tops: the most frequent rounded sizes (at most 255) plus large.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> freq(by_size.begin(), by_size.end());
  std::vector<std::uint64_t> cand;
  if (freq.size() > 255) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> f2 = freq;
    std::nth_element(f2.begin(), f2.begin() + 255, f2.end(),
                     [](auto& a, auto& b) { return std::tie(b.second, a.first) < std::tie(a.second, b.first); });
    for (std::size_t i = 0; i < 255; ++i) cand.push_back(f2[i].first);
  } else {
    for (auto& [s, c] : freq) cand.push_back(s);
  }
  cand.push_back(large);
  std::sort(cand.begin(), cand.end());
  cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
  const std::size_t m = cand.size();
  // Prefix sums per candidate: W[j] = count of sizes <= cand[j-1], S[j] = sum count*size.
  std::vector<std::uint64_t> W(m + 1, 0), S(m + 1, 0);
  {
    std::size_t j = 0;
    std::uint64_t w = 0, s = 0;
    for (auto& [size, cnt] : freq) {
      while (cand[j] < size) {
        W[j + 1] = w;
        S[j + 1] = s;
        ++j;
      }
      w += cnt;
      s += cnt * size;
    }
    for (; j < m; ++j) {
      W[j + 1] = w;
      S[j + 1] = s;
    }
  }
  auto cost = [&](std::size_t i, std::size_t j) {  // classes cand[i-1] (or 0) < sizes <= cand[j-1]
    return cand[j - 1] * (W[j] - W[i]) - (S[j] - S[i]);
  };
  std::size_t kk = std::min(k, m);
  const std::uint64_t inf = UINT64_MAX;
  std::vector<std::vector<std::uint64_t>> f(kk + 1, std::vector<std::uint64_t>(m + 1, inf));
  std::vector<std::vector<std::uint32_t>> from(kk + 1, std::vector<std::uint32_t>(m + 1, 0));
  for (std::size_t j = 1; j <= m; ++j) f[1][j] = cost(0, j);
  for (std::size_t c = 2; c <= kk; ++c)
    for (std::size_t j = c; j <= m; ++j)
      for (std::size_t i = c - 1; i < j; ++i) {
        if (f[c - 1][i] == inf) continue;
        std::uint64_t v = f[c - 1][i] + cost(i, j);
        if (v < f[c][j]) {
          f[c][j] = v;
          from[c][j] = static_cast<std::uint32_t>(i);
        }
      }
  std::vector<std::uint32_t> out;
  std::size_t j = m;
  for (std::size_t c = kk; c >= 1 && j > 0; --c) {
    out.push_back(static_cast<std::uint32_t>(cand[j - 1]));
    j = c > 1 ? from[c][j] : 0;
  }
  return out;
}

// Fitting is exact but not free; evolution creates many instances of the same
// design for the same trace, so results are memoised by (K, large, quantum, histogram).
std::vector<std::uint32_t> fit_cached(std::size_t k, std::size_t large, std::size_t quantum,
                                      std::span<const SizeCount> hist) {
  std::uint64_t h = 1469598103934665603ull;
  for (const SizeCount& sc : hist) h = (h ^ (sc.size * 31 + sc.count)) * 1099511628211ull;
  using Key = std::tuple<std::size_t, std::size_t, std::size_t, std::uint64_t, std::size_t>;
  static std::mutex mu;
  static std::map<Key, std::vector<std::uint32_t>> memo;
  Key key{k, large, quantum, h, hist.size()};
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = memo.find(key);
    if (it != memo.end()) return it->second;
  }
  std::vector<std::uint32_t> v = fit(k, large, quantum, hist);
  std::lock_guard<std::mutex> lock(mu);
  if (memo.size() > 256) memo.clear();
  memo.emplace(key, v);
  return v;
}

}  // namespace

std::vector<std::uint32_t> fitted_classes(std::size_t k, std::size_t large, std::size_t quantum,
                                          std::span<const SizeCount> histogram) {
  std::vector<std::uint32_t> v = fit_cached(k, large, quantum, histogram);
  finish(v, large, quantum);
  return v;
}

bool class_sizes(std::string_view scheme, std::size_t large, std::size_t quantum,
                 std::span<const SizeCount> histogram, std::vector<std::uint32_t>& out, std::string* err) {
  out.clear();
  if (quantum < 16 || (quantum & (quantum - 1)) != 0 || large < quantum || large % quantum != 0 ||
      large > (std::size_t{1} << 20)) {
    if (err) *err = "class table: large=" + std::to_string(large) + " must be a multiple of the alignment " +
                    std::to_string(quantum) + " and at most 1M";
    return false;
  }
  if (scheme == "jemalloc" || (scheme.starts_with("fitted:") && histogram.empty())) {
    for (std::uint32_t s = 16; s <= 128; s += 16) out.push_back(s);
    for (std::uint64_t base = 128; base < large; base *= 2)
      for (std::uint64_t i = 1; i <= 4; ++i) out.push_back(static_cast<std::uint32_t>(base + i * base / 4));
  } else if (scheme == "pow2") {
    for (std::uint64_t s = 16; s <= large; s *= 2) out.push_back(static_cast<std::uint32_t>(s));
  } else if (scheme.starts_with("linear:")) {
    std::uint64_t step = 0;
    std::string_view v = scheme.substr(7);
    if (!parse_size(v, step) || step == 0) {
      if (err) *err = "class table: bad scheme '" + std::string(scheme) + "'";
      return false;
    }
    for (std::uint64_t s = step; s <= large; s += step) out.push_back(static_cast<std::uint32_t>(s));
  } else if (scheme.starts_with("fitted:")) {
    std::size_t k = 0;
    std::string_view v = scheme.substr(7);
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), k);
    if (ec != std::errc() || k < 1) {
      if (err) *err = "class table: bad scheme '" + std::string(scheme) + "'";
      return false;
    }
    out = fit_cached(k, large, quantum, histogram);
    // The backbone: the pow2 classes too, so that a size the trace never asked for
    // (another input, another phase of the program) rounds up to at most twice
    // itself instead of to the next fitted class, which may be `large` (a 64 KiB
    // block for a 600-byte request). Sizes of the trace only ever round to a class
    // as close as before or closer.
    for (std::uint64_t b = 16; b < large; b *= 2) out.push_back(static_cast<std::uint32_t>(b));
  } else {
    if (err) *err = "class table: unknown scheme '" + std::string(scheme) + "'";
    return false;
  }
  finish(out, large, quantum);
  return true;
}

bool SizeClasses::build(std::string_view scheme, std::size_t large, std::size_t quantum,
                        std::span<const SizeCount> histogram, MetaArena& arena, std::string* err) {
  std::vector<std::uint32_t> v;
  if (!class_sizes(scheme, large, quantum, histogram, v, err)) return false;
  if (v.size() > 65535) {
    if (err) *err = "class table: too many classes";
    return false;
  }
  count_ = static_cast<std::uint32_t>(v.size());
  large_ = large;
  sizes_ = static_cast<std::uint32_t*>(arena.alloc(v.size() * sizeof(std::uint32_t)));
  table_ = static_cast<std::uint16_t*>(arena.alloc((large / 16 + 1) * sizeof(std::uint16_t)));
  if (sizes_ == nullptr || table_ == nullptr) {
    if (err) *err = "class table: out of memory";
    return false;
  }
  std::copy(v.begin(), v.end(), sizes_);
  std::uint32_t c = 0;
  for (std::size_t i = 0; i <= large / 16; ++i) {
    while (sizes_[c] < i * 16) ++c;
    table_[i] = static_cast<std::uint16_t>(c);
  }
  return true;
}

bool SizeClasses::validate(std::string* err) const {
  for (std::uint32_t c = 0; c < count_; ++c) {
    if (sizes_[c] == 0 || sizes_[c] % 16 != 0 || (c > 0 && sizes_[c] <= sizes_[c - 1])) {
      if (err) *err = "class table: sizes not increasing multiples of 16 at class " + std::to_string(c);
      return false;
    }
  }
  if (count_ == 0 || sizes_[count_ - 1] != large_) {
    if (err) *err = "class table: top class is not the large threshold";
    return false;
  }
  for (std::size_t i = 1; i <= large_ / 16; ++i) {
    std::uint16_t c = table_[i];
    if (sizes_[c] < i * 16 || (c > 0 && sizes_[c - 1] >= i * 16)) {
      if (err) *err = "class table: lookup of " + std::to_string(i * 16) + " bytes is not the best fit";
      return false;
    }
  }
  return true;
}

}  // namespace evo
