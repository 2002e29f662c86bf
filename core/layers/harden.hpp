// core/layers/harden.hpp — the hardening layer (common key harden=off|canary|checked).
//
// Instance::create builds the plain row's state, then, when harden != off, calls
// wrap_hardening, which replaces (row, state) by a wrapping row whose state owns
// the inner (row, state): canary = guard bytes after each block checked at free;
// checked = canary + detection of double and invalid frees.
//
// Contract: on success returns true and row/state point to the wrapper (destroying
// the wrapper destroys the inner state). On failure returns false, leaves row and
// state untouched (the caller destroys the inner state) and writes one line to *err.
#pragma once

#include <string>
#include <string_view>

#include "core/registry.hpp"

namespace evo {

bool wrap_hardening(std::string_view mode, const RegistryRow*& row, void*& state, std::string* err);

}  // namespace evo
