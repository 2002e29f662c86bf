// core/superblock/rows_mtf.cpp — the 45 superblock rows with bins=mtf (see rows.hpp).
#include "core/superblock/rows.hpp"

namespace evo {

void superblock_rows_mtf(std::vector<RegistryRow>& out) { sb_rows::add_bin<MtfBin>(out); }

}  // namespace evo
