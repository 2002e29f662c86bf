#include "app/cli.hpp"

namespace evo::cli {

int cmd_version(const std::vector<std::string>& args) {
  po::options_description desc("options");
  po::variables_map vm;
  if (!parse(args, desc, nullptr, 0, vm, "evoalloc version", "Prints the version of evoalloc.")) return kExitOk;
  std::cout << "evoalloc " << EVOALLOC_VERSION << '\n';
  return kExitOk;
}

}  // namespace evo::cli
