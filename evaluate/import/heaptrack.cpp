// evaluate/import/heaptrack.cpp — heaptrack raw data importer (see heaptrack.hpp).
#include "evaluate/import/heaptrack.hpp"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "evaluate/elf_symbols.hpp"
#include "evaluate/import/import_common.hpp"
#include "evaluate/import/line_source.hpp"

namespace evo {

namespace {

using import_detail::Sink;

constexpr std::uint32_t kNoModule = std::numeric_limits<std::uint32_t>::max();

/// One PT_LOAD program header: [vaddr, vaddr + memsz) in memory, file bytes
/// [offset, offset + filesz).
struct LoadSegment {
  std::uint64_t vaddr, memsz, offset, filesz;
};

/// The PT_LOAD headers of the ELF64 little-endian file `path`; empty when it
/// cannot be read or is not one.
std::vector<LoadSegment> read_load_segments(const std::string& path) {
  std::vector<LoadSegment> out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  auto read_at = [fd](void* p, std::size_t n, std::uint64_t off) {
    return ::pread(fd, p, n, static_cast<off_t>(off)) == static_cast<ssize_t>(n);
  };
  Elf64_Ehdr eh{};
  if (read_at(&eh, sizeof eh, 0) && std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
      eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_ident[EI_DATA] == ELFDATA2LSB &&
      eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 4096) {
    std::vector<Elf64_Phdr> ph(eh.e_phnum);
    if (read_at(ph.data(), ph.size() * sizeof(Elf64_Phdr), eh.e_phoff))
      for (const Elf64_Phdr& h : ph)
        if (h.p_type == PT_LOAD) out.push_back({h.p_vaddr, h.p_memsz, h.p_offset, h.p_filesz});
  }
  ::close(fd);
  return out;
}

class Importer {
 public:
  Importer(const std::string& path, Sink& sink) : path_(path), sink_(sink) {}

  HeaptrackStats run() {
    import_detail::for_each_line(path_, st_.lines, [this](std::string_view line) { parse(line); });
    st_.objects = objects_.slots();
    st_.trace_nodes = nodes_.size();
    return st_;
  }

 private:
  /// A backtrace node, its IP already resolved against the modules of its time.
  struct Node {
    std::uint32_t module;  ///< index into module_paths_, or kNoModule (offset = absolute IP)
    std::uint64_t offset;
  };
  /// One loaded segment [start, end) of module `module` loaded at `base`.
  struct Segment {
    std::uint64_t start, end, base;
    std::uint32_t module;
  };
  struct SiteKey {
    std::uint32_t module;
    std::uint64_t offset;
    bool operator==(const SiteKey&) const = default;
  };
  struct SiteKeyHash {
    std::size_t operator()(const SiteKey& k) const {
      return std::hash<std::uint64_t>{}(k.offset * 0x9e3779b97f4a7c15ULL ^ k.module);
    }
  };

  [[noreturn]] void malformed(std::string_view line, const std::string& expected) const {
    throw std::runtime_error(path_ + ":" + std::to_string(st_.lines) + ": malformed heaptrack line, expected " +
                             expected + ", got \"" + std::string(line.substr(0, 80)) + "\"");
  }

  /// Next space-separated field ("" at the end).
  static std::string_view field(std::string_view& s) { return import_detail::next_field(s); }
  /// A hexadecimal number of 1..16 digits (an optional 0x is accepted).
  static bool hex(std::string_view f, std::uint64_t& v) {
    if (f.starts_with("0x") || f.starts_with("0X")) f.remove_prefix(2);
    if (f.empty() || f.size() > 16) return false;
    v = 0;
    for (char c : f) {
      int d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else return false;
      v = v << 4 | static_cast<std::uint64_t>(d);
    }
    return true;
  }
  /// Reads exactly `n` hex fields from `s` and requires the line to end there.
  bool fields(std::string_view s, std::uint64_t* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      if (!hex(field(s), out[i])) return false;
    return field(s).empty();
  }
  /// A line whose numbers are not used: malformed (expected `form`) unless it holds
  /// exactly `n` hex fields.
  void expect_fields(std::string_view line, std::string_view s, std::size_t n, const char* form) {
    std::uint64_t v[3];
    if (!fields(s, v, n)) malformed(line, form);
  }

