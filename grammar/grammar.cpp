// grammar/grammar.cpp — the BNF parser (Boost.Spirit X3) and the grammar checks.
//
// Two phases: X3 turns the text into raw rules (names, items with byte offsets),
// then plain code resolves names, merges terminal text, and runs the checks.
// Syntax and checks are documented in grammar/grammar.hpp.
#include "grammar/grammar.hpp"

#include <algorithm>
#include <boost/spirit/home/x3.hpp>
#include <fstream>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>

namespace evo {

namespace {

std::string format_location(const std::string& file, std::size_t line, std::size_t column,
                            const std::string& message) {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

// ---- phase 1: raw structure -------------------------------------------------

struct RawItem {
  enum class Kind { Text, NonTerminal, Range } kind;
  std::string text;     // Text: the terminal; NonTerminal: the name
  std::int64_t lo = 0;  // Range
  std::int64_t hi = 0;
  bool empty_range = false;
  std::size_t begin = 0;  // byte offsets in the file
  std::size_t end = 0;
};

struct RawProduction {
  std::vector<RawItem> items;
  std::size_t begin = 0;
};

class Checker;

struct RawRule {
  std::string name;
  std::size_t begin = 0;
  std::vector<RawProduction> productions;
  const Checker* src = nullptr;  // the file it was defined in (offsets are into its text)
};

struct Builder {
  const char* base;
  std::vector<RawRule> rules;
  std::size_t mark = 0;  // start of the item being parsed

  std::size_t off(const char* p) const { return static_cast<std::size_t>(p - base); }
  RawProduction& prod() { return rules.back().productions.back(); }
};

namespace x3 = boost::spirit::x3;
struct builder_tag;

template <typename Ctx>
Builder& builder(Ctx& ctx) {
  return x3::get<builder_tag>(ctx).get();
}

// Lexical pieces. No skipper: whitespace matters (it becomes a space in sentences).
const auto hspace = x3::char_(" \t\r");
const auto comment = x3::lit('#') >> *(x3::char_ - x3::eol);
const auto gap = *(hspace | comment | x3::eol);  // blanks, comments, line breaks
// Explicit ASCII ranges: x3::alnum asserts on bytes >= 0x80 (found by fuzzing).
const auto name_char = x3::char_('a', 'z') | x3::char_('A', 'Z') | x3::char_('0', '9') | x3::char_("_.-");

const x3::rule<struct rule_name_id, std::string> rule_name = "a rule name (letters, digits, _ . -)";
const auto rule_name_def = x3::lexeme[+name_char];
const x3::rule<struct int_id, std::int64_t> int_value = "an integer";
const auto int_value_def = x3::int64;
const x3::rule<struct count_id, std::uint64_t> count_value = "a count (positive integer)";
const auto count_value_def = x3::uint64;
const x3::rule<struct closing_id> closing_angle = "'>'";
const auto closing_angle_def = x3::lit('>');
const x3::rule<struct dots_id> dots = "'..'";
const auto dots_def = x3::lit("..");
const x3::rule<struct define_id> define_op = "'::=' after the rule name";
const auto define_op_def = *hspace >> x3::lit("::=");
const x3::rule<struct production_id> production = "a production (terminals and <rules>)";
const x3::rule<struct item_id> item = "a terminal, <rule> or range";
const x3::rule<struct end_quote_id> end_dquote = "a closing '\"' on the same line";
const auto end_dquote_def = x3::lit('"');
const x3::rule<struct end_squote_id> end_squote = "a closing \"'\" on the same line";
const auto end_squote_def = x3::lit('\'');
const x3::rule<struct file_end_id> file_end = "a rule '<name> ::= ...' or the end of the file";
const auto file_end_def = x3::eoi;

// Actions. In this Boost (1.74) an action's _where(ctx) starts at the position
// AFTER its parser's match, so item starts are recorded by a preceding eps[mark].
const auto mark = [](auto& ctx) {
  Builder& b = builder(ctx);
  b.mark = b.off(x3::_where(ctx).begin());
};
const auto here = [](auto& ctx) { return builder(ctx).off(x3::_where(ctx).begin()); };
const auto on_rule = [](auto& ctx) {
  Builder& b = builder(ctx);
  RawRule r;
  r.name = x3::_attr(ctx);
  r.begin = b.mark;  // at the '<'
  b.rules.push_back(std::move(r));
};
const auto on_production = [](auto& ctx) {
  Builder& b = builder(ctx);
  RawProduction p;
  p.begin = here(ctx);
  b.rules.back().productions.push_back(std::move(p));
};
/// Adds `it` to the current production, spanning from the mark to the action's position.
const auto push_item = [](auto& ctx, RawItem&& it) {
  Builder& b = builder(ctx);
  it.begin = b.mark;
  it.end = here(ctx);
  b.prod().items.push_back(std::move(it));
};
template <RawItem::Kind K>
struct on_text_item {
  template <typename Ctx>
  void operator()(Ctx& ctx) const {
    RawItem it{K, {}};
    const auto& a = x3::_attr(ctx);
    it.text.assign(a.begin(), a.end());
    push_item(ctx, std::move(it));
  }
};
const auto on_nonterminal = [](auto& ctx) {
  RawItem it{RawItem::Kind::NonTerminal, {}};
  it.text = x3::_attr(ctx);
  push_item(ctx, std::move(it));
};
const auto on_range = [](auto& ctx) {
  RawItem it{RawItem::Kind::Range, {}};
  it.lo = boost::fusion::at_c<0>(x3::_attr(ctx));
  it.hi = boost::fusion::at_c<1>(x3::_attr(ctx));
  it.empty_range = it.lo > it.hi;
  push_item(ctx, std::move(it));
};
const auto on_ge_range = [](auto& ctx) {
  RawItem it{RawItem::Kind::Range, {}};
  std::uint64_t n = x3::_attr(ctx);
  it.lo = 0;
  it.empty_range = n == 0 || n - 1 > static_cast<std::uint64_t>(INT64_MAX);
  it.hi = it.empty_range ? -1 : static_cast<std::int64_t>(n - 1);
  push_item(ctx, std::move(it));
};

// Structure.
// What starts a rule: `<name>` then `:` (so `<t> := x` is reported as a bad `::=`,
// not read as a continuation line).
const auto rule_head = x3::lit('<') >> rule_name >> x3::lit('>') >> *hspace >> x3::lit(':');
const auto ge_prefix = x3::lit("GE_RANGE:");
const auto int_range = (x3::lit("<int:") > int_value > dots > int_value > closing_angle);
const auto ge_range = ge_prefix > count_value;
const auto nonterminal = x3::lit('<') >> !x3::lit("int:") > rule_name > closing_angle;
const auto dquoted = x3::lit('"') >> x3::raw[*(x3::char_ - '"' - x3::eol)] > end_dquote;
const auto squoted = x3::lit('\'') >> x3::raw[*(x3::char_ - '\'' - x3::eol)] > end_squote;
const auto bare = x3::raw[+(!ge_prefix >> (x3::char_ - x3::char_(" \t\r\n<|\"'#")))];

const auto item_def = x3::eps[mark] >>
                      (int_range[on_range] | ge_range[on_ge_range] | nonterminal[on_nonterminal] |
                       dquoted[on_text_item<RawItem::Kind::Text>{}] | squoted[on_text_item<RawItem::Kind::Text>{}] |
                       bare[on_text_item<RawItem::Kind::Text>{}]);
// A production continues over whitespace (and line breaks) unless what follows is
// an alternative bar, a new rule, or the end of the file.
const auto production_def = x3::eps[on_production] >> !rule_head >> item >>
                            *(gap >> !x3::lit('|') >> !rule_head >> !x3::eoi >> item);
const auto rule_def = (((((x3::eps[mark] >> x3::lit('<') >> rule_name[on_rule]) > closing_angle) > define_op) >> gap) >
                       production) >>
                      *((gap >> x3::lit('|') >> gap) > production);
const auto file_def = gap >> *(rule_def >> gap) > file_end;

BOOST_SPIRIT_DEFINE(rule_name, int_value, count_value, closing_angle, dots, define_op, production, item,
                    end_dquote, end_squote, file_end)

std::size_t line_of(std::string_view text, std::size_t off, std::size_t* column) {
  off = std::min(off, text.size());
  std::size_t line = 1, line_start = 0;
  for (std::size_t i = 0; i < off; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  *column = off - line_start + 1;
  return line;
}

// ---- phase 2: resolve and check -----------------------------------------------

class Checker {
 public:
  Checker(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  [[noreturn]] void fail(std::size_t off, const std::string& message) const {
    std::size_t col;
    std::size_t line = line_of(text_, off, &col);
    throw GrammarError(name_, line, col, message);
  }
  std::size_t line(std::size_t off) const {
    std::size_t col;
    return line_of(text_, off, &col);
  }
  std::size_t column(std::size_t off) const {
    std::size_t col;
    line_of(text_, off, &col);
    return col;
  }

 private:
  std::string_view text_;
  const std::string& name_;
};

std::uint32_t intern_terminal(Grammar& g, std::map<std::string, std::uint32_t>& index, const std::string& t) {
  auto [it, inserted] = index.emplace(t, static_cast<std::uint32_t>(g.terminals.size()));
  if (inserted) g.terminals.push_back(t);
  return it->second;
}

}  // namespace

GrammarError::GrammarError(const std::string& file_, std::size_t line_, std::size_t column_,
                           const std::string& message_)
    : std::runtime_error(format_location(file_, line_, column_, message_)),
      file(file_),
      line(line_),
      column(column_),
      message(message_) {}

std::uint64_t IntRange::size() const {
  std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  return span == UINT64_MAX ? UINT64_MAX : span + 1;
}

int Grammar::find_rule(std::string_view n) const {
  for (std::size_t i = 0; i < rules.size(); ++i)
    if (rules[i].name == n) return static_cast<int>(i);
  return -1;
}

std::size_t Grammar::production_count() const {
  std::size_t n = 0;
  for (const Rule& r : rules) n += r.productions.size();
  return n;
}

std::string Grammar::production_text(const Production& p) const {
  std::string out;
  for (const Symbol& s : p.symbols) {
    if (!out.empty()) out += ' ';
    switch (s.kind) {
      case Symbol::Kind::Terminal: out += '"' + terminals[s.index] + '"'; break;
      case Symbol::Kind::NonTerminal: out += '<' + rules[s.index].name + '>'; break;
      case Symbol::Kind::Range:
        out += "<int:" + std::to_string(ranges[s.index].lo) + ".." + std::to_string(ranges[s.index].hi) + '>';
        break;
    }
  }
  if (out.empty()) out = "\"\"";
  return out;
}

namespace {

/// One file of a grammar: its text (the @extends line blanked out) and where errors point.
struct Layer {
  std::string text;
  std::string name;
  std::unique_ptr<Checker> check;
  std::string base;  // the @extends path as written, or empty
};

/// Finds `@extends PATH` before the first rule (after blank and comment lines),
/// records PATH and blanks the directive out (offsets, lines and columns of the rest
/// stay as in the file).
void take_extends(Layer& l) {
  std::size_t i = 0;
  const std::string& t = l.text;
  while (i < t.size()) {
    if (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n') {
      ++i;
    } else if (t[i] == '#') {
      while (i < t.size() && t[i] != '\n') ++i;
    } else {
      break;
    }
  }
  constexpr std::string_view kDirective = "@extends";
  if (std::string_view(t).substr(i, kDirective.size()) != kDirective) return;
  const std::size_t after = i + kDirective.size();
  if (after < t.size() && t[after] != ' ' && t[after] != '\t' && t[after] != '\r' && t[after] != '\n')
    return;  // "@extendsX": not the directive (a syntax error later)
  std::size_t end = t.find('\n', i);
  if (end == std::string::npos) end = t.size();
  std::string_view rest = std::string_view(t).substr(i + kDirective.size(), end - i - kDirective.size());
  const std::size_t from = rest.find_first_not_of(" \t\r");
  const std::size_t to = rest.find_last_not_of(" \t\r");
  if (from == std::string_view::npos || rest.substr(from, to - from + 1).find_first_of(" \t#") != std::string_view::npos)
    l.check->fail(i, "'@extends' needs one file path (relative to this file's folder), expected '@extends FILE.bnf'");
  l.base = std::string(rest.substr(from, to - from + 1));
  std::fill(l.text.begin() + static_cast<std::ptrdiff_t>(i), l.text.begin() + static_cast<std::ptrdiff_t>(end), ' ');
}

/// Phase 1 of one file: its raw rules, each knowing its file; duplicates within the
/// file are errors.
std::vector<RawRule> parse_layer(const Layer& l) {
  const Checker& check = *l.check;
  std::string_view text = l.text;
  Builder b{text.data(), {}, 0};
  const char* first = text.data();
  const char* last = text.data() + text.size();
  try {
    bool ok = x3::parse(first, last, x3::with<builder_tag>(std::ref(b))[file_def]);
    if (!ok || first != last) check.fail(b.off(first), "syntax error, expected a rule '<name> ::= ...'");
  } catch (const x3::expectation_failure<const char*>& e) {
    check.fail(b.off(e.where()), "syntax error, expected " + e.which());
  }
  std::map<std::string, std::size_t> by_name;
  for (std::size_t i = 0; i < b.rules.size(); ++i) {
    RawRule& r = b.rules[i];
    r.src = &check;
    for (const RawProduction& p : r.productions)
      for (const RawItem& it : p.items)
        if (it.kind == RawItem::Kind::Text && it.text == "@extends")
          check.fail(it.begin, "'@extends' after a rule, expected it before the first rule");
    auto [it, inserted] = by_name.emplace(r.name, i);
    if (!inserted) {
      check.fail(r.begin, "duplicate rule <" + r.name + "> (first defined at line " +
                              std::to_string(check.line(b.rules[it->second].begin)) +
                              "), expected each rule to be defined once");
    }
  }
  return std::move(b.rules);
}

std::string folder_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

}  // namespace

Grammar parse_grammar(std::string_view text, const std::string& name) {
  // The files: `name`, then the file it extends, and so on (at most kMaxLayers).
  constexpr std::size_t kMaxLayers = 8;
  std::deque<Layer> layers;  // a deque: each Checker points into its layer
  layers.push_back({std::string(text), name, nullptr, {}});
  for (;;) {
    Layer& top = layers.back();
    top.check = std::make_unique<Checker>(top.text, top.name);
    take_extends(top);
    if (top.base.empty()) break;
    const std::string path = top.base.front() == '/' ? top.base : folder_of(top.name) + top.base;
    for (const Layer& l : layers)
      if (l.name == path) top.check->fail(0, "'@extends " + top.base + "' makes a cycle, expected a chain of grammars");
    if (layers.size() == kMaxLayers)
      top.check->fail(0, "'@extends' chain longer than " + std::to_string(kMaxLayers) + " files, expected a shorter chain");
    std::error_code ec;
    std::ifstream in;
    if (std::filesystem::is_regular_file(path, ec)) in.open(path, std::ios::binary);  // not a device or a folder
    if (!in.is_open() || !in)
      top.check->fail(0, "cannot read the grammar it extends, '" + path + "', expected a readable BNF file");
    std::ostringstream ss;
    ss << in.rdbuf();
    layers.push_back({ss.str(), path, nullptr, {}});
  }
  // Merge, the base first: a rule of an extending file replaces the base's rule of
  // the same name (keeping its place, so the start rule stays the base's first) or
  // is added after the base's rules.
  std::vector<RawRule> merged;
  for (auto l = layers.rbegin(); l != layers.rend(); ++l) {
    for (RawRule& r : parse_layer(*l)) {
      auto same = std::find_if(merged.begin(), merged.end(), [&](const RawRule& m) { return m.name == r.name; });
      if (same != merged.end()) *same = std::move(r);
      else merged.push_back(std::move(r));
    }
  }
  if (merged.empty()) layers.front().check->fail(text.size(), "no rule in grammar, expected at least one '<name> ::= ...'");
  const std::vector<RawRule>& rules = merged;

  Grammar g;
  g.name = name;
  std::map<std::string, std::uint32_t> by_name;
  for (const RawRule& r : rules) {
    by_name.emplace(r.name, static_cast<std::uint32_t>(g.rules.size()));
    Rule rule;
    rule.name = r.name;
    rule.line = r.src->line(r.begin);
    rule.column = r.src->column(r.begin);
    g.rules.push_back(std::move(rule));
  }
  // Productions: resolve names, merge terminal text, intern terminals and ranges.
  std::map<std::string, std::uint32_t> term_index;
  for (std::size_t ri = 0; ri < rules.size(); ++ri) {
    for (const RawProduction& rp : rules[ri].productions) {
      Production p;
      const Checker& check = *rules[ri].src;
      p.line = check.line(rp.begin);
      std::string pending;
      bool has_pending = false;
      auto flush = [&] {
        if (has_pending && !pending.empty())
          p.symbols.push_back({Symbol::Kind::Terminal, intern_terminal(g, term_index, pending)});
        pending.clear();
        has_pending = false;
      };
      for (std::size_t k = 0; k < rp.items.size(); ++k) {
        const RawItem& it = rp.items[k];
        if (k > 0 && rp.items[k - 1].end != it.begin) {  // whitespace between items
          pending += ' ';
          has_pending = true;
        }
        switch (it.kind) {
          case RawItem::Kind::Text:
            pending += it.text;
            has_pending = true;
            break;
          case RawItem::Kind::NonTerminal: {
            auto found = by_name.find(it.text);
            if (found == by_name.end()) {
              check.fail(it.begin, "undefined non-terminal <" + it.text + ">, expected a rule '<" + it.text +
                                       "> ::= ...' in the grammar");
            }
            flush();
            p.symbols.push_back({Symbol::Kind::NonTerminal, found->second});
            break;
          }
          case RawItem::Kind::Range: {
            if (it.empty_range) {
              check.fail(it.begin, "empty integer range, expected <int:LO..HI> with LO <= HI or GE_RANGE:N with N >= 1");
            }
            flush();
            std::uint32_t idx = 0;
            auto same = std::find_if(g.ranges.begin(), g.ranges.end(),
                                     [&](const IntRange& r) { return r.lo == it.lo && r.hi == it.hi; });
            if (same == g.ranges.end()) {
              idx = static_cast<std::uint32_t>(g.ranges.size());
              g.ranges.push_back({it.lo, it.hi});
            } else {
              idx = static_cast<std::uint32_t>(same - g.ranges.begin());
            }
            p.symbols.push_back({Symbol::Kind::Range, idx});
            break;
          }
        }
      }
      flush();
      g.rules[ri].productions.push_back(std::move(p));
    }
  }

  const std::size_t n = g.rules.size();
  // Reachability between rules (direct edges, then closure by DFS from each rule).
  std::vector<std::vector<std::uint32_t>> edges(n);
  for (std::size_t r = 0; r < n; ++r) {
    for (const Production& p : g.rules[r].productions)
      for (const Symbol& s : p.symbols)
        if (s.kind == Symbol::Kind::NonTerminal) edges[r].push_back(s.index);
    std::sort(edges[r].begin(), edges[r].end());
    edges[r].erase(std::unique(edges[r].begin(), edges[r].end()), edges[r].end());
  }
  // reach[a][b]: b derivable from a in >= 1 step.
  std::vector<std::vector<char>> reach(n, std::vector<char>(n, 0));
  for (std::size_t a = 0; a < n; ++a) {
    std::vector<std::uint32_t> stack(edges[a].begin(), edges[a].end());
    while (!stack.empty()) {
      std::uint32_t x = stack.back();
      stack.pop_back();
      if (reach[a][x]) continue;
      reach[a][x] = 1;
      for (std::uint32_t y : edges[x])
        if (!reach[a][y]) stack.push_back(y);
    }
  }
  for (std::size_t r = 1; r < n; ++r) {
    if (!reach[0][r]) {
      rules[r].src->fail(rules[r].begin, "unreachable rule <" + g.rules[r].name + ">, expected it to be used by the start rule <" +
                                       g.rules[0].name + "> or by a rule reachable from it");
    }
  }
  // Minimum depths by fixed point; a rule left at "infinity" never terminates.
  constexpr int kInf = std::numeric_limits<int>::max();
  for (Rule& r : g.rules) r.min_depth = kInf;
  for (bool changed = true; changed;) {
    changed = false;
    for (Rule& r : g.rules) {
      for (Production& p : r.productions) {
        int d = 1;
        for (const Symbol& s : p.symbols) {
          if (s.kind != Symbol::Kind::NonTerminal) continue;
          int c = g.rules[s.index].min_depth;
          d = (c == kInf) ? kInf : std::max(d, c + 1);
          if (d == kInf) break;
        }
        p.min_depth = d;
        if (d < r.min_depth) {
          r.min_depth = d;
          changed = true;
        }
      }
    }
  }
  for (std::size_t r = 0; r < n; ++r) {
    if (g.rules[r].min_depth == kInf) {
      rules[r].src->fail(rules[r].begin, "rule <" + g.rules[r].name +
                                       "> has no terminating derivation, expected an alternative that ends in terminals");
    }
  }
  // Recursion flags.
  for (std::size_t r = 0; r < n; ++r) {
    g.rules[r].recursive = reach[r][r];
    for (Production& p : g.rules[r].productions) {
      for (const Symbol& s : p.symbols)
        if (s.kind == Symbol::Kind::NonTerminal && (s.index == r || reach[s.index][r])) p.recursive = true;
    }
  }
  return g;
}

Grammar load_grammar(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw GrammarError(path, 0, 0, "cannot read grammar file, expected a readable BNF file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_grammar(ss.str(), path);
}

}  // namespace evo
