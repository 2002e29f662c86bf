// evoalloc_pmr.hpp — embed the exported design inside an application without
// replacing malloc (part of every export; copied into DIR/include/).
//
// Use: add DIR/include to the include path and link DIR/lib<NAME>_design.a (the
// design and the core objects it needs, without the malloc shim):
//
//   #include "evoalloc_pmr.hpp"
//   evo_export::DesignResource res;                      // a private instance
//   std::pmr::vector<int> v(&res);                        // any pmr container
//   std::vector<int, evo_export::DesignAllocator<int>> w(evo_export::DesignAllocator<int>(&res));
//
// DesignResource: a std::pmr::memory_resource over its own instance of the design.
//   Throws std::bad_alloc when the instance cannot be created or an allocation
//   fails; alignment: any power of two (<= 16 is the design's default); bytes 0 is
//   allowed. Not thread-safe (wrap it in std::pmr::synchronized_pool_resource or
//   a lock for shared use). is_equal: the same object only. Its destructor returns
//   all memory to the OS (every block must be dead by then).
// DesignAllocator<T>: a minimal STL allocator (allocate/deallocate, rebinding,
//   equality by resource) over a DesignResource.
#pragma once

#include <cstddef>
#include <memory_resource>
#include <new>
#include <string>

#include "evoalloc_runtime.hpp"

namespace evo_export {

class DesignResource : public std::pmr::memory_resource {
 public:
  /// `limit` caps the instance's footprint in bytes (0 = none).
  explicit DesignResource(std::size_t limit = 0) {
    std::string err;
    if (!heap_.init(&err, limit)) throw std::bad_alloc();
  }
  ~DesignResource() override { heap_.destroy(); }
  DesignResource(const DesignResource&) = delete;
  DesignResource& operator=(const DesignResource&) = delete;

  /// Exact accounting of this resource's instance (bytes, counts).
  evo::AllocStats stats() const { return heap_.stats(); }
  /// Usable bytes of a live block.
  std::size_t usable_size(const void* p) const { return heap_.usable_size(p); }

 private:
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    void* p = heap_.allocate(bytes, align < 16 ? 16 : align);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void do_deallocate(void* p, std::size_t, std::size_t) override { heap_.deallocate(p); }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

  Heap heap_;
};

template <class T>
struct DesignAllocator {
  using value_type = T;
  DesignResource* res;
  explicit DesignAllocator(DesignResource* r) noexcept : res(r) {}
  template <class U>
  DesignAllocator(const DesignAllocator<U>& o) noexcept : res(o.res) {}
  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(res->allocate(n * sizeof(T), alignof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { res->deallocate(p, n * sizeof(T), alignof(T)); }
  template <class U>
  bool operator==(const DesignAllocator<U>& o) const noexcept {
    return res == o.res;
  }
};

}  // namespace evo_export