  std::uint32_t module_index(std::string_view path) {
    std::string p(path);
    if (p == "x" && !exe_.empty()) p = exe_;  // "x" names the main executable
    auto [it, fresh] = module_ids_.try_emplace(p, static_cast<std::uint32_t>(module_paths_.size()));
    if (fresh) {
      module_paths_.push_back(p);
      modules_.emplace_back();
    }
    return it->second;
  }

  /// The function containing virtual address `vaddr` of module `m`, from the
  /// module's ELF file, but only when the file's PT_LOAD segments are exactly
  /// those heaptrack listed (same vaddr and memsz): a file rebuilt since, or
  /// another machine's, gives "" rather than a wrong name.
  std::string symbol_at(std::uint32_t m, std::uint64_t vaddr) {
    ModuleInfo& mi = modules_[m];
    if (!mi.checked) {
      mi.checked = true;
      std::vector<LoadSegment> file = read_load_segments(module_paths_[m]);
      mi.matches = !file.empty() && file.size() == mi.listed.size();
      for (std::size_t i = 0; mi.matches && i < file.size(); ++i)
        mi.matches = file[i].vaddr == mi.listed[i].first && file[i].memsz == mi.listed[i].second;
      if (mi.matches) mi.load = std::move(file);
      else ++st_.modules_not_matched;
    }
    if (!mi.matches) return {};
    for (const LoadSegment& l : mi.load)
      if (vaddr >= l.vaddr && vaddr - l.vaddr < l.filesz) return symbols_.function_at(module_paths_[m], l.offset + (vaddr - l.vaddr));
    return {};
  }

  /// Heaptrack's IPs are return addresses minus one (inside the call instruction):
  /// the module is found with the IP itself, the site keeps the return address.
  Node resolve(std::uint64_t ip) const {
    auto it = std::upper_bound(segments_.begin(), segments_.end(), ip,
                               [](std::uint64_t a, const Segment& s) { return a < s.start; });
    if (it != segments_.begin()) {
      --it;
      if (ip < it->end) return {it->module, ip + 1 - it->base};
    }
    return {kNoModule, ip + 1};
  }

  std::uint32_t site_of(std::uint64_t trace) {
    if (trace == 0) return 0;
    const Node& n = nodes_[trace - 1];
    SiteKey key{n.module, n.offset};
    auto it = sites_.find(key);
    if (it != sites_.end()) return it->second;
    CallSite cs;
    cs.offset = n.offset;
    if (n.module != kNoModule) {
      cs.module = module_paths_[n.module];
      // The call instruction lies before the return address.
      if (n.offset > 0) cs.symbol = symbol_at(n.module, n.offset - 1);
      st_.sites_with_symbol += !cs.symbol.empty();
    } else {
      ++st_.unresolved_sites;
    }
    std::uint32_t id = sink_.site(cs);
    sites_.emplace(key, id);
    ++st_.sites;
    return id;
  }

  void parse_module(std::string_view line, std::string_view s) {
    const char* form = "'m LEN PATH BASE [VADDR MEMSZ]...' or 'm 1 -'";
    std::uint64_t len = 0;
    if (!hex(field(s), len) || s.empty() || s.front() != ' ' || len == 0 || len > s.size() - 1) malformed(line, form);
    std::string_view path = s.substr(1, len);
    s.remove_prefix(1 + len);
    if (!s.empty() && s.front() != ' ') malformed(line, form);
    if (path == "-") {
      if (!field(s).empty()) malformed(line, "nothing after 'm 1 -'");
      segments_.clear();
      ++st_.module_resets;
      return;
    }
    std::uint64_t base = 0;
    if (!hex(field(s), base)) malformed(line, form);
    const std::uint32_t m = module_index(path);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> listed;
    for (std::string_view f = field(s); !f.empty(); f = field(s)) {
      std::uint64_t vaddr = 0, memsz = 0;
      if (!hex(f, vaddr) || !hex(field(s), memsz)) malformed(line, form);
      listed.emplace_back(vaddr, memsz);
      Segment seg{base + vaddr, base + vaddr + memsz, base, m};
      if (seg.start < base || seg.end < seg.start) malformed(line, "segments inside the address space");
      auto at = std::upper_bound(segments_.begin(), segments_.end(), seg.start,
                                 [](std::uint64_t a, const Segment& x) { return a < x.start; });
      segments_.insert(at, seg);
    }
    if (!modules_[m].checked) modules_[m].listed = std::move(listed);
  }

