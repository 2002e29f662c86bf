// core/instance.cpp — Instance::create: parse -> find_row -> row.create -> front cache -> hardening.
#include "core/instance.hpp"

#include "core/layers/front.hpp"
#include "core/layers/harden.hpp"

namespace evo {

Instance Instance::create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
  const RegistryRow* row = find_row(spec, err);
  if (row == nullptr) return {};
  void* state = row->create(spec, opt, err);
  if (state == nullptr) {
    if (err != nullptr && err->empty()) *err = "cannot create '" + spec.text() + "'";
    return {};
  }
  const std::string* front = spec.get("front");
  if (front != nullptr && *front != "none") {
    if (!wrap_front(*front, row, state, err, static_cast<std::size_t>(spec.get_size("align")), opt.probe)) {
      row->ops.destroy(state);
      return {};
    }
  }
  const std::string* harden = spec.get("harden");
  if (harden != nullptr && *harden != "off") {
    if (!wrap_hardening(*harden, row, state, err, static_cast<std::size_t>(spec.get_size("align")), opt.probe)) {
      row->ops.destroy(state);
      return {};
    }
  }
  return Instance(row, state);
}

Instance Instance::create(std::string_view text, const InstanceOptions& opt, std::string* err) {
  AllocatorSpec spec;
  if (!parse_spec(text, spec, err)) return {};
  return create(spec, opt, err);
}

}  // namespace evo
