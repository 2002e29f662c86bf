// grammar/grammar.hpp — a BNF grammar as data: rules, productions, symbols.
//
// Contract
//   * load_grammar(path) / parse_grammar(text, name) parse a BNF file (syntax below,
//     also documented atop grammar/allocator.bnf) and check it. Every failure throws
//     GrammarError whose what() is one line: "FILE:LINE:COL: message, expected ...".
//     LINE and COL are 1-based; COL counts bytes. Nothing else is thrown for bad input.
//   * A Grammar is immutable after parsing and safe to share between threads.
//   * The first rule of the file is the start rule (index 0).
//
// Syntax (compatible with PonyGE2's BNF, plus integer ranges)
//   <rule> ::= alternative | alternative ...
//   * A rule is `<name>` at the start of a line followed by `::=`; names are made of
//     letters, digits, `_`, `-` and `.`.
//   * Alternatives are separated by `|`; a rule may continue over several lines
//     (a line starting with `|` adds alternatives; a production may also continue on
//     the next line as long as that line does not start a new rule).
//   * Items of a production: `<name>` (a non-terminal), a quoted terminal "..." or
//     '...' (kept exactly, may contain `|`, `<`, `#`), a bare terminal (a run of
//     characters other than blanks and `<|"'#`), or an integer range terminal.
//   * Whitespace between two items stands for ONE space in the sentence, whatever
//     its length (runs, line breaks and comments collapse); items written next to
//     each other are joined with nothing: `a<b>` -> "a" + b, `a <b>` -> "a " + b.
//     Leading and trailing whitespace of an alternative is dropped.
//   * `#` starts a comment up to the end of the line (outside quotes).
//   * Integer range terminals: `<int:LO..HI>` (inclusive, LO <= HI, 64-bit signed)
//     and PonyGE2's `GE_RANGE:N` (= `<int:0..N-1>`, N >= 1). A range produces the
//     decimal text of one value; in the GE mapping it takes codon mod (HI-LO+1)
//     (so only the first 2^32 values of a wider range are reachable).
//
// Extending another grammar
//   * A file may start (before its first rule; comments and blank lines may come
//     first) with `@extends FILE`: FILE (relative to this file's folder) is parsed
//     first, then each rule of this file replaces FILE's rule of the same name (in
//     its place: the start rule stays FILE's first) or, when FILE has none, is added.
//     FILE may extend another (at most 8 files, no cycle). Errors point into the
//     file that holds the offending rule. grammar/threaded.bnf is an example.
//
// Checks (each a GrammarError naming the offending place)
//   syntax errors (with what was expected), duplicate rule, undefined non-terminal,
//   unreachable rule (from the start rule), rule with no terminating derivation,
//   empty range (LO > HI, or GE_RANGE:0), a file with no rule.
//
// Derived facts
//   * Depth: a rule node counts one level; terminals and ranges count zero. The depth
//     of a derivation tree is the number of rule nodes on its longest root-to-leaf path
//     (a rule whose chosen production has only terminals has depth 1).
//   * min_depth of a production = 1 + max(min_depth of its non-terminals) (1 if none);
//     min_depth of a rule = min over its productions.
//   * A rule is recursive when it can derive itself; a production is recursive when
//     one of its non-terminals can derive the production's own rule.
#pragma once

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace evo {

/// Thrown for every syntax or semantic error in a grammar; what() is one line
/// "FILE:LINE:COL: message, expected ..." (the "expected" part when it applies).
struct GrammarError : std::runtime_error {
  GrammarError(const std::string& file, std::size_t line, std::size_t column, const std::string& message);
  std::string file;
  std::size_t line;
  std::size_t column;
  std::string message;  ///< the message without the location prefix
};

/// One item of a production.
struct Symbol {
  enum class Kind : std::uint8_t { Terminal, NonTerminal, Range };
  Kind kind;
  std::uint32_t index;  ///< into Grammar::terminals, Grammar::rules or Grammar::ranges
  bool operator==(const Symbol&) const = default;
};

/// An integer range terminal: every value in [lo, hi].
struct IntRange {
  std::int64_t lo;
  std::int64_t hi;
  /// Number of values (hi - lo + 1), saturated at UINT64_MAX.
  std::uint64_t size() const;
  /// Number of values GE can reach: a 32-bit codon selects lo + (codon mod size), so
  /// a range wider than 2^32 values is reachable only on lo .. lo + 2^32 - 1.
  /// The enumerator uses the same set.
  std::uint64_t reachable() const { return size() < (std::uint64_t{1} << 32) ? size() : std::uint64_t{1} << 32; }
};

struct Production {
  std::vector<Symbol> symbols;  ///< adjacent terminal text is merged into one symbol
  bool recursive = false;
  int min_depth = 0;            ///< see "Derived facts" above
  std::size_t line = 0;         ///< where it starts in the file (1-based)
};

struct Rule {
  std::string name;             ///< without the angle brackets
  std::vector<Production> productions;
  bool recursive = false;
  int min_depth = 0;
  std::size_t line = 0;
  std::size_t column = 0;
};

struct Grammar {
  std::string name;                    ///< file name, used in messages
  std::vector<Rule> rules;             ///< rules[0] is the start rule
  std::vector<std::string> terminals;  ///< distinct terminal texts
  std::vector<IntRange> ranges;        ///< distinct ranges

  std::uint32_t start() const { return 0; }
  /// Index of rule `name` (without brackets), or -1.
  int find_rule(std::string_view name) const;
  /// Total number of productions over all rules.
  std::size_t production_count() const;
  /// The rule's productions written back as BNF (for messages and `grammar check`).
  std::string production_text(const Production& p) const;
};

/// Parses and checks BNF text; `name` is used as FILE in error messages and, for
/// `@extends`, as the path the extended file is relative to.
Grammar parse_grammar(std::string_view text, const std::string& name);
/// Reads `path` and parses it (GrammarError "PATH:0:0: cannot read file" when unreadable).
Grammar load_grammar(const std::string& path);

}  // namespace evo
