// evoalloc — evolves a memory allocator for one program. See README.md.
#include <cstring>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "app/cli.hpp"

namespace evo::cli {
// One line per subcommand (defined in app/cmd_<name>.cpp).
int cmd_version(const std::vector<std::string>& args);
int cmd_evolve(const std::vector<std::string>& args);
int cmd_grammar(const std::vector<std::string>& args);
int cmd_decode(const std::vector<std::string>& args);
int cmd_import(const std::vector<std::string>& args);
int cmd_trace(const std::vector<std::string>& args);
int cmd_replay(const std::vector<std::string>& args);
int cmd_record(const std::vector<std::string>& args);
int cmd_taxonomy(const std::vector<std::string>& args);
int cmd_merge(const std::vector<std::string>& args);
int cmd_sweep(const std::vector<std::string>& args);
int cmd_export(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_fidelity(const std::vector<std::string>& args);
}  // namespace evo::cli

namespace {

using Handler = int (*)(const std::vector<std::string>&);
struct Command {
  const char* name;
  Handler run;
  const char* summary;
};

const Command kCommands[] = {
    {"version", evo::cli::cmd_version, "print the version"},
    {"evolve", evo::cli::cmd_evolve, "evolve allocator designs for a trace (the main job)"},
    {"grammar", evo::cli::cmd_grammar, "grammar check|enumerate|encode: inspect the search space"},
    {"decode", evo::cli::cmd_decode, "map a genome to its allocator design"},
    {"import", evo::cli::cmd_import, "import a glibc mtrace log as a trace"},
    {"trace", evo::cli::cmd_trace, "trace info|sites: summarise a trace, profile its call sites"},
    {"replay", evo::cli::cmd_replay, "replay a trace through glibc, null or an allocator design"},
    {"record", evo::cli::cmd_record, "run a program under the malloc recorder"},
    {"taxonomy", evo::cli::cmd_taxonomy, "list the allocator designs compiled in (--list, --count, --json)"},
    {"merge", evo::cli::cmd_merge, "merge the fronts of several run folders into one, compare the runs"},
    {"sweep", evo::cli::cmd_sweep, "run configs x traces x seeds as a Slurm job array, then merge"},
    {"export", evo::cli::cmd_export, "export a design as a drop-in malloc library (libNAME.so / libNAME.a)"},
    {"bench", evo::cli::cmd_bench, "run a real program under glibc, jemalloc, tcmalloc, mimalloc and exports"},
    {"fidelity", evo::cli::cmd_fidelity, "do a run's scores predict the real program? (exports, runs, Spearman's rho)"},
};

void print_usage(std::ostream& os) {
  os << "usage: evoalloc <command> [options]   (evoalloc <command> --help for details)\n\n"
        "evoalloc fits a memory allocator to one program: record its malloc trace,\n"
        "evolve allocator designs against it, export the winner as a malloc library.\n\n"
        "commands:\n";
  for (const Command& c : kCommands) {
    os << "  " << c.name;
    for (std::size_t i = std::strlen(c.name); i < 12; ++i) os << ' ';
    os << c.summary << '\n';
  }
  os << "\nexit codes: 0 ok, 1 runtime failure, 2 usage error\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return evo::cli::kExitUsage;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(std::cout);
    return evo::cli::kExitOk;
  }
  if (name == "--version") name = "version";
  std::vector<std::string> args(argv + 2, argv + argc);
  // Two-word commands ("grammar check", "trace info") dispatch on the first word;
  // the command itself reads the second.
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(args);
    } catch (const evo::cli::UsageError& e) {
      std::cerr << "evoalloc " << name << ": " << e.what() << '\n';
      return evo::cli::kExitUsage;
    } catch (const std::exception& e) {
      std::cerr << "evoalloc " << name << ": " << e.what() << '\n';
      return evo::cli::kExitFailure;
    }
  }
  std::cerr << "evoalloc: unknown command '" << name << "'\n\n";
  print_usage(std::cerr);
  return evo::cli::kExitUsage;
}
