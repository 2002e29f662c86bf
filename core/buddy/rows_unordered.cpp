// core/buddy/rows_unordered.cpp — the 9 buddy rows with the UnorderedBin policy.
#include "core/buddy/rows.hpp"

namespace evo::buddy {
void rows_unordered(std::vector<RegistryRow>& out) { add_bin_rows<UnorderedBin>(out); }
}  // namespace evo::buddy
