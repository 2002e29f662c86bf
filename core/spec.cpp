// core/spec.cpp — the canonical text of an allocator design: parse and print.
// Schema-driven: every family's keys come from core/registry.hpp (families()).
#include "core/spec.hpp"

#include <charconv>
#include <string>

#include "core/registry.hpp"

namespace evo {
namespace {

std::string join_choices(const std::vector<std::string_view>& v, const char* sep = "|") {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i != 0) out += sep;
    out += v[i];
  }
  return out;
}

bool parse_uint(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool is_pow2(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

std::string describe(const KeySchema& k) {
  switch (k.kind) {
    case KeyKind::Choice: return join_choices(k.choices);
    case KeyKind::Size:
      return std::string(k.power_of_two ? "a power-of-two size " : "a size ") + format_size(k.min) + ".." +
             format_size(k.max);
    case KeyKind::Integer: return "an integer " + std::to_string(k.min) + ".." + std::to_string(k.max);
    case KeyKind::SizeList: return "a comma-separated list of sizes " + format_size(k.min) + ".." + format_size(k.max);
    case KeyKind::ClassScheme: return "jemalloc|pow2|linear:STEP (STEP a multiple of 16, 16..64K)|fitted:K (K 2..256)";
    case KeyKind::Design:
      return (k.choices.empty() ? std::string() : join_choices(k.choices) + " or ") +
             "a design of another family in brackets, e.g. [slab slab=4K]";
  }
  return "?";
}

/// Canonicalises `value` for key `k`; false if malformed or out of range. A Design
/// value that does not parse writes why into *why (when given).
bool canonical_value(const KeySchema& k, std::string_view value, std::string& out, std::string* why = nullptr) {
  switch (k.kind) {
    case KeyKind::Design: {
      for (auto c : k.choices)
        if (c == value) {
          out = std::string(c);
          return true;
        }
      if (value.size() < 2 || value.front() != '[' || value.back() != ']') return false;
      AllocatorSpec inner;
      std::string e;
      if (!parse_spec(design_value_text(value), inner, &e)) {
        if (why != nullptr) *why = std::move(e);
        return false;
      }
      if (inner.family == "route") {
        if (why != nullptr) *why = "a sub-design cannot route again";
        return false;
      }
      if (inner.get("threads") != nullptr) {
        if (why != nullptr) *why = "a sub-design cannot name a thread model (give threads= to the whole design)";
        return false;
      }
      out = "[" + inner.text() + "]";
      return true;
    }
    case KeyKind::Choice:
      for (auto c : k.choices)
        if (c == value) {
          out = std::string(c);
          return true;
        }
      return false;
    case KeyKind::Size: {
      std::uint64_t v;
      if (!parse_size(value, v) || v < k.min || v > k.max) return false;
      if (k.power_of_two && !is_pow2(v)) return false;
      out = format_size(v);
      return true;
    }
    case KeyKind::Integer: {
      std::uint64_t v;
      if (!parse_uint(value, v) || v < k.min || v > k.max) return false;
      out = std::to_string(v);
      return true;
    }
    case KeyKind::SizeList: {
      out.clear();
      if (value.empty()) return false;
      std::size_t start = 0;
      while (true) {
        std::size_t comma = value.find(',', start);
        std::string_view item = value.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        std::uint64_t v;
        if (!parse_size(item, v) || v < k.min || v > k.max) return false;
        if (!out.empty()) out += ',';
        out += format_size(v);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
      return true;
    }
    case KeyKind::ClassScheme: {
      if (value == "jemalloc" || value == "pow2") {
        out = std::string(value);
        return true;
      }
      if (value.starts_with("linear:")) {
        std::uint64_t step;
        if (!parse_size(value.substr(7), step) || step < 16 || step > 65536 || step % 16 != 0) return false;
        out = "linear:" + format_size(step);
        return true;
      }
      if (value.starts_with("fitted:")) {
        std::uint64_t kk;
        if (!parse_uint(value.substr(7), kk) || kk < 2 || kk > 256) return false;
        out = "fitted:" + std::to_string(kk);
        return true;
      }
      return false;
    }
  }
  return false;
}

struct Token {
  std::string_view text;
  std::size_t column;  // 1-based
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// Splits at white space, except inside brackets (a sub-design "[slab slab=4K]" is
/// part of its token). An unbalanced bracket ends the token at the end of the text;
/// the value check then reports it.
std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i >= s.size()) break;
    std::size_t j = i;
    int depth = 0;
    while (j < s.size() && (depth > 0 || !is_space(s[j]))) {
      if (s[j] == '[') ++depth;
      else if (s[j] == ']' && depth > 0) --depth;
      ++j;
    }
    out.push_back({s.substr(i, j - i), i + 1});
    i = j;
  }
  return out;
}

void set_err(std::string* err, std::size_t column, const std::string& msg) {
  if (err != nullptr) *err = "column " + std::to_string(column) + ": " + msg;
}

}  // namespace

