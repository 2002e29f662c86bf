// app/cmd_decode.cpp — `evoalloc decode`: map a genome to its design and ask core about it.
//
//   evoalloc decode [--grammar FILE] [--wraps N] [--max-depth D] CODONS...
//   evoalloc decode [--grammar FILE] --genome FILE
//
// CODONS are unsigned 32-bit integers, as separate arguments or joined by commas or
// dots (evolve's genome text, "12.0.255", is accepted as is). A genome file holds
// codons separated by blanks, commas, dots or line breaks; `#` starts a comment. Prints the sentence, codons used, depth, and whether core accepts it
// (parse_spec + find_row: the registry row it selects).
// Exit codes: 0 valid and accepted; 1 invalid genome, a sentence core rejects, an
// unreadable or malformed genome file (FILE:LINE:COL), or a bad grammar; 2 usage.
#include <charconv>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/cli.hpp"
#include "core/registry.hpp"
#include "core/spec.hpp"
#include "grammar/grammar.hpp"
#include "grammar/mapper.hpp"

namespace evo::cli {

namespace {

bool parse_codon(std::string_view tok, std::uint32_t& out) {
  auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), out);
  return ec == std::errc{} && p == tok.data() + tok.size();
}

// Splits `text` on blanks, commas and dots (and `#` comments); calls bad(line, col, token) on a
// token that is not a codon.
template <typename Bad>
std::vector<std::uint32_t> parse_codons(std::string_view text, Bad bad) {
  std::vector<std::uint32_t> out;
  std::size_t line = 1, line_start = 0, i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      line_start = ++i;
      continue;
    }
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == ',' || c == '.') {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && std::string_view(" \t\r\n,.#").find(text[j]) == std::string_view::npos) ++j;
    std::uint32_t v;
    if (!parse_codon(text.substr(i, j - i), v)) bad(line, i - line_start + 1, std::string(text.substr(i, j - i)));
    out.push_back(v);
    i = j;
  }
  return out;
}

}  // namespace

int cmd_decode(const std::vector<std::string>& args) {
  const std::string usage = "evoalloc decode [--grammar FILE] [--wraps N] [--max-depth D] CODONS... | --genome FILE";
  po::options_description desc("options");
  std::string path, genome_file;
  std::vector<std::string> codon_args;
  MapOptions mo;
  desc.add_options()("grammar,g",
                     po::value(&path)->default_value(source_dir() + "/grammar/allocator.bnf", "grammar/allocator.bnf"),
                     "BNF grammar file")("genome", po::value(&genome_file), "read the codons from FILE")(
      "wraps", po::value(&mo.max_wraps)->default_value(mo.max_wraps), "wrapping limit")(
      "max-depth", po::value(&mo.max_depth)->default_value(mo.max_depth), "derivation depth limit")(
      "codons", po::value(&codon_args), "codons (unsigned 32-bit; blank, comma or dot separated)");
  po::variables_map vm;
  if (!parse(args, desc, "codons", -1, vm, usage,
             "Maps a genome through the grammar (GE: codon mod number of choices, wrapping, depth\n"
             "limit) and prints the sentence, the codons used, the depth, and whether core accepts\n"
             "the design (the registry row it selects)."))
    return kExitOk;
  if (mo.max_wraps < 0) throw UsageError("--wraps must be >= 0");
  if (mo.max_depth < 1) throw UsageError("--max-depth must be >= 1");
  std::vector<std::uint32_t> codons;
  if (!genome_file.empty()) {
    if (!codon_args.empty()) throw UsageError("give codons either as arguments or with --genome, not both");
    std::ifstream in(genome_file, std::ios::binary);
    if (!in) throw RuntimeError(genome_file + ": cannot read genome file");
    std::ostringstream ss;
    ss << in.rdbuf();
    codons = parse_codons(ss.str(), [&](std::size_t line, std::size_t col, const std::string& tok) {
      throw RuntimeError(genome_file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": '" + tok +
                         "' is not a codon, expected an unsigned 32-bit integer");
    });
  } else {
    if (codon_args.empty()) throw UsageError("missing codons (or --genome FILE)");
    for (const std::string& a : codon_args) {
      auto part = parse_codons(a, [&](std::size_t, std::size_t, const std::string& tok) {
        throw UsageError("'" + tok + "' is not a codon, expected an unsigned 32-bit integer");
      });
      codons.insert(codons.end(), part.begin(), part.end());
    }
  }
  Grammar g = load_grammar(path);
  MapResult r = map_genome(g, codons, mo);
  if (!r.valid) {
    std::cout << "invalid: " << r.why << "\n"
              << "codons used: " << r.used_codons << " of " << codons.size() << "\n"
              << "depth: " << r.depth << "\n";
    return kExitFailure;
  }
  std::cout << "sentence: " << r.sentence << "\n"
            << "codons used: " << r.used_codons << " of " << codons.size() << "\n"
            << "depth: " << r.depth << "\n";
  AllocatorSpec spec;
  std::string err;
  if (!parse_spec(r.sentence, spec, &err)) {
    std::cout << "core: rejected: " << err << "\n";
    return kExitFailure;
  }
  const RegistryRow* row = find_row(spec, &err);
  if (row == nullptr) {
    std::cout << "core: parsed, but no row: " << err << "\n";
    return kExitFailure;
  }
  std::cout << "core: accepted" << (spec.text() == r.sentence ? "" : " (canonical form: " + spec.text() + ")")
            << ", row " << row->id << " (" << row->name << ")\n";
  return kExitOk;
}

}  // namespace evo::cli
