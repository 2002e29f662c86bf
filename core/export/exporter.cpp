// core/export/exporter.cpp — design -> C++ text, project files, build.
// See core/export/exporter.hpp for the layout and the contract.
#include "core/export/exporter.hpp"

#include "core/layers/front.hpp"
#include "core/route/router.hpp"

#include <algorithm>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace evo {
namespace {

namespace fs = std::filesystem;

/// One template argument line of the composed type: C++ text + the key it comes from.
struct Layer {
  std::string cpp;
  std::string key;
};

/// How one family becomes C++.
struct FamilyCode {
  std::string include;               ///< header declaring the template (typed route)
  std::string templ;                 ///< template name (typed route; empty = row route)
  std::vector<Layer> layers;         ///< template arguments, derivation order
  std::string row_file;              ///< .cpp of the row route (relative to the source tree)
  std::string row_decl;              ///< the add_rows function of the row route
  std::string row_name;              ///< the row's name as that .cpp registers it
};

const std::string& val(const AllocatorSpec& s, const char* key) {
  static const std::string empty;
  const std::string* v = s.get(key);
  return v ? *v : empty;
}

std::string pick(const std::map<std::string, std::string>& m, const std::string& v, std::string* err,
                 const char* key) {
  auto it = m.find(v);
  if (it == m.end()) {
    if (err) *err = std::string("export: unknown ") + key + "=" + v;
    return {};
  }
  return it->second;
}

const std::map<std::string, std::string> kBins = {{"unordered", "evo::UnorderedBin"},
                                                  {"mtf", "evo::MtfBin"},
                                                  {"fullness-array", "evo::FullnessArrayBin"},
                                                  {"fullness-list", "evo::FullnessListBin"},
                                                  {"fullness-mtf", "evo::FullnessMtfBin"}};
const std::map<std::string, std::string> kPagemaps = {
    {"flat", "evo::FlatPagemap"}, {"radix2", "evo::Radix2Pagemap"}, {"radix3", "evo::Radix3Pagemap"}};
const std::map<std::string, std::string> kCaches = {
    {"none", "evo::NoCache"}, {"eager", "evo::EagerCache"}, {"lazy", "evo::LazyCache"}};
const std::map<std::string, std::string> kAlgs = {{"bump", "evo::BumpAlg"},
                                                  {"reap", "evo::ReapAlg"},
                                                  {"bitmap", "evo::BitmapAlg"},
                                                  {"stack", "evo::StackAlg"},
                                                  {"bumpstack", "evo::BumpStackAlg"}};

bool family_code(const AllocatorSpec& s, FamilyCode& fc, std::string* err) {
  const std::string& f = s.family;
  auto layer = [&](const std::map<std::string, std::string>& m, const char* key) {
    std::string cpp = pick(m, val(s, key), err, key);
    fc.layers.push_back({cpp, std::string(key) + "=" + val(s, key)});
    return !cpp.empty();
  };
  if (f == "superblock") {
    fc.include = "core/superblock/heap.hpp";
    fc.templ = "evo::SuperblockHeap";
    return layer(kBins, "bins") && layer(kAlgs, "alg") && layer(kPagemaps, "pagemap") && layer(kCaches, "cache");
  }
  if (f == "buddy") {
    fc.include = "core/buddy/rows.hpp";
    fc.templ = "evo::buddy::BuddyAlloc";
    return layer(kBins, "bins") && layer(kPagemaps, "pagemap") && layer(kCaches, "cache");
  }
  if (f == "fibbuddy") {  // one row: no template parameters
    fc.include = "core/buddy/fib_heap.hpp";
    fc.templ = "evo::buddy::FibBuddyHeap";
    return true;
  }
  if (f == "slab") {  // one row: no template parameters
    fc.include = "core/simple/slab_alloc.hpp";
    fc.templ = "evo::simple::Slab";
    return true;
  }
  if (f == "block") {
    fc.include = "core/block/block_alloc.hpp";
    fc.templ = "evo::block::BlockAlloc";
    static const std::map<std::string, std::string> fit = {{"first", "false"}, {"best", "true"}};
    static const std::map<std::string, std::string> search = {{"own", "false"}, {"larger", "true"}};
    static const std::map<std::string, std::string> coalesce = {{"none", "evo::block::Coalesce::None"},
                                                                {"immediate", "evo::block::Coalesce::Immediate"},
                                                                {"deferred", "evo::block::Coalesce::Deferred"}};
    static const std::map<std::string, std::string> split = {{"always", "false"}, {"selective", "true"}};
    // BlockAlloc<Best, Larger, Coalesce, Selective>
    bool ok = layer(fit, "fit") && layer(search, "search") && layer(coalesce, "coalesce") && layer(split, "split");
    if (ok) {
      fc.layers[0].cpp += " /* best fit */";
      fc.layers[1].cpp += " /* search larger bins */";
      fc.layers[3].cpp += " /* selective split */";
    }
    return ok;
  }
  struct RowFamily {
    const char* family;
    const char* file;
    const char* decl;
  };
  static const RowFamily kRowFamilies[] = {
      {"minimal", "core/simple/noreuse.cpp", "minimal_add_rows"}, {"pad", "core/simple/noreuse.cpp", "pad_add_rows"},
      {"freelist", "core/simple/textbook.cpp", "freelist_add_rows"},
      {"btag", "core/simple/textbook.cpp", "btag_add_rows"},     {"dlbins", "core/simple/textbook.cpp", "dlbins_add_rows"},
      {"reap", "core/simple/reap_vm.cpp", "reap_add_rows"},       {"vm", "core/simple/reap_vm.cpp", "vm_add_rows"},
      {"fixed", "core/simple/fixed.cpp", "fixed_add_rows"},
  };
  for (const RowFamily& r : kRowFamilies) {
    if (f != r.family) continue;
    fc.row_file = r.file;
    fc.row_decl = r.decl;
    fc.row_name = f == "fixed" ? "fixed fallback=" + val(s, "fallback") : f;
    return true;
  }
  if (f == "route") {  // a row route whose state the runtime assembles (route_design_header)
    fc.row_file = "core/route/router.cpp";
    fc.row_decl = "route_add_rows";
    fc.row_name = "route";
    return true;
  }
  if (err) *err = "export: family '" + f + "' has no export mapping";
  return false;
}

std::string cpp_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string slurp(const fs::path& p, bool* ok) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  *ok = static_cast<bool>(f);
  return ss.str();
}

