// core/source/memory_source.cpp — see memory_source.hpp for the contract.
#include "core/source/memory_source.hpp"

#include <sys/mman.h>

#include <cstring>

namespace evo {
namespace {

constexpr std::size_t kReserveGranule = std::size_t{2} << 20;

std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) & ~(a - 1); }

}  // namespace

MemorySource::MemorySource(std::size_t reserve, std::size_t limit) : limit_(limit) {
  reserve = round_up(reserve < 2 * kReserveGranule ? 2 * kReserveGranule : reserve, 2 * kReserveGranule);
  void* p = ::mmap(nullptr, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return;
  base_ = static_cast<char*>(p);
  reserved_ = reserve;
  half_ = reserve / 2;
  brk_ = committed_brk_ = base_;
  ranges_[0] = {reinterpret_cast<std::uintptr_t>(base_ + half_), half_};
  nranges_ = 1;
}

MemorySource::~MemorySource() {
  if (base_ != nullptr) ::munmap(base_, reserved_);
}

bool MemorySource::commit(char* p, std::size_t bytes) {
  if (limit_ != 0 && footprint_ + bytes > limit_) return false;
  ++os_calls_;
  if (::mprotect(p, bytes, PROT_READ | PROT_WRITE) != 0) return false;
  footprint_ += bytes;
  if (footprint_ > peak_) peak_ = footprint_;
  return true;
}

void MemorySource::decommit(char* p, std::size_t bytes) {
  ++os_calls_;
  // Replacing the pages drops their contents and physical memory at once and
  // leaves them inaccessible again (a stray access faults instead of reading junk).
  ::mmap(p, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  footprint_ -= bytes;
}

void* MemorySource::grow(std::size_t bytes) {
  if (base_ == nullptr) return nullptr;
  if (bytes > static_cast<std::size_t>(base_ + half_ - brk_)) return nullptr;
  char* old = brk_;
  char* want = brk_ + bytes;
  if (want > committed_brk_) {
    char* end = base_ + round_up(static_cast<std::size_t>(want - base_), kPageSize);
    if (!commit(committed_brk_, static_cast<std::size_t>(end - committed_brk_))) return nullptr;
    committed_brk_ = end;
  }
  brk_ = want;
  return old;
}

void MemorySource::shrink(std::size_t bytes) {
  if (bytes > region_size()) bytes = region_size();
  brk_ -= bytes;
  char* keep = base_ + round_up(static_cast<std::size_t>(brk_ - base_), kPageSize);
  if (keep < committed_brk_) {
    decommit(keep, static_cast<std::size_t>(committed_brk_ - keep));
    committed_brk_ = keep;
  }
}

std::uintptr_t MemorySource::take_range(std::size_t bytes, std::size_t align) {
  for (std::size_t i = 0; i < nranges_; ++i) {
    Range& r = ranges_[i];
    std::uintptr_t start = round_up(r.start, align);
    std::size_t lead = start - r.start;
    if (lead + bytes > r.len) continue;
    std::size_t tail = r.len - lead - bytes;
    std::uintptr_t tail_start = start + bytes;
    if (lead == 0 && tail == 0) {
      std::memmove(&ranges_[i], &ranges_[i + 1], (nranges_ - i - 1) * sizeof(Range));
      --nranges_;
    } else if (lead == 0) {
      r = {tail_start, tail};
    } else {
      r.len = lead;
      if (tail != 0) {
        if (nranges_ == kMaxRanges) {
          // Table full: the tail's address space is dropped (never handed out
          // again). Only addresses are lost, never committed memory.
        } else {
          std::memmove(&ranges_[i + 2], &ranges_[i + 1], (nranges_ - i - 1) * sizeof(Range));
          ranges_[i + 1] = {tail_start, tail};
          ++nranges_;
        }
      }
    }
    return start;
  }
  return 0;
}

void* MemorySource::map(std::size_t bytes, std::size_t align) {
  if (base_ == nullptr || bytes == 0) return nullptr;
  bytes = round_up(bytes, kPageSize);
  if (align < kPageSize) align = kPageSize;
  if (bytes > half_) return nullptr;
  if (limit_ != 0 && footprint_ + bytes > limit_) return nullptr;
  std::uintptr_t start = take_range(bytes, align);
  if (start == 0) return nullptr;
  if (!commit(reinterpret_cast<char*>(start), bytes)) {
    add_free_range(start, bytes);
    return nullptr;
  }
  return reinterpret_cast<void*>(start);
}

void* MemorySource::reserve(std::size_t bytes, std::size_t align) {
  if (base_ == nullptr || bytes == 0) return nullptr;
  bytes = round_up(bytes, kPageSize);
  if (align < kPageSize) align = kPageSize;
  if (bytes > half_) return nullptr;
  return reinterpret_cast<void*>(take_range(bytes, align));
}

bool MemorySource::commit_pages(void* p, std::size_t bytes) {
  auto a = reinterpret_cast<std::uintptr_t>(p);
  std::uintptr_t start = a & ~std::uintptr_t(kPageSize - 1);
  std::uintptr_t end = round_up(a + bytes, kPageSize);
  return commit(reinterpret_cast<char*>(start), end - start);
}

void MemorySource::unmap(void* p, std::size_t bytes) {
  if (p == nullptr || bytes == 0) return;
  bytes = round_up(bytes, kPageSize);
  decommit(static_cast<char*>(p), bytes);
  add_free_range(reinterpret_cast<std::uintptr_t>(p), bytes);
}

void MemorySource::add_free_range(std::uintptr_t start, std::size_t len) {
  // Position of the first range after `start`.
  std::size_t i = 0;
  while (i < nranges_ && ranges_[i].start < start) ++i;
  bool merge_prev = i > 0 && ranges_[i - 1].start + ranges_[i - 1].len == start;
  bool merge_next = i < nranges_ && start + len == ranges_[i].start;
  if (merge_prev && merge_next) {
    ranges_[i - 1].len += len + ranges_[i].len;
    std::memmove(&ranges_[i], &ranges_[i + 1], (nranges_ - i - 1) * sizeof(Range));
    --nranges_;
  } else if (merge_prev) {
    ranges_[i - 1].len += len;
  } else if (merge_next) {
    ranges_[i].start = start;
    ranges_[i].len += len;
  } else if (nranges_ < kMaxRanges) {
    std::memmove(&ranges_[i + 1], &ranges_[i], (nranges_ - i) * sizeof(Range));
    ranges_[i] = {start, len};
    ++nranges_;
  }
  // else: table full, the address range is dropped (see map()).
}

}  // namespace evo
