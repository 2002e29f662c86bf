// core/superblock/rows_fullness_mtf.cpp — the 45 superblock rows with bins=fullness-mtf (see rows.hpp).
#include "core/superblock/rows.hpp"

namespace evo {

void superblock_rows_fullness_mtf(std::vector<RegistryRow>& out) { sb_rows::add_bin<FullnessMtfBin>(out); }

}  // namespace evo
