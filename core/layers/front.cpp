// core/layers/front.cpp — front=tcache:B around a registry row (evaluation's path).
#include "core/layers/front.hpp"

#include <new>
#include <vector>

namespace evo {

namespace {

void* f_create(const AllocatorSpec&, const InstanceOptions&, std::string* err) {
  if (err) *err = "front rows are made by wrap_front, not created directly";
  return nullptr;
}

/// The wrapper rows: one per (registry row, front choice of the schema), built once.
/// Index: choice * rows().size() + row id.
struct WrapperTable {
  std::vector<std::string> values;  // the non-"none" choices of the key
  std::vector<RegistryRow> rows;
};

const WrapperTable& wrappers() {
  static const WrapperTable t = [] {
    WrapperTable t;
    for (const KeySchema& k : common_keys())
      if (k.key == "front")
        for (std::string_view c : k.choices)
          if (c != "none") t.values.emplace_back(c);
    for (const std::string& v : t.values) {
      for (const RegistryRow& r : rows()) {
        RegistryRow w = r;
        std::size_t at = w.name.rfind("front=none");
        if (at != std::string::npos) w.name.replace(at, 10, "front=" + v);
        w.ops = ops_front_row_ops();
        w.create = &f_create;
        t.rows.push_back(std::move(w));
      }
    }
    return t;
  }();
  return t;
}

}  // namespace

bool split_thread_cache(const AllocatorSpec& spec, ThreadCacheSplit* out, std::string* err) {
  const std::string* f = spec.get("front");
  std::uint32_t bound = 0;
  if (f == nullptr || !parse_front(*f, bound) || bound == 0) {
    if (err)
      *err = "thread model tcache runs the design's front cache in every thread: the design needs front=tcache:B, not front=" +
             (f == nullptr ? std::string("none") : *f);
    return false;
  }
  if (const std::string* h = spec.get("harden"); h != nullptr && *h == "checked") {
    if (err)
      *err = "thread model tcache keeps freed blocks in per-thread caches above the hardening layer, where "
             "harden=checked cannot see a double free: use harden=off|canary, or another thread model";
    return false;
  }
  ThreadCacheSplit s;
  s.back.family = spec.family;
  for (const auto& [k, v] : spec.params) {
    if (k == "threads") continue;
    s.back.params.emplace_back(k, k == "front" ? std::string("none") : v);
  }
  s.bound = bound;
  s.min_align = common_params(spec).min_align;
  *out = std::move(s);
  return true;
}

bool wrap_front(std::string_view value, const RegistryRow*& row, void*& state, std::string* err,
                std::size_t min_align, const Probe* probe) {
  std::uint32_t bound = 0;
  if (!parse_front(value, bound)) {
    if (err) *err = "front=" + std::string(value) + ": expected none or tcache:B[:grow][:array]";
    return false;
  }
  if (bound == 0) return true;
  const WrapperTable& t = wrappers();
  const auto n = rows().size();
  std::size_t choice = t.values.size();
  for (std::size_t i = 0; i < t.values.size(); ++i)
    if (t.values[i] == value) choice = i;
  if (choice == t.values.size()) {
    if (err) *err = "front=" + std::string(value) + ": not one of the front key's choices";
    return false;
  }
  if (row == nullptr || row->id >= n || &rows()[row->id] != row) {
    if (err) *err = "front: not a registry row";
    return false;
  }
  OpsFront* fc = make_ops_front(&row->ops, state, bound, min_align, probe, err);
  if (fc == nullptr) return false;
  row = &t.rows[choice * n + row->id];
  state = fc;
  return true;
}

}  // namespace evo
