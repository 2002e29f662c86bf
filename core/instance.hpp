// core/instance.hpp — a live allocator: one const registry row + its own state.
//
// Instance is the only handle the layers above use (replay, metrics, evolve).
// It is move-only and destroys its state (returning all memory to the OS) when
// it goes away. The hot calls are inline and go straight through the row's
// function pointers: no virtual calls.
#pragma once

#include <cstring>
#include <string>
#include <utility>

#include "core/registry.hpp"

namespace evo {

class Instance {
 public:
  Instance() = default;
  Instance(const RegistryRow* row, void* state) : row_(row), ops_(row ? &row->ops : nullptr), state_(state) {}
  Instance(Instance&& o) noexcept { *this = std::move(o); }
  Instance& operator=(Instance&& o) noexcept {
    if (this != &o) {
      reset();
      row_ = std::exchange(o.row_, nullptr);
      ops_ = std::exchange(o.ops_, nullptr);
      state_ = std::exchange(o.state_, nullptr);
    }
    return *this;
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
  ~Instance() { reset(); }

  /// Builds an instance of `spec`. On failure returns an empty instance
  /// (explicit operator bool is false) and writes one line into *err.
  static Instance create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err);
  /// Parses the canonical text first (same error convention).
  static Instance create(std::string_view text, const InstanceOptions& opt, std::string* err);

  explicit operator bool() const { return state_ != nullptr; }
  const RegistryRow& row() const { return *row_; }
  const AllocatorOps& ops() const { return *ops_; }
  void* state() const { return state_; }

  void* allocate(std::size_t size, std::size_t align = 16) { return ops_->allocate(state_, size, align); }
  void* callocate(std::size_t n, std::size_t size) {
    std::size_t total;
    if (__builtin_mul_overflow(n, size, &total)) return nullptr;
    void* p = ops_->allocate(state_, total, 16);
    if (p != nullptr) std::memset(p, 0, total);
    return p;
  }
  void deallocate(void* p) { ops_->deallocate(state_, p); }
  void* reallocate(void* p, std::size_t size) { return ops_->reallocate(state_, p, size); }
  std::size_t usable_size(const void* p) const { return ops_->usable_size(state_, p); }
  AllocStats stats() const {
    AllocStats s;
    ops_->stats(state_, &s);
    return s;
  }
  bool validate(ValidateLevel level, std::string* err = nullptr) const { return ops_->validate(state_, level, err); }

  void reset() {
    if (state_ != nullptr) ops_->destroy(state_);
    row_ = nullptr;
    ops_ = nullptr;
    state_ = nullptr;
  }

 private:
  const RegistryRow* row_ = nullptr;
  const AllocatorOps* ops_ = nullptr;
  void* state_ = nullptr;
};

}  // namespace evo
