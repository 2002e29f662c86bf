#include "app/cli.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace evo::cli {

std::string doc_page(const std::string& usage) {
  // "evoalloc CMD ..." -> the docs/ page that explains CMD (one page per topic).
  static const std::pair<const char*, const char*> kPages[] = {
      {"record", "docs/traces.md"},   {"import", "docs/traces.md"},     {"trace", "docs/traces.md"},
      {"replay", "docs/traces.md"},   {"taxonomy", "docs/designs.md"},  {"grammar", "docs/grammar.md"},
      {"decode", "docs/grammar.md"},  {"evolve", "docs/evolve.md"},     {"export", "docs/export.md"},
      {"bench", "docs/benchmarks.md"}, {"fidelity", "docs/metrics.md"}, {"merge", "docs/scale-out.md"},
      {"sweep", "docs/scale-out.md"}};
  const std::size_t a = usage.find(' ');
  if (a == std::string::npos) return "README.md";
  const std::size_t b = usage.find_first_of(" [", a + 1);
  const std::string cmd = usage.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
  for (const auto& [c, page] : kPages)
    if (cmd == c) return page;
  return "README.md";
}

bool parse(const std::vector<std::string>& args, const po::options_description& desc,
           const po::positional_options_description& pos, po::variables_map& vm,
           const std::string& usage, const std::string& about) {
  po::options_description all;
  all.add_options()("help,h", "print this help and exit");
  all.add(desc);
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: " << usage << "\n\n" << about << "\n\n" << all << "\nDocumentation: " << doc_page(usage)
                << " (in the source tree)\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see --help)");
  }
  return true;
}

bool parse(const std::vector<std::string>& args, const po::options_description& desc, const char* positional,
           int max_count, po::variables_map& vm, const std::string& usage, const std::string& about) {
  po::positional_options_description pos;
  if (positional != nullptr) pos.add(positional, max_count);
  return parse(args, desc, pos, vm, usage, about);
}

void validate(boost::any& out, const std::vector<std::string>& values, Count*, int) {
  po::validators::check_first_occurrence(out);
  const std::string& s = po::validators::get_single_string(values);
  std::uint64_t v = 0;
  bool ok = !s.empty() && s.size() <= 19;
  for (char c : s) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (!ok) throw po::invalid_option_value(s);  // "the argument ('-5') for option '--x' is invalid"
  out = Count{v};
}

ProgramArgs split_program(const std::vector<std::string>& args) {
  const auto dash = std::find(args.begin(), args.end(), std::string("--"));
  ProgramArgs out;
  out.opts.assign(args.begin(), dash);
  if (dash != args.end()) out.program.assign(dash + 1, args.end());
  return out;
}

void require_program(const std::vector<std::string>& program) {
  if (program.empty()) throw UsageError("missing '-- PROGRAM [ARGS...]'");
}

std::vector<std::pair<std::string, std::string>> parse_pairs(const std::vector<std::string>& items,
                                                             const std::string& opt) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& s : items) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--" + opt + " " + s + ": expected NAME=VALUE");
    out.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  return out;
}

std::string source_dir() {
  if (const char* env = std::getenv("EVOALLOC_SOURCE_DIR"); env != nullptr && *env != '\0') return env;
  return EVOALLOC_SOURCE_DIR;
}

std::string resolve_path(const std::string& p) {
  namespace fs = std::filesystem;
  if (p.empty() || fs::path(p).is_absolute() || fs::exists(p)) return p;
  const fs::path alt = fs::path(source_dir()) / p;
  return fs::exists(alt) ? alt.string() : p;
}

}  // namespace evo::cli
