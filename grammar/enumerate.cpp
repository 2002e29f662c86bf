// grammar/enumerate.cpp — counting by dynamic programming, listing by unranking.
#include "grammar/enumerate.hpp"

#include <charconv>
#include <stdexcept>

namespace evo {

namespace {

std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}
std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

}  // namespace

Enumerator::Enumerator(const Grammar& g, const EnumOptions& opt) : g_(g), opt_(opt) {
  if (opt_.max_depth < 0) opt_.max_depth = 0;
  const std::size_t w = static_cast<std::size_t>(opt_.max_depth) + 1;
  table_.assign(g_.rules.size() * w, 0);
  for (int d = 1; d <= opt_.max_depth; ++d) {
    for (std::uint32_t r = 0; r < g_.rules.size(); ++r) {
      std::uint64_t total = 0;
      for (const Production& p : g_.rules[r].productions) {
        std::uint64_t prod = 1;
        for (const Symbol& s : p.symbols) prod = sat_mul(prod, symbol_count(s, d - 1));
        total = sat_add(total, prod);
      }
      table_[r * w + static_cast<std::size_t>(d)] = total;
    }
  }
  total_ = g_.rules.empty() ? 0 : rule_count(g_.start(), opt_.max_depth);
}

std::uint64_t Enumerator::rule_count(std::uint32_t r, int depth) const {
  return table_[r * (static_cast<std::size_t>(opt_.max_depth) + 1) + static_cast<std::size_t>(depth)];
}

std::uint64_t Enumerator::range_values(std::uint32_t r) const {
  std::uint64_t size = g_.ranges[r].reachable();
  if (opt_.max_range_values > 0 && size > opt_.max_range_values) return opt_.max_range_values;
  return size;
}

std::int64_t Enumerator::range_value(std::uint32_t r, std::uint64_t k) const {
  const IntRange& rg = g_.ranges[r];
  std::uint64_t n = range_values(r);
  std::uint64_t size = rg.reachable();
  if (n == size) return static_cast<std::int64_t>(static_cast<std::uint64_t>(rg.lo) + k);
  if (n <= 1) return rg.lo;
  // Evenly spaced over the reachable values: lo + round(k * (size - 1) / (n - 1)).
  unsigned __int128 span = size - 1;
  unsigned __int128 off = (span * k + (n - 1) / 2) / (n - 1);
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(rg.lo) + static_cast<std::uint64_t>(off));
}

std::uint64_t Enumerator::symbol_count(const Symbol& s, int depth) const {
  switch (s.kind) {
    case Symbol::Kind::Terminal: return 1;
    case Symbol::Kind::Range: return range_values(s.index);
    case Symbol::Kind::NonTerminal: return depth <= 0 ? 0 : rule_count(s.index, depth);
  }
  return 0;
}

void Enumerator::unrank(std::uint32_t r, int depth, std::uint64_t index, std::string& out,
                        std::vector<std::uint32_t>* genome) const {
  const Rule& rule = g_.rules[r];
  const std::size_t k = rule.productions.size();
  for (std::size_t pi = 0; pi < k; ++pi) {
    const Production& p = rule.productions[pi];
    std::uint64_t c = 1;
    for (const Symbol& s : p.symbols) c = sat_mul(c, symbol_count(s, depth - 1));
    if (index >= c) {
      index -= c;
      continue;
    }
    if (genome != nullptr && k > 1) genome->push_back(static_cast<std::uint32_t>(pi));
    // Mixed-radix digits, last symbol fastest (on the stack for the usual short
    // productions: `grammar check --verify` unranks every sentence).
    constexpr std::size_t kInline = 16;
    std::uint64_t inline_digits[kInline];
    std::vector<std::uint64_t> heap_digits;
    std::uint64_t* digits = inline_digits;
    if (p.symbols.size() > kInline) {
      heap_digits.resize(p.symbols.size());
      digits = heap_digits.data();
    }
    for (std::size_t i = p.symbols.size(); i-- > 0;) {
      std::uint64_t base = symbol_count(p.symbols[i], depth - 1);
      digits[i] = index % base;
      index /= base;
    }
    for (std::size_t i = 0; i < p.symbols.size(); ++i) {
      const Symbol& s = p.symbols[i];
      switch (s.kind) {
        case Symbol::Kind::Terminal: out += g_.terminals[s.index]; break;
        case Symbol::Kind::Range: {
          std::int64_t v = range_value(s.index, digits[i]);
          char buf[24];
          auto res = std::to_chars(buf, buf + sizeof buf, v);
          out.append(buf, res.ptr);
          if (genome != nullptr && g_.ranges[s.index].size() > 1)
            genome->push_back(static_cast<std::uint32_t>(static_cast<std::uint64_t>(v) -
                                                         static_cast<std::uint64_t>(g_.ranges[s.index].lo)));
          break;
        }
        case Symbol::Kind::NonTerminal: unrank(s.index, depth - 1, digits[i], out, genome); break;
      }
    }
    return;
  }
}

std::string Enumerator::at(std::uint64_t index, std::vector<std::uint32_t>* genome) const {
  if (saturated()) throw std::overflow_error("grammar " + g_.name + ": too many sentences to index (>= 2^64)");
  if (index >= total_) throw std::out_of_range("sentence index " + std::to_string(index) + " >= count " + std::to_string(total_));
  std::string out;
  if (genome != nullptr) genome->clear();
  unrank(g_.start(), opt_.max_depth, index, out, genome);
  return out;
}

std::uint64_t Enumerator::for_each(const std::function<bool(const std::string&)>& visit, std::uint64_t limit) const {
  std::uint64_t n = std::min(total_, limit);
  if (saturated() && n > 0) at(0);  // throws
  std::uint64_t i = 0;
  std::string s;  // one buffer for every sentence
  for (; i < n; ++i) {
    s.clear();
    unrank(g_.start(), opt_.max_depth, i, s, nullptr);
    if (!visit(s)) return i + 1;
  }
  return i;
}

std::uint64_t count_sentences(const Grammar& g, const EnumOptions& opt) { return Enumerator(g, opt).count(); }

std::vector<std::string> enumerate_sentences(const Grammar& g, const EnumOptions& opt, std::uint64_t limit) {
  std::vector<std::string> out;
  Enumerator e(g, opt);
  e.for_each([&](const std::string& s) {
    out.push_back(s);
    return true;
  }, limit);
  return out;
}

}  // namespace evo