std::string AllocatorSpec::text() const {
  std::string out = family;
  for (const auto& [k, v] : params) {
    out += ' ';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

const std::string* AllocatorSpec::get(std::string_view key) const {
  for (const auto& [k, v] : params)
    if (k == key) return &v;
  return nullptr;
}

std::uint64_t AllocatorSpec::get_size(std::string_view key) const {
  const std::string* v = get(key);
  std::uint64_t out = 0;
  if (v == nullptr || !parse_size(*v, out)) return 0;
  return out;
}

std::string format_size(std::uint64_t bytes) {
  if (bytes != 0) {
    if (bytes % (std::uint64_t{1} << 30) == 0) return std::to_string(bytes >> 30) + "G";
    if (bytes % (std::uint64_t{1} << 20) == 0) return std::to_string(bytes >> 20) + "M";
    if (bytes % (std::uint64_t{1} << 10) == 0) return std::to_string(bytes >> 10) + "K";
  }
  return std::to_string(bytes);
}

bool parse_size(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  unsigned shift = 0;
  char last = s.back();
  if (last == 'K' || last == 'k') shift = 10;
  else if (last == 'M' || last == 'm') shift = 20;
  else if (last == 'G' || last == 'g') shift = 30;
  if (shift != 0) s.remove_suffix(1);
  std::uint64_t v;
  if (!parse_uint(s, v)) return false;
  if (shift != 0 && v > (UINT64_MAX >> shift)) return false;
  out = v << shift;
  return true;
}

namespace {

/// Every key of `fam` in canonical order: the family's, then the common ones (with
/// the family's `source` choices). Built once for all families (parse_spec runs for
/// every genome of an evolution, from every thread: no copy per call).
const std::vector<KeySchema>& all_keys(const FamilySchema& fam) {
  static const std::vector<std::vector<KeySchema>> table = [] {
    std::vector<std::vector<KeySchema>> t;
    for (const FamilySchema& f : families()) {
      std::vector<KeySchema> keys = f.keys;
      for (const KeySchema& c : common_keys()) {
        KeySchema k = c;
        if (k.key == "source" && !f.sources.empty()) {
          k.choices = f.sources;
          k.default_value = f.sources.front();
        }
        keys.push_back(k);
      }
      t.push_back(std::move(keys));
    }
    return t;
  }();
  return table[static_cast<std::size_t>(&fam - families().data())];
}

}  // namespace

bool parse_spec(std::string_view text, AllocatorSpec& out, std::string* err) {
  std::vector<Token> toks = tokenize(text);
  auto family_list = [] {
    std::vector<std::string_view> names;
    for (const FamilySchema& f : families()) names.push_back(f.family);
    return join_choices(names, ", ");
  };
  if (toks.empty()) {
    set_err(err, 1, "empty allocator spec; expected a family name (one of: " + family_list() + ")");
    return false;
  }
  const FamilySchema* fam = find_family(toks[0].text);
  if (fam == nullptr) {
    set_err(err, toks[0].column,
            "unknown allocator family '" + std::string(toks[0].text) + "'; expected one of: " + family_list());
    return false;
  }
  const std::vector<KeySchema>& keys = all_keys(*fam);
  std::vector<std::string> values(keys.size());
  std::vector<bool> given(keys.size(), false);
  for (std::size_t t = 1; t < toks.size(); ++t) {
    const Token& tok = toks[t];
    std::size_t eq = tok.text.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      set_err(err, tok.column, "expected KEY=VALUE, found '" + std::string(tok.text) + "'");
      return false;
    }
    std::string_view key = tok.text.substr(0, eq), value = tok.text.substr(eq + 1);
    std::size_t idx = keys.size();
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i].key == key) idx = i;
    if (idx == keys.size()) {
      std::vector<std::string_view> names;
      for (const KeySchema& k : keys) names.push_back(k.key);
      set_err(err, tok.column,
              "unknown key '" + std::string(key) + "' for family " + std::string(fam->family) +
                  "; expected one of: " + join_choices(names, ", "));
      return false;
    }
    if (given[idx]) {
      set_err(err, tok.column, "duplicate key '" + std::string(key) + "'");
      return false;
    }
    std::string why;
    if (!canonical_value(keys[idx], value, values[idx], &why)) {
      if (!why.empty()) {  // a sub-design that does not parse: its own error, located
        set_err(err, tok.column + eq + 1, "in " + std::string(key) + "=[...]: " + why);
        return false;
      }
      set_err(err, tok.column + eq + 1,
              "bad value '" + std::string(value) + "' for " + std::string(key) + "; expected " + describe(keys[idx]));
      return false;
    }
    given[idx] = true;
  }
  AllocatorSpec spec;
  spec.family = std::string(fam->family);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!given[i] && keys[i].optional) continue;
    if (!given[i] && !canonical_value(keys[i], keys[i].default_value, values[i])) {
      set_err(err, 1, "internal: default '" + std::string(keys[i].default_value) + "' of key " +
                          std::string(keys[i].key) + " is invalid");
      return false;
    }
    spec.params.emplace_back(std::string(keys[i].key), values[i]);
  }
  // threads=tcache runs the front cache per thread: there must be one, and the
  // hardening layer, under the caches, could not see a double free of a cached block.
  if (const std::string* th = spec.get("threads"); th != nullptr && *th == "tcache") {
    if (*spec.get("front") == "none") {
      set_err(err, 1,
              "threads=tcache runs the design's front cache in every thread: give front=tcache:B "
              "(B = the per-thread bound), or threads=lock|tlh");
      return false;
    }
    if (*spec.get("harden") == "checked") {
      set_err(err, 1,
              "threads=tcache keeps freed blocks in per-thread caches above the hardening layer, where "
              "harden=checked cannot see a double free: use harden=off|canary, or threads=lock|tlh");
      return false;
    }
  }
  if (fam->check != nullptr) {
    std::string why;
    if (!fam->check(spec, &why)) {
      set_err(err, 1, std::string(fam->family) + ": " + why);
      return false;
    }
  }
  out = std::move(spec);
  return true;
}

}  // namespace evo
