// core/buddy/rows_mtf.cpp — the 9 buddy rows with the MtfBin policy.
#include "core/buddy/rows.hpp"

namespace evo::buddy {
void rows_mtf(std::vector<RegistryRow>& out) { add_bin_rows<MtfBin>(out); }
}  // namespace evo::buddy