  void parse(std::string_view line) {
    if (line.empty()) return;
    if (line.size() > 1 && line[1] != ' ') malformed(line, "a one-character line kind followed by a space");
    const char kind = line[0];
    std::string_view s = line.substr(1);
    std::uint64_t v[3] = {0, 0, 0};
    switch (kind) {
      case '+': {
        if (!fields(s, v, 3)) {
          std::string_view probe = s;
          std::uint64_t one = 0;
          if (hex(field(probe), one) && field(probe).empty())
            malformed(line, "'+ SIZE TRACE PTR' (this looks like an interpreted heaptrack file: record with heaptrack -r)");
          malformed(line, "'+ SIZE TRACE PTR'");
        }
        const std::uint64_t size = v[0], trace = v[1], ptr = v[2];
        if (trace > nodes_.size()) malformed(line, "TRACE naming a 't' node defined earlier (at most " + std::to_string(nodes_.size()) + ")");
        if (ptr == 0) {
          ++st_.failed_allocs;
          return;
        }
        const std::uint32_t site = site_of(trace);
        import_detail::emit_alloc(sink_, objects_, st_, OpKind::Malloc, ptr, size, 0, 0, site);
        return;
      }
      case '-': {
        if (!fields(s, v, 1)) malformed(line, "'- PTR'");
        if (v[0] == 0) {
          ++st_.free_null;
          return;
        }
        import_detail::emit_free(sink_, objects_, st_, v[0], 0, 0);
        return;
      }
      case 't': {
        if (!fields(s, v, 2)) malformed(line, "'t IP PARENT'");
        if (v[1] > nodes_.size()) malformed(line, "PARENT naming an earlier 't' node or 0");
        nodes_.push_back(resolve(v[0]));
        return;
      }
      case 'm':
        parse_module(line, s);
        return;
      case 'x': {
        std::uint64_t len = 0;
        if (!hex(field(s), len) || len == 0 || s.size() < 2 || s.size() - 1 != len)
          malformed(line, "'x LEN EXE' (LEN = length of EXE)");
        exe_ = std::string(s.substr(1));
        sink_.meta("program", exe_);
        return;
      }
      case 'X':
        sink_.meta("command", s.empty() ? s : s.substr(1));
        return;
      case 'v': return expect_fields(line, s, 2, "'v VERSION FILEVERSION'");
      case 'I': return expect_fields(line, s, 2, "'I PAGESIZE PAGES'");
      case 'c': return expect_fields(line, s, 1, "'c TIMESTAMP'");
      case 'R': return expect_fields(line, s, 1, "'R RSS'");
      case 'A':
        if (!field(s).empty()) malformed(line, "'A' alone");
        return;
      default:
        if (kind == ' ') malformed(line, "a line kind in the first column");
        ++st_.unknown_lines;
        return;
    }
  }

  std::string path_;
  Sink& sink_;
  HeaptrackStats st_;
  std::string exe_;
  std::vector<Node> nodes_;
  std::vector<Segment> segments_;  ///< modules in effect, sorted by start
  /// What is known of a module's file (symbols are read lazily, once).
  struct ModuleInfo {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> listed;  ///< heaptrack's (VADDR, MEMSZ)
    std::vector<LoadSegment> load;                                ///< the file's, when they match
    bool checked = false, matches = false;
  };
  std::vector<std::string> module_paths_;
  std::vector<ModuleInfo> modules_;  ///< by module index
  SymbolResolver symbols_;
  std::unordered_map<std::string, std::uint32_t> module_ids_;
  std::unordered_map<SiteKey, std::uint32_t, SiteKeyHash> sites_;
  import_detail::Objects objects_;
};

}  // namespace

HeaptrackStats import_heaptrack(const std::string& in, const std::string& out, int level) {
  return import_detail::import_to_file<HeaptrackStats>(in, out, level, "heaptrack", [&](Sink& sink) {
    return import_detail::Parsed<HeaptrackStats>{Importer(in, sink).run()};
  });
}

Trace import_heaptrack(const std::string& in, HeaptrackStats* stats) {
  return import_detail::import_to_trace(in, stats, "heaptrack", [&](Sink& sink) {
    return import_detail::Parsed<HeaptrackStats>{Importer(in, sink).run()};
  });
}

}  // namespace evo
