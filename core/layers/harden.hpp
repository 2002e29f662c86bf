// core/layers/harden.hpp — the hardening layer (common key harden=off|canary|checked).
//
// Instance::create builds the plain row's state, then, when harden != off, calls
// wrap_hardening, which replaces (row, state) by a wrapping row whose state owns
// the inner (row, state). Every block gets a 16-byte header in front and an 8-byte
// guard word (canary) right after its requested size:
//
//   inner block: [ pad | header {size, offset<<32 | tag} | user bytes (size) | canary ]
//                       ^ p-16                           ^ p (returned)      ^ p+size
//
//   canary   at free (and realloc) the guard word must be intact: a write of even
//            one byte past the block is reported as "overflow". The header's tag
//            (derived from p and a per-instance secret) catches many invalid frees,
//            best effort: a pointer whose header cannot be read may fault.
//   checked  canary + an exact set of live blocks (open addressing; its table is
//            allocated from the inner design, so it counts in the footprint and the
//            memory limit, and an insert that finds no memory fails the allocation):
//            freeing a pointer that is
//            not live is reported as "double-free" when it was freed recently (last
//            1024 frees) and as "invalid-free" otherwise; such calls are then ignored.
//            validate(Full) also checks every live block's canary.
// usable_size = the requested size (the slack belongs to the guard). Alignment:
// max(16, request, min_align) through the header offset. Reallocation shrinks in
// place (moving the canary) and grows by allocate + copy + free.
//
// Reports go to a hook: by default the message is printed to stderr and the process
// aborts, as hardened allocators do; tests install their own hook (per thread) and
// the layer then carries on (an overflowed block is still freed; a bad free is
// ignored). Message form: "evoalloc harden: <kind> at <ptr> (<detail>)".
//
// Contract: on success returns true and row/state point to the wrapper (destroying
// the wrapper destroys the inner state). On failure returns false, leaves row and
// state untouched (the caller destroys the inner state) and writes one line to *err.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/registry.hpp"

namespace evo {

/// What the hardening layer found.
struct HardenReport {
  std::string_view kind;     ///< "overflow" | "double-free" | "invalid-free"
  const void* ptr;           ///< the block (as returned to the program) or the bad pointer
  std::size_t size;          ///< requested size of the block (0 when unknown)
  std::string_view message;  ///< one line, as printed by the default hook
};

using HardenHook = void (*)(void* ctx, const HardenReport& report);

/// Installs the report hook of the calling thread; nullptr restores the default
/// (print to stderr, abort). Returns the previous hook and its context in *prev_ctx.
HardenHook set_harden_hook(HardenHook hook, void* ctx, void** prev_ctx = nullptr);

/// min_align: the instance's align key (the layer keeps blocks aligned to it).
/// probe: receives the layer's own metadata touches (block header, guard word,
/// live-set slot), so the modeled metrics charge hardening for its traffic.
bool wrap_hardening(std::string_view mode, const RegistryRow*& row, void*& state, std::string* err,
                    std::size_t min_align = 16, const Probe* probe = nullptr);

}  // namespace evo
