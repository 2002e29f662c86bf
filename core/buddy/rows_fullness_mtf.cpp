// core/buddy/rows_fullness_mtf.cpp — the 9 buddy rows with the FullnessMtfBin policy.
#include "core/buddy/rows.hpp"

namespace evo::buddy {
void rows_fullness_mtf(std::vector<RegistryRow>& out) { add_bin_rows<FullnessMtfBin>(out); }
}  // namespace evo::buddy
