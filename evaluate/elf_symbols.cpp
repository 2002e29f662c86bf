// evaluate/elf_symbols.cpp — a small ELF64 symbol-table reader (see elf_symbols.hpp).
#include "evaluate/elf_symbols.hpp"

#include <cxxabi.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace evo {

struct SymbolResolver::Module {
  struct Segment {
    std::uint64_t offset, filesz, vaddr;
  };
  struct Func {
    std::uint64_t value, size;
    std::uint32_t name;  // offset in strtab
    int rank;            // 0 global, 1 weak, 2 local: lower wins at equal value
  };
  std::vector<Segment> segments;
  std::vector<Func> funcs;  // sorted by value, then rank
  std::string strtab;
  std::map<std::uint64_t, std::string> demangled;  // by function value
};

namespace {

/// Reads exactly `n` bytes at `off`; false on a short read or error.
bool read_at(int fd, std::uint64_t file_size, std::uint64_t off, void* out, std::uint64_t n) {
  if (off > file_size || n > file_size - off) return false;
  auto* p = static_cast<char*>(out);
  while (n > 0) {
    ssize_t got = ::pread(fd, p, n, static_cast<off_t>(off));
    if (got <= 0) return false;
    p += got;
    off += static_cast<std::uint64_t>(got);
    n -= static_cast<std::uint64_t>(got);
  }
  return true;
}

struct Fd {
  int fd;
  explicit Fd(const std::string& path) : fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

/// Fills `m` from the file; leaves it empty when anything is missing or malformed.
void load(const std::string& path, SymbolResolver::Module& m) {
  Fd f(path);
  if (f.fd < 0) return;
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  Elf64_Ehdr eh{};
  if (!read_at(f.fd, size, 0, &eh, sizeof eh)) return;
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return;
  // Load segments: file offset -> virtual address.
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum == PN_XNUM) return;
  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  if (!read_at(f.fd, size, eh.e_phoff, ph.data(), ph.size() * sizeof(Elf64_Phdr))) return;
  std::vector<SymbolResolver::Module::Segment> segs;
  for (const Elf64_Phdr& p : ph)
    if (p.p_type == PT_LOAD && p.p_filesz > 0) segs.push_back({p.p_offset, p.p_filesz, p.p_vaddr});
  if (segs.empty()) return;
  // Section headers: the symbol table (.symtab, else .dynsym) and its strings.
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0) return;
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  if (!read_at(f.fd, size, eh.e_shoff, sh.data(), sh.size() * sizeof(Elf64_Shdr))) return;
  const Elf64_Shdr* symtab = nullptr;
  for (const Elf64_Shdr& s : sh)
    if (s.sh_type == SHT_SYMTAB) symtab = &s;
  if (symtab == nullptr)
    for (const Elf64_Shdr& s : sh)
      if (s.sh_type == SHT_DYNSYM) symtab = &s;
  if (symtab == nullptr || symtab->sh_link >= sh.size() || symtab->sh_entsize != sizeof(Elf64_Sym)) return;
  const Elf64_Shdr& strs = sh[symtab->sh_link];
  if (strs.sh_type != SHT_STRTAB || symtab->sh_size > size || strs.sh_size > size) return;
  std::vector<Elf64_Sym> syms(symtab->sh_size / sizeof(Elf64_Sym));
  if (!read_at(f.fd, size, symtab->sh_offset, syms.data(), syms.size() * sizeof(Elf64_Sym))) return;
  std::string strtab(strs.sh_size, '\0');
  if (!read_at(f.fd, size, strs.sh_offset, strtab.data(), strtab.size())) return;
  std::vector<SymbolResolver::Module::Func> funcs;
  for (const Elf64_Sym& s : syms) {
    const unsigned type = ELF64_ST_TYPE(s.st_info);
    if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s.st_shndx == SHN_UNDEF || s.st_size == 0 ||
        s.st_name == 0 || s.st_name >= strtab.size())
      continue;
    const unsigned bind = ELF64_ST_BIND(s.st_info);
    funcs.push_back({s.st_value, s.st_size, s.st_name, bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2});
  }
  std::sort(funcs.begin(), funcs.end(), [](const auto& a, const auto& b) {
    return a.value != b.value ? a.value < b.value : a.rank < b.rank;
  });
  m.segments = std::move(segs);
  m.funcs = std::move(funcs);
  m.strtab = std::move(strtab);
}

}  // namespace

std::string demangle(const std::string& name) {
  if (name.rfind("_Z", 0) != 0) return name;
  int status = 0;
  char* d = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  if (status != 0 || d == nullptr) {
    std::free(d);
    return name;
  }
  std::string out(d);
  std::free(d);
  return out;
}

SymbolResolver::SymbolResolver() = default;
SymbolResolver::~SymbolResolver() = default;

std::string SymbolResolver::function_at(const std::string& module, std::uint64_t file_offset) {
  if (module.empty()) return {};
  auto it = cache_.find(module);
  if (it == cache_.end()) {
    auto m = std::make_unique<Module>();
    load(module, *m);
    it = cache_.emplace(module, std::move(m)).first;
  }
  Module& m = *it->second;
  // file offset -> virtual address through the load segment holding it
  const Module::Segment* seg = nullptr;
  for (const Module::Segment& s : m.segments)
    if (file_offset >= s.offset && file_offset - s.offset < s.filesz) seg = &s;
  if (seg == nullptr) return {};
  const std::uint64_t addr = file_offset - seg->offset + seg->vaddr;
  // The function whose [value, value + size) holds addr: functions may nest
  // (rarely), so scan back from the last one starting at or before addr.
  auto up = std::upper_bound(m.funcs.begin(), m.funcs.end(), addr,
                             [](std::uint64_t a, const Module::Func& f) { return a < f.value; });
  // Going back, values descend and, at one value, ranks too: the last match at
  // the first matching value is the preferred alias.
  const Module::Func* best = nullptr;
  int scanned = 0;
  for (auto f = up; f != m.funcs.begin() && scanned < 64; ++scanned) {
    --f;
    if (best != nullptr && f->value != best->value) break;
    if (addr - f->value < f->size) best = &*f;
  }
  if (best == nullptr) return {};
  auto d = m.demangled.find(best->value);
  if (d == m.demangled.end()) d = m.demangled.emplace(best->value, demangle(m.strtab.c_str() + best->name)).first;
  return d->second;
}

}  // namespace evo
