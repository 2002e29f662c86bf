// core/layers/harden.cpp — placeholder: no hardening layer in this build yet
// (the "families" engineer replaces this file with the real layer).
#include "core/layers/harden.hpp"

namespace evo {

bool wrap_hardening(std::string_view mode, const RegistryRow*& /*row*/, void*& /*state*/, std::string* err) {
  if (mode == "off") return true;
  if (err != nullptr) *err = "harden=" + std::string(mode) + " is not available in this build";
  return false;
}

}  // namespace evo
