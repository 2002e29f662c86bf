// core/superblock/rows.hpp — instantiation of the superblock rows, one bin policy
// per translation unit (core/superblock/rows_<bin>.cpp) so the 225 instantiations
// build in parallel. Row order: bins, then alg, then pagemap, then cache, each in
// schema order.
#pragma once

#include <string>
#include <vector>

#include "core/adapter.hpp"
#include "core/superblock/heap.hpp"

namespace evo {

void superblock_rows_unordered(std::vector<RegistryRow>& out);
void superblock_rows_mtf(std::vector<RegistryRow>& out);
void superblock_rows_fullness_array(std::vector<RegistryRow>& out);
void superblock_rows_fullness_list(std::vector<RegistryRow>& out);
void superblock_rows_fullness_mtf(std::vector<RegistryRow>& out);

namespace sb_rows {

// usable_size reads the pagemap entry and the superblock header of a live block
// (both fixed while it is live) and carved_ (a relaxed atomic).
inline constexpr Traits kTraits{16, true, false, false, false, true};

template <template <class> class Bin, class Alg, class Pm, template <class> class Cache>
void add_one(std::vector<RegistryRow>& out) {
  std::string name = std::string("superblock bins=") + Bin<Superblock>::kName + " alg=" + Alg::kName +
                     " pagemap=" + Pm::kName + " cache=" + Cache<Superblock>::kName;
  out.push_back(make_row<SuperblockHeap<Bin, Alg, Pm, Cache>>(std::move(name), kTraits));
}

template <template <class> class Bin, class Alg, class Pm>
void add_caches(std::vector<RegistryRow>& out) {
  add_one<Bin, Alg, Pm, NoCache>(out);
  add_one<Bin, Alg, Pm, EagerCache>(out);
  add_one<Bin, Alg, Pm, LazyCache>(out);
}

template <template <class> class Bin, class Alg>
void add_pagemaps(std::vector<RegistryRow>& out) {
  add_caches<Bin, Alg, FlatPagemap>(out);
  add_caches<Bin, Alg, Radix2Pagemap>(out);
  add_caches<Bin, Alg, Radix3Pagemap>(out);
}

template <template <class> class Bin>
void add_bin(std::vector<RegistryRow>& out) {
  add_pagemaps<Bin, BumpAlg>(out);
  add_pagemaps<Bin, ReapAlg>(out);
  add_pagemaps<Bin, BitmapAlg>(out);
  add_pagemaps<Bin, StackAlg>(out);
  add_pagemaps<Bin, BumpStackAlg>(out);
}

}  // namespace sb_rows
}  // namespace evo
