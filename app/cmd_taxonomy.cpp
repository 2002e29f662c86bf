// app/cmd_taxonomy.cpp — `evoalloc taxonomy`: the registry's designs.
//
//   evoalloc taxonomy              families, their row counts, keys and defaults
//   evoalloc taxonomy --list       one row a line: id TAB canonical text (usable with --allocator)
//   evoalloc taxonomy --count      the number of rows
//   evoalloc taxonomy --json       JSON: {"count", "families": [...], "rows": [{id, name, family, traits}]}
//   --family F                     restrict to one family
#include <iostream>
#include <string>

#include "app/cli.hpp"
#include "core/registry.hpp"

namespace evo::cli {
namespace {

std::string json_str(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string key_text(const KeySchema& k) {
  std::string v;
  switch (k.kind) {
    case KeyKind::Choice:
      for (std::size_t i = 0; i < k.choices.size(); ++i) {
        if (i != 0) v += '|';
        v += k.choices[i];
      }
      break;
    case KeyKind::Size:
      v = std::string(k.power_of_two ? "POW2SIZE(" : "SIZE(") + format_size(k.min) + ".." + format_size(k.max) + ")";
      break;
    case KeyKind::Integer: v = "INT(" + std::to_string(k.min) + ".." + std::to_string(k.max) + ")"; break;
    case KeyKind::SizeList: v = "SIZE,SIZE,..."; break;
    case KeyKind::ClassScheme: v = "jemalloc|pow2|linear:STEP|fitted:K"; break;
    case KeyKind::Design:
      for (auto c : k.choices) v += std::string(c) + '|';
      v += "[DESIGN]";
      break;
  }
  std::string out(k.key);
  out += '=';
  out += v;
  if (k.optional) {
    out += " [optional]";
  } else {
    out += " [";
    out += k.default_value;
    out += ']';
  }
  if (k.discrete) out += " *";
  return out;
}

}  // namespace

int cmd_taxonomy(const std::vector<std::string>& args) {
  po::options_description desc("options");
  desc.add_options()("list", "one design a line: id, a tab, its canonical text")(
      "count", "print the number of rows")("json", "JSON output with the traits of every row")(
      "family", po::value<std::string>(), "only this family");
  po::variables_map vm;
  if (!parse(args, desc, nullptr, 0, vm, "evoalloc taxonomy [--list] [--count] [--json] [--family F]",
             "Lists the allocator designs compiled into this build (the registry's jump table).\n"
             "Each row is one discrete combination of a family's choices; numeric keys are set\n"
             "per instance. The canonical text of a row is usable as is with --allocator."))
    return kExitOk;
  std::string family = vm.count("family") ? vm["family"].as<std::string>() : "";
  if (!family.empty() && find_family(family) == nullptr) throw UsageError("unknown family '" + family + "'");
  auto selected = [&](std::string_view f) { return family.empty() || f == family; };
  std::size_t count = 0;
  for (const RegistryRow& r : rows()) count += selected(r.family);

  if (vm.count("json")) {
    std::cout << "{\"count\": " << count << ", \"families\": [";
    bool first = true;
    for (const FamilySchema& f : families()) {
      if (!selected(f.family)) continue;
      std::cout << (first ? "" : ", ") << "{\"family\": " << json_str(f.family)
                << ", \"summary\": " << json_str(f.summary) << ", \"keys\": [";
      first = false;
      for (std::size_t i = 0; i < f.keys.size(); ++i)
        std::cout << (i ? ", " : "") << "{\"key\": " << json_str(f.keys[i].key)
                  << ", \"default\": " << json_str(f.keys[i].default_value)
                  << ", \"discrete\": " << (f.keys[i].discrete ? "true" : "false") << "}";
      std::cout << "]}";
    }
    std::cout << "]";
    if (!vm.count("count")) {
      std::cout << ", \"rows\": [";
      first = true;
      for (const RegistryRow& r : rows()) {
        if (!selected(r.family)) continue;
        std::cout << (first ? "\n  " : ",\n  ") << "{\"id\": " << r.id << ", \"name\": " << json_str(r.name)
                  << ", \"family\": " << json_str(r.family) << ", \"traits\": {\"min_align\": " << r.traits.min_align
                  << ", \"reuses_memory\": " << (r.traits.reuses_memory ? "true" : "false")
                  << ", \"needs_header\": " << (r.traits.needs_header ? "true" : "false")
                  << ", \"needs_region\": " << (r.traits.needs_region ? "true" : "false")
                  << ", \"coalesces\": " << (r.traits.coalesces ? "true" : "false") << "}}";
        first = false;
      }
      std::cout << "\n]";
    }
    std::cout << "}\n";
    return kExitOk;
  }
  if (vm.count("count")) {
    std::cout << count << '\n';
    return kExitOk;
  }
  if (vm.count("list")) {
    for (const RegistryRow& r : rows())
      if (selected(r.family)) std::cout << r.id << '\t' << r.name << '\n';
    return kExitOk;
  }
  for (const FamilySchema& f : families()) {
    if (!selected(f.family)) continue;
    std::size_t n = 0;
    for (const RegistryRow& r : rows()) n += (r.family == f.family);
    std::cout << f.family << "  (" << n << " rows)  " << f.summary << '\n';
    for (const KeySchema& k : f.keys) std::cout << "    " << key_text(k) << '\n';
  }
  std::cout << "common keys (every family, last):";
  for (const KeySchema& k : common_keys()) std::cout << ' ' << key_text(k);
  std::cout << "\n(* = discrete: selects the compiled row; [default])\n" << count << " rows\n";
  return kExitOk;
}

}  // namespace evo::cli
