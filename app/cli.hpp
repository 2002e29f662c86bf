// app/cli.hpp — shared plumbing of the `evoalloc` subcommands.
//
// Each subcommand lives in app/cmd_<name>.cpp as
//     int cmd_<name>(const std::vector<std::string>& args);   // args exclude the command name
// and is listed once in the table of app/main.cpp.
// Exit codes: 0 ok, 1 runtime failure (bad input file, failed run), 2 usage error.
// Throw UsageError for a bad command line and RuntimeError (or any std::exception)
// for a failure; main() prints "evoalloc <cmd>: <message>" and maps the code.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace evo::cli {

namespace po = boost::program_options;

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct RuntimeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The docs/ page of the command named by a usage line ("evoalloc CMD ..."), or
/// README.md; printed at the end of every --help.
std::string doc_page(const std::string& usage);

/// Parses `args` against `desc` (+ positional `pos`), handling --help.
/// Returns false when --help was printed (the command should return 0).
/// `usage` is the one-line synopsis, `about` a paragraph printed under it.
bool parse(const std::vector<std::string>& args, const po::options_description& desc,
           const po::positional_options_description& pos, po::variables_map& vm,
           const std::string& usage, const std::string& about);
/// The same with the positional arguments bound to one option: `positional` takes
/// up to `max_count` of them (-1: all). nullptr: no positional arguments.
bool parse(const std::vector<std::string>& args, const po::options_description& desc, const char* positional,
           int max_count, po::variables_map& vm, const std::string& usage, const std::string& about);

/// A non-negative count option: `po::value<Count>(&c)`. Boost's own parsing of an
/// unsigned type accepts "-5" and wraps it to 2^64 - 5; this one accepts only
/// decimal digits (a usage error names the option otherwise).
struct Count {
  std::uint64_t value = 0;
};
/// Boost.Program_options hook for Count (found by argument-dependent lookup).
void validate(boost::any& out, const std::vector<std::string>& values, Count*, int);

/// A command line "OPTIONS... -- PROGRAM [ARGS...]" split at its first "--": `opts`
/// are the words before it, `program` the words after it (empty when there is no "--").
struct ProgramArgs {
  std::vector<std::string> opts;
  std::vector<std::string> program;
};
ProgramArgs split_program(const std::vector<std::string>& args);

/// Throws UsageError "missing '-- PROGRAM [ARGS...]'" when `program` is empty.
void require_program(const std::vector<std::string>& program);

/// The NAME=VALUE items of the repeatable option `opt` (e.g. "env") as pairs, in order;
/// an item without '=' or with an empty NAME is a UsageError naming --opt and the item.
std::vector<std::pair<std::string, std::string>> parse_pairs(const std::vector<std::string>& items,
                                                             const std::string& opt);

/// The source tree this binary was built from (for embedded defaults such as
/// configs/espresso.yaml and traces/); EVOALLOC_SOURCE_DIR in the environment wins.
std::string source_dir();

/// A path as the CLI reads configs, grammars and traces: a relative path is taken
/// from the current directory if it exists there, else from source_dir() if it
/// exists there, else returned unchanged (absolute paths too), so a missing file is
/// reported by the name the user gave.
std::string resolve_path(const std::string& p);

}  // namespace evo::cli
