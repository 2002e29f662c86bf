// evaluate/elf_symbols.hpp — a module's file offset -> the function containing it.
//
// The recorder stores each call site as module path + *file offset* (caller
// address - mapping start + mapping's file offset, see record.hpp). SymbolResolver
// turns that into the name of the function that contains it, reading the
// module's own ELF64 symbol tables: .symtab when the file has one, else .dynsym
// (exported functions only). The offset is mapped to a virtual address through
// the PT_LOAD segment that holds it, then matched against the function symbols
// (STT_FUNC / STT_GNU_IFUNC, defined, size > 0) whose [value, value + size)
// contains it. C++ names are demangled (abi::__cxa_demangle); when several
// symbols share an address, a global one is preferred over a weak, then a local.
//
// Each module is read once (ELF header, program and section headers, one symbol
// table and its string table; the code itself is never read) and cached, so a
// resolver is meant to live for one conversion. Not thread-safe.
//
// Errors: none thrown. A module that is missing, unreadable, not ELF64
// little-endian, stripped of both tables, or an offset outside every function,
// all give "" (symbol unknown). Separate debug files (/usr/lib/debug) are not
// consulted.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace evo {

class SymbolResolver {
 public:
  SymbolResolver();
  ~SymbolResolver();
  SymbolResolver(const SymbolResolver&) = delete;
  SymbolResolver& operator=(const SymbolResolver&) = delete;

  /// Demangled name of the function containing byte `file_offset` of the ELF
  /// file `module`; "" when unknown. For a *return address* (what the recorder
  /// stores) pass offset - 1: the call instruction lies before it.
  std::string function_at(const std::string& module, std::uint64_t file_offset);

  /// Number of modules read so far (each is read at most once).
  std::size_t modules_read() const { return cache_.size(); }

  struct Module;  ///< one module's load segments and function symbols (internal)

 private:
  std::map<std::string, std::unique_ptr<Module>> cache_;
};

/// Demangles a C++ symbol name; returns it unchanged when it is not mangled.
std::string demangle(const std::string& name);

}  // namespace evo
