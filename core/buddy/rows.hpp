// core/buddy/rows.hpp — BuddyAlloc (one buddy row: spec -> BuddyHeap) and the
// per-bin row lists (9 rows each: pagemap x cache, in schema order).
#pragma once

#include <string>
#include <vector>

#include "core/adapter.hpp"
#include "core/buddy/buddy_heap.hpp"
#include "core/buddy/config.hpp"
#include "core/buddy/family.hpp"

namespace evo::buddy {

template <template <class> class Bin, class Pm, template <class> class Cache>
class BuddyAlloc : public BuddyHeap<Bin, Pm, Cache> {
 public:
  using BuddyHeap<Bin, Pm, Cache>::BuddyHeap;
  static BuddyAlloc* create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
    return create_heap<BuddyAlloc>(spec, opt, err);
  }
};

template <template <class> class Bin, class Pm, template <class> class Cache>
void add_one(std::vector<RegistryRow>& out) {
  std::string name = std::string("buddy bins=") + Bin<BuddyNode>::kName + " pagemap=" + Pm::kName +
                     " cache=" + Cache<BuddyNode>::kName;
  out.push_back(make_row<BuddyAlloc<Bin, Pm, Cache>>(name, Traits{16, true, false, false, true}));
}

template <template <class> class Bin>
void add_bin_rows(std::vector<RegistryRow>& out) {
  add_one<Bin, FlatPagemap, NoCache>(out);
  add_one<Bin, FlatPagemap, EagerCache>(out);
  add_one<Bin, FlatPagemap, LazyCache>(out);
  add_one<Bin, Radix2Pagemap, NoCache>(out);
  add_one<Bin, Radix2Pagemap, EagerCache>(out);
  add_one<Bin, Radix2Pagemap, LazyCache>(out);
  add_one<Bin, Radix3Pagemap, NoCache>(out);
  add_one<Bin, Radix3Pagemap, EagerCache>(out);
  add_one<Bin, Radix3Pagemap, LazyCache>(out);
}

}  // namespace evo::buddy
