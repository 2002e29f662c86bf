// grammar/mapper.cpp — GE mapping, sensible initialisation, sentence encoding.
#include "grammar/mapper.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "grammar/rng.hpp"

namespace evo {

namespace {

struct Frame {
  Symbol sym;
  int depth;  // depth of the rule node that holds this symbol (0 for the root's parent)
};

std::vector<Frame>& work_stack() {
  thread_local std::vector<Frame> stack;
  return stack;
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

// Value of range r for codon c (c is only read when size > 1).
std::int64_t range_value(const IntRange& r, std::uint32_t c) {
  std::uint64_t size = r.size();
  std::uint64_t off = size > 1 ? static_cast<std::uint64_t>(c) % size : 0;
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(r.lo) + off);
}

// A codon congruent to `choice` modulo `k`, otherwise uniform over uint32.
std::uint32_t codon_for(std::uint64_t choice, std::uint64_t k, Rng& rng) {
  if (k <= 1) return static_cast<std::uint32_t>(rng.next());
  if (k > UINT32_MAX) return static_cast<std::uint32_t>(choice);
  std::uint64_t span = (UINT32_MAX - choice) / k + 1;
  return static_cast<std::uint32_t>(choice + k * rng.below(span));
}

}  // namespace

MapResult map_genome(const Grammar& g, std::span<const std::uint32_t> codons, const MapOptions& opt) {
  MapResult res;
  std::vector<Frame>& st = work_stack();
  st.clear();
  st.push_back({{Symbol::Kind::NonTerminal, g.start()}, 0});
  std::size_t pos = 0, reads = 0, nodes = 0;
  int wraps = 0, max_depth_seen = 0;
  std::string out;
  out.reserve(192);  // one allocation for typical sentences (allocator.bnf: ~100 bytes)

  auto fail = [&](std::string why) {
    res.valid = false;
    res.used_codons = reads;
    res.depth = max_depth_seen;
    res.why = std::move(why);
    st.clear();
    return res;
  };
  auto next = [&](std::uint32_t& c) {
    if (codons.empty()) return false;
    if (pos == codons.size()) {
      if (wraps >= opt.max_wraps) return false;
      ++wraps;
      pos = 0;
    }
    c = codons[pos++];
    ++reads;
    return true;
  };
  auto out_of_codons = [&]() {
    return "ran out of codons after " + std::to_string(reads) + " reads (" + std::to_string(codons.size()) +
           " codons, " + std::to_string(opt.max_wraps) + " wraps)";
  };

  while (!st.empty()) {
    Frame f = st.back();
    st.pop_back();
    switch (f.sym.kind) {
      case Symbol::Kind::Terminal: out += g.terminals[f.sym.index]; break;
      case Symbol::Kind::Range: {
        const IntRange& r = g.ranges[f.sym.index];
        std::uint32_t c = 0;
        if (r.size() > 1 && !next(c)) return fail(out_of_codons());
        append_int(out, range_value(r, c));
        break;
      }
      case Symbol::Kind::NonTerminal: {
        int depth = f.depth + 1;
        if (depth > opt.max_depth) return fail("depth limit " + std::to_string(opt.max_depth) + " exceeded");
        if (++nodes > opt.max_nodes) return fail("node limit " + std::to_string(opt.max_nodes) + " exceeded");
        max_depth_seen = std::max(max_depth_seen, depth);
        const Rule& rule = g.rules[f.sym.index];
        std::size_t k = rule.productions.size();
        std::size_t choice = 0;
        if (k > 1) {
          std::uint32_t c;
          if (!next(c)) return fail(out_of_codons());
          choice = c % k;
        }
        const std::vector<Symbol>& syms = rule.productions[choice].symbols;
        for (auto it = syms.rbegin(); it != syms.rend(); ++it) st.push_back({*it, depth});
        break;
      }
    }
  }
  res.valid = true;
  res.sentence = std::move(out);
  res.used_codons = reads;
  res.depth = max_depth_seen;
  return res;
}

namespace {

struct TreeBuilder {
  const Grammar& g;
  Rng& rng;
  bool full;
  int target;
  std::vector<std::uint32_t> genome;
  std::string sentence;
  std::vector<std::size_t> candidates;

