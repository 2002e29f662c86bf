// core/route/router.cpp — the route family: schema, checks, creation (router.hpp).
#include "core/route/router.hpp"

#include <new>

#include "core/adapter.hpp"

namespace evo {
namespace {

bool route_check(const AllocatorSpec& spec, std::string* err) {
  if (*spec.get("align") != "16")
    return fail(err, "the router keeps no memory of its own: give align= to the sub-designs (keep align=16 here)");
  if (*spec.get("retain") != "0")
    return fail(err, "the router keeps no memory of its own: give retain= to the sub-designs (keep retain=0 here)");
  return true;
}

}  // namespace

const char* route_class_name(RouteClass c) {
  switch (c) {
    case RouteClass::Short: return "short";
    case RouteClass::Long: return "long";
    case RouteClass::Rest: return "rest";
  }
  return "?";
}

RouteClass classify_site(const SiteLife& s, std::uint64_t life, bool has_long) {
  if (s.allocs < kMinSiteAllocs) return RouteClass::Rest;
  if (has_long && 2 * s.never_freed >= s.allocs) return RouteClass::Long;
  if (100 * s.never_freed <= s.allocs && s.lifetime_bytes_p90 <= life) return RouteClass::Short;
  return RouteClass::Rest;
}

const FamilySchema& route_schema() {
  static const FamilySchema s{
      "route",
      "routes each allocation by its call site: short-lived sites, sites that keep their objects, the rest, each "
      "to its own sub-design",
      {
          {"life", KeyKind::Size, "4K", {}, 0, std::uint64_t{1} << 40},
          {"short", KeyKind::Design, "[slab]"},
          {"long", KeyKind::Design, "none", {"none"}},
          {"rest", KeyKind::Design, "[superblock]"},
      },
      {"mmap"},
      &route_check};
  return s;
}

void route_add_rows(std::vector<RegistryRow>& out) {
  Traits t;
  t.routes = true;
  out.push_back(make_row<Router>("route", t));
}

Router* Router::make(std::uint64_t limit) {
  auto* r = new (std::nothrow) Router();
  if (r != nullptr) r->group_.limit = limit;
  return r;
}

InstanceOptions Router::sub_options(RouteClass c, const InstanceOptions& base) {
  InstanceOptions o = base;
  o.memory_limit = 0;  // the group's limit caps the sum
  o.group = &group_;
  group_.tag = static_cast<std::uint32_t>(c);
  return o;
}

Router* Router::create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
  Router* r = make(opt.memory_limit);
  if (r == nullptr) {
    if (err != nullptr) *err = "route: out of memory";
    return nullptr;
  }
  const char* keys[kRouteClasses] = {"short", "long", "rest"};
  for (std::size_t c = 0; c < kRouteClasses; ++c) {
    const std::string* v = spec.get(keys[c]);
    if (v == nullptr || *v == "none") continue;
    std::string e;
    Instance sub = Instance::create(design_value_text(*v), r->sub_options(static_cast<RouteClass>(c), opt), &e);
    if (!sub) {
      if (err != nullptr) *err = std::string("route: ") + keys[c] + ": " + e;
      delete r;
      return nullptr;
    }
    r->set_sub(static_cast<RouteClass>(c), std::move(sub));
  }
  const std::uint64_t life = spec.get_size("life");
  const bool has_long = static_cast<bool>(r->sub_[static_cast<std::size_t>(RouteClass::Long)]);
  std::vector<std::uint8_t> classes(opt.sites.size(), static_cast<std::uint8_t>(RouteClass::Rest));
  for (std::size_t i = 1; i < opt.sites.size(); ++i)  // site 0 (unknown) stays rest
    classes[i] = static_cast<std::uint8_t>(classify_site(opt.sites[i], life, has_long));
  r->set_classes(std::move(classes));
  return r;
}

void Router::stats(AllocStats* out) const {
  AllocStats sum;
  for (const Instance& s : sub_) {
    if (!s) continue;
    const AllocStats x = s.stats();
    sum.live_requested += x.live_requested;
    sum.allocs += x.allocs;
    sum.frees += x.frees;
    sum.os_calls += x.os_calls;
  }
  sum.footprint = group_.footprint;
  sum.peak_footprint = group_.peak;
  *out = sum;
}

bool Router::validate(ValidateLevel level, std::string* err) const {
  for (std::size_t c = 0; c < kRouteClasses; ++c) {
    if (!sub_[c]) continue;
    std::string e;
    if (!sub_[c].validate(level, &e))
      return fail(err, std::string("route ") + route_class_name(static_cast<RouteClass>(c)) + ": " + e);
  }
  return true;
}

}  // namespace evo