/// Writes `text` to `p` unless p already holds exactly that text (so a re-export of
/// the same design leaves timestamps alone and the rebuild is a no-op).
bool write_text(const fs::path& p, const std::string& text, std::string* err) {
  bool same = false;
  if (fs::exists(p)) {
    bool ok = false;
    std::string old = slurp(p, &ok);
    same = ok && old == text;
  }
  if (same) return true;
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  std::ofstream f(p, std::ios::binary);
  f << text;
  f.close();
  if (!f) {
    if (err) *err = "export: cannot write " + p.string();
    return false;
  }
  return true;
}

bool copy_file(const fs::path& from, const fs::path& to, std::string* err) {
  bool ok = false;
  std::string text = slurp(from, &ok);
  if (!ok) {
    if (err) *err = "export: cannot read " + from.string() + " (is the source tree complete? set EVOALLOC_SOURCE_DIR)";
    return false;
  }
  return write_text(to, text, err);
}

std::string read_text(const fs::path& p, std::string* err) {
  std::ifstream f(p, std::ios::binary);
  if (!f) {
    if (err) *err = "export: cannot read " + p.string() + " (is the source tree complete? set EVOALLOC_SOURCE_DIR)";
    return {};
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}

}  // namespace

bool valid_export_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  // libNAME.so / libNAME.a must not shadow a system library in `-L DIR -lNAME` links
  // (`-lc` would pick the export and lose __libc_start_main).
  static const char* const kSystem[] = {"c",     "m",      "dl",  "rt",     "pthread", "util", "resolv", "crypt",
                                        "gcc",   "gcc_s",  "atomic", "anl", "nsl",  "mvec",    "BrokenLocale"};
  for (const char* r : kSystem)
    if (name == r) return false;
  return true;
}

std::vector<std::string> export_common_sources() {
  return {"core/source/memory_source.cpp", "core/spec.cpp", "core/sizeclass/size_classes.cpp", "core/block/classes.cpp"};
}