  // Expands rule r as a node at level `depth` (1 = root) so that the subtree stays
  // within `target` levels.
  void expand(std::uint32_t r, int depth) {
    const Rule& rule = g.rules[r];
    const int room = target - depth + 1;  // levels available for this subtree
    std::size_t k = rule.productions.size();
    std::size_t choice = 0;
    if (k > 1) {
      candidates.clear();
      for (std::size_t i = 0; i < k; ++i)
        if (rule.productions[i].min_depth <= room) candidates.push_back(i);
      if (full) {
        // Prefer productions that keep growing (recursive ones); otherwise the
        // deepest productions that still fit.
        std::size_t n_rec = 0;
        for (std::size_t i : candidates) n_rec += rule.productions[i].recursive;
        if (n_rec > 0) {
          std::erase_if(candidates, [&](std::size_t i) { return !rule.productions[i].recursive; });
        } else if (!candidates.empty()) {
          int deepest = 0;
          for (std::size_t i : candidates) deepest = std::max(deepest, rule.productions[i].min_depth);
          std::erase_if(candidates, [&](std::size_t i) { return rule.productions[i].min_depth != deepest; });
        }
      }
      if (candidates.empty()) {  // cannot happen when room >= rule.min_depth; be safe
        std::size_t best = 0;
        for (std::size_t i = 1; i < k; ++i)
          if (rule.productions[i].min_depth < rule.productions[best].min_depth) best = i;
        choice = best;
      } else {
        choice = candidates[rng.below(candidates.size())];
      }
      genome.push_back(codon_for(choice, k, rng));
    }
    const Production& p = rule.productions[choice];
    for (const Symbol& s : p.symbols) {
      switch (s.kind) {
        case Symbol::Kind::Terminal: sentence += g.terminals[s.index]; break;
        case Symbol::Kind::Range: {
          const IntRange& rg = g.ranges[s.index];
          std::uint64_t size = rg.size();
          std::uint32_t c = 0;
          if (size > 1) {
            std::uint64_t reach = std::min<std::uint64_t>(size, std::uint64_t{1} << 32);
            std::uint64_t v = rng.below(reach);
            c = codon_for(v, size, rng);
            genome.push_back(c);
          }
          append_int(sentence, range_value(rg, c));
          break;
        }
        case Symbol::Kind::NonTerminal: expand(s.index, depth + 1); break;
      }
    }
  }
};

}  // namespace

std::vector<std::vector<std::uint32_t>> sensible_init(const Grammar& g, std::size_t n, std::uint64_t seed,
                                                      const InitOptions& opt) {
  std::vector<std::vector<std::uint32_t>> pop;
  pop.reserve(n);
  if (g.rules.empty()) return pop;
  const int lo = std::max(opt.min_depth > 0 ? opt.min_depth : 0, g.rules[g.start()].min_depth);
  const int hi = std::max(opt.max_depth, lo);
  const int ramp = hi - lo + 1;
  Rng rng(seed);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < n; ++i) {
    TreeBuilder tb{g, rng, (i % 2) == 0, lo + static_cast<int>((i / 2) % static_cast<std::size_t>(ramp)), {}, {}, {}};
    for (std::size_t attempt = 0;; ++attempt) {
      tb.genome.clear();
      tb.sentence.clear();
      tb.expand(g.start(), 1);
      if (!opt.unique || attempt + 1 >= opt.max_attempts_per_individual) break;
      if (!seen.contains(tb.sentence)) break;
      // Retry, drifting over the ramp so small depths do not exhaust themselves.
      if (attempt % 4 == 3) tb.target = lo + static_cast<int>(rng.below(static_cast<std::uint64_t>(ramp)));
    }
    seen.insert(tb.sentence);
    std::size_t used = tb.genome.size();
    std::size_t tail = std::max<std::size_t>(opt.tail_min, static_cast<std::size_t>(std::lround(used * opt.tail_ratio)));
    for (std::size_t t = 0; t < tail; ++t) tb.genome.push_back(static_cast<std::uint32_t>(rng.next()));
    pop.push_back(std::move(tb.genome));
  }
  return pop;
}

