// app/cmd_grammar.cpp — `evoalloc grammar check|enumerate|encode`: inspect the search space.
//
//   grammar check     [--grammar FILE] [--verify] [--max-range-values N] [--max-depth D]
//   grammar enumerate [--grammar FILE] [--count] [--limit N] [--genomes] [--max-range-values N] [--max-depth D]
//   grammar encode    [--grammar FILE] SENTENCE
//
// The default grammar is grammar/allocator.bnf under the source tree (cli::source_dir()).
// Exit codes: 0 ok; 1 bad grammar file (FILE:LINE:COL: message) or, for --verify, a
// sentence core rejects, or for encode a sentence the grammar cannot derive; 2 usage.
#include <iostream>

#include "app/cli.hpp"
#include "core/registry.hpp"
#include "core/spec.hpp"
#include "grammar/enumerate.hpp"
#include "grammar/grammar.hpp"
#include "grammar/mapper.hpp"

namespace evo::cli {

namespace {

std::string default_grammar() { return source_dir() + "/grammar/allocator.bnf"; }

void add_grammar_option(po::options_description& desc, std::string& path) {
  desc.add_options()("grammar,g", po::value(&path)->default_value(default_grammar(), "grammar/allocator.bnf"),
                     "BNF grammar file");
}

void add_enum_options(po::options_description& desc, EnumOptions& eo) {
  desc.add_options()("max-range-values",
                     po::value<Count>()
                         ->default_value(Count{}, "0")
                         ->notifier([&eo](const Count& c) { eo.max_range_values = static_cast<std::size_t>(c.value); }),
                     "sample each integer range to at most N evenly spaced values (0 = every value)")(
      "max-depth", po::value(&eo.max_depth)->default_value(30), "derivation depth limit");
}

std::string join_codons(const std::vector<std::uint32_t>& g) {
  std::string s;
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (i) s += ' ';
    s += std::to_string(g[i]);
  }
  return s;
}

std::string describe_ranges(const EnumOptions& eo) {
  return eo.max_range_values == 0 ? "integer ranges: every value"
                                  : "integer ranges: sampled to " + std::to_string(eo.max_range_values) + " values";
}

std::string count_text(std::uint64_t n) { return n == UINT64_MAX ? ">= 2^64" : std::to_string(n); }

// The taxonomy view: from the start rule, follow alternatives that are a single
// non-terminal (groups and families in allocator.bnf) and print each with its count.
void print_taxonomy(const Grammar& g, const Enumerator& en, std::uint32_t r, int indent, int depth) {
  for (const Production& p : g.rules[r].productions) {
    if (p.symbols.size() != 1 || p.symbols[0].kind != Symbol::Kind::NonTerminal) return;
  }
  for (const Production& p : g.rules[r].productions) {
    std::uint32_t c = p.symbols[0].index;
    std::string label = std::string(static_cast<std::size_t>(indent), ' ') + "<" + g.rules[c].name + ">";
    if (label.size() < 32) label.resize(32, ' ');
    std::cout << label << ' ' << count_text(en.count_rule(c, depth - 1)) << '\n';
    if (indent < 12) print_taxonomy(g, en, c, indent + 2, depth - 1);
  }
}

int run_check(const std::vector<std::string>& args) {
  const std::string usage = "evoalloc grammar check [--grammar FILE] [--verify] [--max-range-values N] [--max-depth D]";
  po::options_description desc("options");
  std::string path;
  EnumOptions eo;
  add_grammar_option(desc, path);
  add_enum_options(desc, eo);
  desc.add_options()("verify", "also parse every sentence with core (parse_spec, find_row): each must be "
                               "canonical and select a compiled row");
  po::variables_map vm;
  if (!parse(args, desc, nullptr, 0, vm, usage,
             "Parses and checks a BNF grammar (syntax, undefined, unreachable, non-terminating and\n"
             "duplicate rules) and counts the distinct designs of its discrete part."))
    return kExitOk;
  Grammar g = load_grammar(path);
  std::size_t recursive = 0;
  for (const Rule& r : g.rules) recursive += r.recursive;
  Enumerator en(g, eo);
  std::cout << "grammar: " << path << "\n"
            << "rules: " << g.rules.size() << "  productions: " << g.production_count()
            << "  terminals: " << g.terminals.size() << "  integer ranges: " << g.ranges.size() << "\n"
            << "start: <" << g.rules[0].name << "> (min depth " << g.rules[0].min_depth << ")"
            << "  recursive rules: " << recursive << "\n";
  std::cout << "designs: " << count_text(en.count()) << " (depth <= " << eo.max_depth << ", "
            << describe_ranges(eo) << ")\n";
  print_taxonomy(g, en, g.start(), 2, eo.max_depth);
  if (vm.count("verify")) {
    std::uint64_t checked = 0;
    std::string bad, why;
    en.for_each([&](const std::string& s) {
      ++checked;
      AllocatorSpec spec;
      std::string err;
      if (!parse_spec(s, spec, &err)) {
        bad = s;
        why = "core rejects it: " + err;
        return false;
      }
      if (spec.text() != s) {
        bad = s;
        why = "not canonical: core writes it as '" + spec.text() + "'";
        return false;
      }
      if (find_row(spec, &err) == nullptr) {
        bad = s;
        why = "no registry row: " + err;
        return false;
      }
      return true;
    });
    if (!bad.empty()) throw RuntimeError(path + ": sentence '" + bad + "': " + why);
    std::cout << "verified: " << checked << " sentences parse canonically and select a registry row\n";
  }
  return kExitOk;
}

int run_enumerate(const std::vector<std::string>& args) {
  const std::string usage =
      "evoalloc grammar enumerate [--grammar FILE] [--count] [--limit N] [--genomes] [--max-range-values N] "
      "[--max-depth D]";
  po::options_description desc("options");
  std::string path;
  EnumOptions eo;
  Count limit;
  add_grammar_option(desc, path);
  add_enum_options(desc, eo);
  desc.add_options()("count", "print only the number of sentences")(
      "limit", po::value(&limit)->default_value(Count{}, "0"), "list at most N sentences (0 = all)")(
      "genomes", "print each sentence's genome after a tab (codons = production indices)");
  po::variables_map vm;
  if (!parse(args, desc, nullptr, 0, vm, usage,
             "Lists every sentence of the grammar's discrete part, one per line, in grammar order\n"
             "(productions in file order, the first choice varying slowest). --count counts them\n"
             "without listing (dynamic programming over the rules)."))
    return kExitOk;
  Grammar g = load_grammar(path);
  Enumerator en(g, eo);
  if (vm.count("count")) {
    if (en.saturated()) std::cout << ">= 18446744073709551615\n";
    else std::cout << en.count() << '\n';
    return kExitOk;
  }
  if (en.saturated()) throw RuntimeError(path + ": too many sentences to list (>= 2^64); use --max-range-values");
  const bool genomes = vm.count("genomes") != 0;
  std::uint64_t n = limit.value == 0 ? en.count() : std::min(limit.value, en.count());
  std::vector<std::uint32_t> genome;
  std::string line;
  for (std::uint64_t i = 0; i < n; ++i) {
    line = en.at(i, genomes ? &genome : nullptr);
    if (genomes) {
      line += '\t';
      line += join_codons(genome);
    }
    line += '\n';
    std::cout << line;
  }
  return kExitOk;
}

int run_encode(const std::vector<std::string>& args) {
  const std::string usage = "evoalloc grammar encode [--grammar FILE] SENTENCE";
  po::options_description desc("options");
  std::string path, sentence;
  add_grammar_option(desc, path);
  desc.add_options()("sentence", po::value(&sentence)->required(), "the sentence (quote it)");
  po::variables_map vm;
  if (!parse(args, desc, "sentence", 1, vm, usage,
             "Finds a genome that maps to SENTENCE (codons = production indices) and prints it;\n"
             "exit 1 if the grammar cannot derive the sentence."))
    return kExitOk;
  Grammar g = load_grammar(path);
  auto genome = encode_sentence(g, sentence);
  if (!genome) throw RuntimeError("'" + sentence + "' is not a sentence of " + path);
  std::cout << join_codons(*genome) << '\n';
  return kExitOk;
}

}  // namespace

int cmd_grammar(const std::vector<std::string>& args) {
  const char* subs = "check, enumerate, encode";
  if (args.empty()) throw UsageError(std::string("missing subcommand (expected: ") + subs + ")");
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: evoalloc grammar check|enumerate|encode [options]   (each with --help)\n\n"
                 "  check      parse and check a grammar, count its designs (--verify: against core)\n"
                 "  enumerate  list or count every sentence of the discrete part\n"
                 "  encode     find a genome for a sentence\n\n"
                 "Documentation: docs/grammar.md (in the source tree)\n";
    return kExitOk;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "check") return run_check(rest);
  if (args[0] == "enumerate") return run_enumerate(rest);
  if (args[0] == "encode") return run_encode(rest);
  throw UsageError("unknown subcommand '" + args[0] + "' (expected: " + subs + ")");
}

}  // namespace evo::cli