std::vector<std::string> export_core_sources(const AllocatorSpec& spec) {
  std::vector<std::string> v = export_common_sources();
  auto add = [&v](const std::string& f) {
    if (std::find(v.begin(), v.end(), f) == v.end()) v.push_back(f);
  };
  if (const std::string* h = spec.get("harden"); h != nullptr && *h != "off") add("core/layers/harden.cpp");
  FamilyCode fc;
  std::string err;
  if (family_code(spec, fc, &err) && !fc.row_file.empty()) add(fc.row_file);
  if (spec.family == "route") {
    // The router's own create builds sub-designs through Instance::create (unused in
    // the library, which assembles them itself, but linked): instance.cpp and the
    // layers it names. Then the files of the sub-designs' row families.
    for (const char* f : {"core/instance.cpp", "core/layers/front.cpp", "core/layers/harden.cpp"}) add(f);
    for (const char* key : {"short", "long", "rest"}) {
      AllocatorSpec inner;
      const std::string* t = spec.get(key);
      if (t == nullptr || *t == "none" || !parse_spec(design_value_text(*t), inner, &err)) continue;
      FamilyCode ic;
      if (family_code(inner, ic, &err) && !ic.row_file.empty()) add(ic.row_file);
    }
  }
  return v;
}

namespace {

/// One sub-design of a routing design as a struct of design.hpp (see
/// route_design_header); false + *err when it cannot be exported.
bool route_sub_struct(std::ostringstream& o, const char* cls, const char* type, const AllocatorSpec& s,
                      std::string* err) {
  FamilyCode fc;
  if (!family_code(s, fc, err)) return false;
  const std::string harden = s.get("harden") ? *s.get("harden") : "off";
  std::uint32_t bound = 0;
  const std::string front = s.get("front") ? *s.get("front") : "none";
  if (!parse_front(front, bound)) {
    if (err) *err = "export: " + std::string(cls) + "=[...]: front=" + front + ": expected none or tcache:B[:grow][:array]";
    return false;
  }
  o << "// " << cls << "=[" << s.text() << "]\n"
    << "struct " << type << " {\n"
    << "  static constexpr const char* kSentence = " << cpp_string(s.text()) << ";\n"
    << "  static constexpr const char* kFamily = " << cpp_string(s.family) << ";\n"
    << "  static constexpr Param kParams[] = {\n";
  for (const auto& [k, v] : s.params) o << "      {" << cpp_string(k) << ", " << cpp_string(v) << "},\n";
  o << "  };\n"
    << "  static constexpr std::size_t kParamCount = " << s.params.size() << ";\n"
    << "  static constexpr std::uint32_t kFrontBound = " << bound << ";  // front=" << front << "\n"
    << "  static constexpr const char* kHarden = " << cpp_string(harden) << ";\n";
  if (!fc.templ.empty()) {
    o << "  // the allocator class, called through its row (as evaluation calls it)\n"
      << "  using Backend = " << fc.templ << (fc.layers.empty() ? ";\n" : "<");
    for (std::size_t i = 0; i < fc.layers.size(); ++i)
      o << fc.layers[i].cpp << (i + 1 < fc.layers.size() ? ", " : ">;  // ");
    for (std::size_t i = 0; i < fc.layers.size(); ++i) o << fc.layers[i].key << (i + 1 < fc.layers.size() ? " " : "\n");
    o << "  static const evo::RegistryRow* row(std::string*) {\n"
      << "    static const evo::RegistryRow r = evo::make_row<Backend>(kSentence, evo::Traits{});\n"
      << "    return &r;\n  }\n";
  } else {
    o << "  // the row " << fc.row_file << " registers (compiled into this library)\n"
      << "  static const evo::RegistryRow* row(std::string* err) {\n"
      << "    static const std::vector<evo::RegistryRow> rows = [] {\n"
      << "      std::vector<evo::RegistryRow> v;\n      evo::" << fc.row_decl << "(v);\n      return v;\n    }();\n"
      << "    for (const evo::RegistryRow& r : rows)\n      if (r.name == " << cpp_string(fc.row_name)
      << ") return &r;\n"
      << "    if (err != nullptr) *err = \"" << fc.row_file << " registers no row '" << fc.row_name << "'\";\n"
      << "    return nullptr;\n  }\n";
  }
  o << "};\n";
  return true;
}

/// design.hpp's first lines: what it is, the design, where it came from, its scores.
void write_header_comment(std::ostringstream& o, const ExportRequest& req) {
  o << "// design.hpp — the allocator design of lib" << req.name << ", generated by `evoalloc export`.\n"
    << "//\n//   " << req.spec.text() << "\n//\n";
  if (!req.origin.empty()) o << "// From: " << req.origin << "\n";
  if (!req.metrics.empty()) {
    o << "// Scored with (evaluate/metrics.hpp; lower is better for speed, fragmentation, quality):\n";
    for (const auto& [k, v] : req.metrics) o << "//   " << k << " = " << v << "\n";
  }
}

/// kHistogram / kHistogramSize: the trace's size histogram when `fitted` (`why` says
/// what is fitted to it), else one zero entry and size 0.
void write_histogram(std::ostringstream& o, const ExportRequest& req, bool fitted, const std::string& why) {
  o << "// The trace's request-size histogram {size, count}" << (fitted ? " (" + why + ")" : " (unused: no fitted classes)")
    << ".\n"
    << "inline constexpr evo::SizeCount kHistogram[] = {";
  if (fitted) {
    for (std::size_t i = 0; i < req.histogram.size(); ++i)
      o << (i % 6 == 0 ? "\n    " : " ") << "{" << req.histogram[i].size << ", " << req.histogram[i].count << "},";
    o << "\n};\n";
  } else {
    o << "{0, 0}};\n";
  }
  o << "inline constexpr std::size_t kHistogramSize = " << (fitted ? req.histogram.size() : 0) << ";\n";
}

/// The file name of a module path (what the library matches at run time).
std::string module_file(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

/// design.hpp of a routing design: the row route of core/route/router.cpp (its
/// state assembled by evoalloc_runtime.hpp from the structs RouteShort, RouteLong,
/// RouteRest: one per sub-design, each called through its row) and the site table
/// the shim maps return addresses with (export/site_map.hpp).
std::string route_design_header(const ExportRequest& req, std::string* err) {
  const AllocatorSpec& s = req.spec;
  if (!export_thread_model_ok(s, req.threads, err)) {
    if (err) *err = "export: " + *err;
    return {};
  }
  if (req.sites.empty()) {
    if (err)
      *err = "export: a routing design routes the trace's call sites: give the trace (--trace, or --run whose "
             "config names it)";
    return {};
  }
  struct Sub {
    const char* key;
    const char* type;
    AllocatorSpec spec;
    bool present = false;
  };
  Sub subs[3] = {{"short", "RouteShort", {}}, {"long", "RouteLong", {}}, {"rest", "RouteRest", {}}};
  bool fitted = false;
  for (Sub& sub : subs) {
    const std::string* t = s.get(sub.key);
    if (t == nullptr || *t == "none") continue;
    if (!parse_spec(design_value_text(*t), sub.spec, err)) return {};
    sub.present = true;
    const std::string* c = sub.spec.get("classes");
    fitted |= c != nullptr && c->starts_with("fitted:");
  }
  if (fitted && req.histogram.empty()) {
    if (err) *err = "export: a sub-design has fitted classes: give the trace (--trace, or --run whose config names it)";
    return {};
  }
  // The site table: every site the router does not send to rest, sorted by (module, offset).
  const std::uint64_t life = s.get_size("life");
  struct Row {
    std::string module;
    std::uint64_t offset;
    RouteClass cls;
  };
  std::vector<Row> table;
  std::size_t counts[kRouteClasses] = {};
  // operator new: the library's own operator new replaces libstdc++'s, whose one call
  // of malloc the trace saw for every `new`; that site's class (the busiest such site)
  // is the class of every operator new call.
  RouteClass new_class = RouteClass::Rest;
  std::uint64_t new_allocs = 0;
  for (const ExportSite& site : req.sites) {
    const RouteClass c = classify_site(site.life, life, subs[1].present);
    ++counts[static_cast<std::size_t>(c)];
    if (c != RouteClass::Rest && !site.module.empty()) table.push_back({module_file(site.module), site.offset, c});
    if (module_file(site.module).starts_with("libstdc++") && site.symbol.starts_with("operator new") &&
        site.life.allocs > new_allocs) {
      new_allocs = site.life.allocs;
      new_class = c;
    }
  }
  std::sort(table.begin(), table.end(),
            [](const Row& a, const Row& b) { return a.module != b.module ? a.module < b.module : a.offset < b.offset; });
  table.erase(std::unique(table.begin(), table.end(),
                          [](const Row& a, const Row& b) { return a.module == b.module && a.offset == b.offset; }),
              table.end());

  std::ostringstream o;
  write_header_comment(o, req);
  o << "// Thread model: lock (one global lock around one instance; shim.cpp).\n"
    << "// A routing design (core/route/router.hpp): " << counts[0] << " short-lived, " << counts[1]
    << " long-lived and " << counts[2] << " other sites in the trace;\n"
    << "// the library finds a call's site from its return address (export/site_map.hpp).\n"
    << "// Read by evoalloc_runtime.hpp, which builds the instance from these constants.\n"
    << "#pragma once\n\n#include <cstddef>\n#include <cstdint>\n#include <string>\n#include <vector>\n\n"
    << "#include \"core/adapter.hpp\"\n#include \"core/registry.hpp\"\n#include \"core/route/router.hpp\"\n";
  std::vector<std::string> includes;
  for (const Sub& sub : subs) {
    FamilyCode fc;
    if (sub.present && family_code(sub.spec, fc, err) && !fc.templ.empty() &&
        std::find(includes.begin(), includes.end(), fc.include) == includes.end())
      includes.push_back(fc.include);
  }
  for (const std::string& inc : includes) o << "#include \"" << inc << "\"\n";
  o << "\nnamespace evo {\n";
  std::vector<std::string> decls;
  for (const Sub& sub : subs) {
    FamilyCode fc;
    if (sub.present && family_code(sub.spec, fc, err) && fc.templ.empty() &&
        std::find(decls.begin(), decls.end(), fc.row_decl) == decls.end())
      decls.push_back(fc.row_decl);
  }
  for (const std::string& d : decls) o << "void " << d << "(std::vector<RegistryRow>& out);\n";
  o << "}  // namespace evo\n\nnamespace evo_export {\n\n"
    << "inline constexpr const char* kName = " << cpp_string(req.name) << ";\n"
    << "inline constexpr const char* kSentence = " << cpp_string(s.text()) << ";\n"
    << "inline constexpr const char* kFamily = \"route\";\n"
    << "inline constexpr bool kConcurrentUsableSize = false;\n\n"
    << "#define EVO_EXPORT_ROW_ROUTE 1\n"
    << "#define EVO_EXPORT_ROUTE 1  // the state is assembled by evoalloc_runtime.hpp (make_router)\n"
    << "inline constexpr void (*kAddRows)(std::vector<evo::RegistryRow>&) = &evo::route_add_rows;\n"
    << "inline constexpr const char* kRowName = \"route\";\n\n"
    << "struct Param {\n  const char* key;\n  const char* value;\n};\n"
    << "inline constexpr Param kParams[] = {\n";
  for (const auto& [k, v] : s.params) o << "    {" << cpp_string(k) << ", " << cpp_string(v) << "},\n";
  o << "};\ninline constexpr std::size_t kParamCount = " << s.params.size() << ";\n";
  const std::string harden = s.get("harden") ? *s.get("harden") : "off";
  o << "inline constexpr const char* kHarden = " << cpp_string(harden) << ";\n";
  if (harden != "off") o << "#define EVO_EXPORT_HARDEN 1  // the hardening layer wraps the router\n";
  const std::string front = s.get("front") ? *s.get("front") : "none";
  std::uint32_t front_bound = 0;
  if (!parse_front(front, front_bound)) {
    if (err) *err = "export: front=" + front + ": expected none or tcache:B[:grow][:array]";
    return {};
  }
  if (front_bound != 0)
    o << "#define EVO_EXPORT_FRONT 1  // the cache front end wraps the router (core/layers/front.hpp)\n"
      << "inline constexpr std::uint32_t kFrontBound = " << front_bound << ";  // front=" << front << "\n";
  o << "\n";
  write_histogram(o, req, fitted, "a sub-design's fitted classes are fitted to it");
  o << "\n";
  o << "// The sub-designs, each built through its row with the router's memory group.\n";
  for (const Sub& sub : subs) {
    if (!sub.present) continue;
    if (!route_sub_struct(o, sub.key, sub.type, sub.spec, err)) return {};
  }
  if (subs[1].present) o << "#define EVO_EXPORT_ROUTE_LONG 1\n";
  o << "\n// The sites that do not go to the rest class: {module file, offset in it, class}\n"
    << "// (class: 0 short, 1 long; core/route/router.hpp), sorted by module then offset.\n"
    << "struct RouteSite {\n  const char* module;\n  std::uint64_t offset;\n  std::uint8_t cls;\n};\n"
    << "inline constexpr RouteSite kRouteSites[] = {\n";
  for (const Row& r : table)
    o << "    {" << cpp_string(r.module) << ", 0x" << std::hex << r.offset << std::dec << ", "
      << static_cast<int>(r.cls) << "},  // " << route_class_name(r.cls) << "\n";
  if (table.empty()) o << "    {\"\", 0, 2},\n";
  o << "};\ninline constexpr std::size_t kRouteSiteCount = " << table.size() << ";\n"
    << "// operator new's route_site value (1 + class, 0 rest): the class of libstdc++'s malloc call in\n"
    << "// operator new, which the trace saw for every new (" << route_class_name(new_class) << ").\n"
    << "inline constexpr std::uint32_t kRouteNewSite = "
    << (new_class == RouteClass::Rest ? 0 : 1 + static_cast<int>(new_class)) << ";\n\n"
    << "}  // namespace evo_export\n";
  return o.str();
}


bool export_thread_model_ok(const AllocatorSpec& spec, const std::string& threads, std::string* err) {
  if (threads != "lock" && threads != "tlh" && threads != "tcache") {
    if (err)
      *err = "--threads " + threads +
             ": expected lock (one global lock), tlh (thread-local heaps) or tcache (per-thread caches over one heap)";
    return false;
  }
  if (spec.family == "route" && threads != "lock") {
    if (err)
      *err = "--threads " + threads +
             ": a routing design exports under the lock model for now (one router, its sub-designs behind one "
             "lock); use --threads lock";
    return false;
  }
  if (threads == "tcache") {
    ThreadCacheSplit split;
    if (!split_thread_cache(spec, &split, err)) {
      if (err) *err = "--threads tcache: " + *err;
      return false;
    }
  }
  return true;
}

std::string export_design_header(const ExportRequest& req, std::string* err) {
  const AllocatorSpec& s = req.spec;
  if (s.family == "route") return route_design_header(req, err);
  FamilyCode fc;
  if (!family_code(s, fc, err)) return {};
  const std::string& classes = val(s, "classes");
  bool fitted = classes.starts_with("fitted:");
  if (fitted && req.histogram.empty()) {
    if (err)
      *err = "export: classes=" + classes + " is fitted to a trace: give the trace (--trace, or --run whose config names it)";
    return {};
  }
  if (!export_thread_model_ok(s, req.threads, err)) {
    if (err) *err = "export: " + *err;
    return {};
  }
  const RegistryRow* row = find_row(s, err);
  if (row == nullptr) return {};
  std::ostringstream o;
  write_header_comment(o, req);
  o << "// Thread model: " << req.threads
    << (req.threads == "tlh"      ? " (thread-local heaps, one instance per thread, remote frees to the owner heap"
        : req.threads == "tcache" ? " (the front cache in every thread over one shared instance"
                                  : " (one global lock around one instance")
    << "; shim.cpp). The CMake project's EVOALLOC_THREADS=lock|tlh|tcache selects it.\n"
    << "// Read by evoalloc_runtime.hpp, which builds the instance from these constants.\n"
    << "#pragma once\n\n#include <cstddef>\n\n#include \"core/registry.hpp\"\n";
  if (!fc.templ.empty()) o << "#include \"" << fc.include << "\"\n";
  const std::string front = s.get("front") ? *s.get("front") : "none";
  std::uint32_t front_bound = 0;
  if (!parse_front(front, front_bound)) {
    if (err) *err = "export: front=" + front + ": expected none or tcache:B[:grow][:array]";
    return {};
  }
  if (front_bound != 0) o << "#include \"core/layers/front.hpp\"\n";
  o << "\nnamespace evo_export {\n\n";
  o << "inline constexpr const char* kName = " << cpp_string(req.name) << ";\n";
  o << "inline constexpr const char* kSentence = " << cpp_string(s.text()) << ";\n";
  o << "inline constexpr const char* kFamily = " << cpp_string(s.family) << ";\n";
  o << "// The row's usable_size may run beside other calls (Traits::concurrent_usable_size).\n"
    << "inline constexpr bool kConcurrentUsableSize = " << (row->traits.concurrent_usable_size ? "true" : "false")
    << ";\n\n";
  if (!fc.templ.empty()) {
    o << "#define EVO_EXPORT_TYPED 1\n"
      << "// The composed allocator, one layer a line, in derivation order.\n"
      << "using " << (front_bound != 0 ? "Backend" : "Design") << " = " << fc.templ
      << (fc.layers.empty() ? ";\n" : "<\n");
    for (std::size_t i = 0; i < fc.layers.size(); ++i)
      o << "    " << fc.layers[i].cpp << (i + 1 < fc.layers.size() ? "," : ">;") << "  // " << fc.layers[i].key
        << "\n";
    if (front_bound != 0)
      o << "using Design = evo::FrontCache<evo::TypedBack<Backend>>;  // front=" << front
        << " (core/layers/front.hpp)\n";
  } else {
    o << "#define EVO_EXPORT_ROW_ROUTE 1\n"
      << "// The allocator class is private to " << fc.row_file << " (compiled into this library):\n"
      << "// the row that file registers is used (same code, one indirect call per request).\n"
      << "}  // namespace evo_export\nnamespace evo {\nvoid " << fc.row_decl
      << "(std::vector<RegistryRow>& out);\n}  // namespace evo\nnamespace evo_export {\n"
      << "inline constexpr void (*kAddRows)(std::vector<evo::RegistryRow>&) = &evo::" << fc.row_decl << ";\n"
      << "inline constexpr const char* kRowName = " << cpp_string(fc.row_name) << ";\n";
  }
  o << "\n// Parameters (the instance's numeric state, read by the design's create()).\n"
    << "struct Param {\n  const char* key;\n  const char* value;\n};\n"
    << "inline constexpr Param kParams[] = {\n";
  for (const auto& [k, v] : s.params) o << "    {" << cpp_string(k) << ", " << cpp_string(v) << "},\n";
  if (s.params.empty()) o << "    {\"\", \"\"},\n";
  o << "};\ninline constexpr std::size_t kParamCount = " << s.params.size() << ";\n";
  const std::string harden = s.get("harden") ? *s.get("harden") : "off";
  o << "inline constexpr const char* kHarden = " << cpp_string(harden) << ";\n";
  if (harden != "off") o << "#define EVO_EXPORT_HARDEN 1  // the hardening layer wraps the design (core/layers/harden.hpp)\n";
  if (front_bound != 0)
    o << "#define EVO_EXPORT_FRONT 1  // the cache front end (core/layers/front.hpp)\n"
      << "inline constexpr std::uint32_t kFrontBound = " << front_bound << ";  // front=" << front << "\n";
  o << "\n";
  write_histogram(o, req, fitted, "classes=" + classes + " are fitted to it");
  o << "\n"
    << "}  // namespace evo_export\n";
  return o.str();
}

bool write_export(const ExportRequest& req, std::string* err) {
  if (!valid_export_name(req.name)) {
    if (err) *err = "export: --name '" + req.name + "' must match [A-Za-z_][A-Za-z0-9_]* (at most 64 chars) and not be a system library's name (c, m, dl, pthread, ...)";
    return false;
  }
  std::string header = export_design_header(req, err);
  if (header.empty()) return false;
  const fs::path src(req.source_dir), out(req.out_dir);
  std::error_code ec;
  fs::create_directories(out / "include", ec);
  fs::create_directories(out / "src", ec);
  if (ec || !fs::is_directory(out)) {
    if (err) *err = "export: cannot create " + out.string() + (ec ? ": " + ec.message() : "");
    return false;
  }
  if (!fs::is_directory(src / "core") || !fs::is_directory(src / "export")) {
    if (err) *err = "export: " + src.string() + " is not the evoalloc source tree (needs core/ and export/)";
    return false;
  }
  if (!write_text(out / "design.hpp", header, err)) return false;
  // Every core header (small; the design's includes pull a subset).
  for (const auto& e : fs::recursive_directory_iterator(src / "core", ec)) {
    if (!e.is_regular_file() || e.path().extension() != ".hpp") continue;
    if (!copy_file(e.path(), out / "include" / fs::relative(e.path(), src), err)) return false;
  }
  for (const char* h : {"evoalloc_runtime.hpp", "evoalloc_pmr.hpp", "ops_replay.hpp", "site_map.hpp"})
    if (!copy_file(src / "export" / h, out / "include" / h, err)) return false;
  // design.hpp is included as "design.hpp" from include/: keep one copy there too.
  if (!write_text(out / "include" / "design.hpp", header, err)) return false;
  for (const char* c : {"shim.cpp", "registry_stub.cpp", "replay_driver.cpp", "source_hook.cpp"})
    if (!copy_file(src / "export" / c, out / "src" / c, err)) return false;
  std::string sources, common;
  const std::vector<std::string> shared = export_common_sources();
  for (const std::string& c : export_core_sources(req.spec)) {
    if (!copy_file(src / c, out / "src" / c, err)) return false;
    const bool is_common = std::find(shared.begin(), shared.end(), c) != shared.end();
    (is_common ? common : sources) += (is_common ? "    src/" : "  src/") + c + "\n";
  }
  std::string cmake = read_text(src / "export" / "CMakeLists.txt.in", err);
  if (cmake.empty()) return false;
  replace_all(cmake, "@NAME@", req.name);
  replace_all(cmake, "@THREADS@", req.threads);
  replace_all(cmake, "@COMMON_SOURCES@", common.substr(0, common.size() - 1));
  replace_all(cmake, "@SOURCES@\n", sources);
  return write_text(out / "CMakeLists.txt", cmake, err);
}

namespace {

/// `s` quoted for sh -c.
std::string shell_quote(const std::string& s) {
  std::string r = "'";
  for (char c : s) {
    if (c == '\'') r += "'\\''";
    else r += c;
  }
  return r + "'";
}

/// Runs cmake (when `project` has no build yet) and ninja on `project`, appending to
/// project/build.log; `targets`: ninja's target list (empty: all).
bool configure_and_build(const fs::path& project, int jobs, const std::string& targets, std::string* err) {
  const std::string log = (project / "build.log").string();
  const fs::path build = project / "build";
  std::string cmd;
  if (!fs::exists(build / "build.ninja"))
    cmd = "cmake -S " + shell_quote(project.string()) + " -B " + shell_quote(build.string()) +
          " -G Ninja -DCMAKE_BUILD_TYPE=Release > " + shell_quote(log) + " 2>&1 && ";
  cmd += "ninja -C " + shell_quote(build.string()) + " -j" + std::to_string(jobs < 1 ? 1 : jobs) + targets + " >> " +
         shell_quote(log) + " 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    if (err) *err = "export: building failed (see " + log + ")";
    return false;
  }
  return true;
}

}  // namespace

bool build_export(const std::string& out_dir, int jobs, std::string* err) {
  return configure_and_build(fs::path(out_dir), jobs, "", err);
}

bool build_exports(const std::vector<ExportRequest>& exports, const std::string& project_dir, int jobs,
                   bool shared_only, std::string* err) {
  if (exports.empty()) {
    if (err) *err = "export: no exports to build";
    return false;
  }
  const fs::path proj(project_dir);
  const std::string first = fs::absolute(exports.front().out_dir).string();
  std::string cmake =
      "# generated by evoalloc (build_exports): the exports below built as one project,\n"
      "# the sources they all share compiled once\n"
      "cmake_minimum_required(VERSION 3.20)\nproject(evoalloc_exports LANGUAGES CXX)\n"
      "set(CMAKE_CXX_STANDARD 20)\nset(CMAKE_POSITION_INDEPENDENT_CODE ON)\n"
      "set(CMAKE_CXX_VISIBILITY_PRESET hidden)\nset(CMAKE_VISIBILITY_INLINES_HIDDEN ON)\n"
      "add_compile_definitions(EVOALLOC_NO_PROBE=1)\n"
      "add_library(evoalloc_export_common OBJECT";
  for (const std::string& c : export_common_sources()) cmake += " \"" + first + "/src/" + c + "\"";
  cmake += " \"" + first + "/src/registry_stub.cpp\"";  // design-independent too
  cmake += ")\ntarget_include_directories(evoalloc_export_common PRIVATE \"" + first + "/include\")\n" +
           "set_source_files_properties(\"" + first +
           "/src/core/source/memory_source.cpp\" PROPERTIES COMPILE_DEFINITIONS mmap=evo_export_source_mmap)\n";
  std::string targets;  // each export's shared library target is its name (export/CMakeLists.txt.in)
  for (const ExportRequest& e : exports) {
    cmake += "add_subdirectory(\"" + fs::absolute(e.out_dir).string() + "\" " + e.name + ")\n";
    if (shared_only) targets += " " + shell_quote(e.name);
  }
  return write_text(proj / "CMakeLists.txt", cmake, err) && configure_and_build(proj, jobs, targets, err);
}

}  // namespace evo