namespace {

// run() recurses once per symbol on the current derivation path; this bounds the
// C++ stack used (a few hundred bytes per level).
constexpr std::size_t kMaxLevel = 20000;

struct Encoder {
  const Grammar& g;
  std::string_view s;
  int max_depth;
  std::size_t max_steps;
  std::size_t steps = 0;
  std::size_t level = 0;       // recursion depth of run()
  std::vector<Frame> pending;  // back = next symbol
  std::vector<std::uint32_t> genome;

  bool run(std::size_t pos) {
    if (++steps > max_steps || level > kMaxLevel) return false;
    if (pending.empty()) return pos == s.size();
    ++level;
    Frame f = pending.back();
    pending.pop_back();
    bool ok = false;
    switch (f.sym.kind) {
      case Symbol::Kind::Terminal: {
        const std::string& t = g.terminals[f.sym.index];
        if (s.substr(pos, t.size()) == t) ok = run(pos + t.size());
        break;
      }
      case Symbol::Kind::Range: {
        const IntRange& r = g.ranges[f.sym.index];
        std::size_t end = pos;
        if (end < s.size() && s[end] == '-') ++end;
        while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
        for (std::size_t e = end; e > pos && !ok; --e) {
          std::int64_t v;
          auto [p, ec] = std::from_chars(s.data() + pos, s.data() + e, v);
          if (ec != std::errc{} || p != s.data() + e || v < r.lo || v > r.hi) continue;
          // Only the canonical decimal form is produced by the mapper.
          std::string canon;
          append_int(canon, v);
          if (canon != s.substr(pos, e - pos)) continue;
          bool coded = r.size() > 1;
          std::uint64_t off = static_cast<std::uint64_t>(v) - static_cast<std::uint64_t>(r.lo);
          if (coded && off > UINT32_MAX) continue;  // unreachable by a uint32 codon
          if (coded) genome.push_back(static_cast<std::uint32_t>(off));
          ok = run(e);
          if (!ok && coded) genome.pop_back();
        }
        break;
      }
      case Symbol::Kind::NonTerminal: {
        int depth = f.depth + 1;
        if (depth > max_depth) break;
        const Rule& rule = g.rules[f.sym.index];
        std::size_t k = rule.productions.size();
        std::size_t base = pending.size();
        for (std::size_t c = 0; c < k && !ok; ++c) {
          if (k > 1) genome.push_back(static_cast<std::uint32_t>(c));
          const auto& syms = rule.productions[c].symbols;
          for (auto it = syms.rbegin(); it != syms.rend(); ++it) pending.push_back({*it, depth});
          ok = run(pos);
          if (!ok) {
            pending.resize(base);
            if (k > 1) genome.pop_back();
          }
        }
        break;
      }
    }
    if (!ok) pending.push_back(f);
    --level;
    return ok;
  }
};

}  // namespace

std::optional<std::vector<std::uint32_t>> encode_sentence(const Grammar& g, std::string_view sentence, int max_depth,
                                                          std::size_t max_steps) {
  if (g.rules.empty()) return std::nullopt;
  Encoder e{g, sentence, max_depth, max_steps, 0, 0, {}, {}};
  e.pending.push_back({{Symbol::Kind::NonTerminal, g.start()}, 0});
  if (!e.run(0)) return std::nullopt;
  return std::move(e.genome);
}

}  // namespace evo
