// evaluate/import/mtrace.cpp — glibc mtrace log importer (see mtrace.hpp).
#include "evaluate/import/mtrace.hpp"

#include <functional>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "evaluate/import/import_common.hpp"
#include "evaluate/import/line_source.hpp"

namespace evo {

namespace {

struct SvHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

using import_detail::Sink;

class Importer {
 public:
  Importer(const std::string& path, Sink& sink) : path_(path), sink_(sink) {}

  ImportStats run() {
    import_detail::for_each_line(path_, st_.lines, [this](std::string_view line) { parse(line); });
    if (pending_) error("log ends after '<' without the matching '>' line");
    st_.objects = objects_.slots();
    return st_;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    throw std::runtime_error(path_ + ":" + std::to_string(st_.lines) + ": " + what);
  }
  [[noreturn]] void malformed(std::string_view line, const char* expected) const {
    std::string shown(line.substr(0, 80));
    error(std::string("malformed mtrace line, expected ") + expected + ", got \"" + shown + "\"");
  }

  static void skip_spaces(std::string_view& s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  }
  /// Parses a hex number (optional 0x) or "(nil)" (-> 0, nil = true).
  bool number(std::string_view& s, std::uint64_t& v, bool* nil = nullptr) {
    skip_spaces(s);
    if (s.starts_with("(nil)")) {
      s.remove_prefix(5);
      v = 0;
      if (nil != nullptr) *nil = true;
      return nil != nullptr;
    }
    if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
    std::size_t i = 0;
    v = 0;
    for (; i < s.size(); ++i) {
      char c = s[i];
      int d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else break;
      if (i >= 16) return false;
      v = v << 4 | static_cast<std::uint64_t>(d);
    }
    if (i == 0) return false;
    s.remove_prefix(i);
    return true;
  }
  bool at_end(std::string_view s) {
    skip_spaces(s);
    return s.empty();
  }

  std::uint32_t site_of(std::string_view caller) {
    auto it = sites_.find(caller);
    if (it != sites_.end()) return it->second;
    CallSite cs;
    // caller: FILE:[ADDR] | FILE:(SYM+OFF)[ADDR] | [ADDR]
    std::size_t lb = caller.rfind('[');
    std::string_view head = caller.substr(0, lb);
    std::string_view addr = caller.substr(lb + 1, caller.size() - lb - 2);
    std::uint64_t a = 0;
    if (!number(addr, a)) malformed(caller, "a caller address [0x...]");
    cs.offset = a;
    if (!head.empty() && head.back() == ')') {
      std::size_t lp = head.find(":(");
      if (lp == std::string_view::npos) malformed(caller, "FILE:(SYMBOL+OFF)[ADDR]");
      cs.module = std::string(head.substr(0, lp));
      cs.symbol = std::string(head.substr(lp + 2, head.size() - lp - 3));
    } else if (!head.empty()) {
      if (head.back() == ':') head.remove_suffix(1);
      cs.module = std::string(head);
    }
    std::uint32_t id = sink_.site(cs);
    sites_.emplace(std::string(caller), id);
    ++st_.sites;
    return id;
  }

  void parse(std::string_view line) {
    if (line.empty()) return;
    std::uint32_t site = 0;
    std::string_view s = line;
    if (s.front() == '=') return;  // "= Start", "= End"
    if (s.starts_with("@ ")) {
      std::size_t end = s.find("] ", 2);
      if (end == std::string_view::npos) malformed(line, "'@ CALLER[ADDR] ' before the event");
      std::string_view caller = s.substr(2, end + 1 - 2);
      if (caller.find('[') == std::string_view::npos) malformed(line, "'@ CALLER[ADDR] ' before the event");
      site = site_of(caller);
      s.remove_prefix(end + 2);
    }
    if (s.size() < 2 || s[1] != ' ') malformed(line, "one of '+ ADDR SIZE', '- ADDR', '< ADDR', '> ADDR SIZE', '! ADDR SIZE'");
    char ev = s[0];
    s.remove_prefix(2);
    std::uint64_t addr = 0, size = 0;
    bool nil = false;
    if (pending_ && ev != '>') malformed(line, "'> ADDR SIZE' after a '<' line");
    switch (ev) {
      case '+': {
        if (!number(s, addr, &nil) || !number(s, size) || !at_end(s)) malformed(line, "'+ ADDR SIZE'");
        if (nil) {
          ++st_.failed_allocs;
          return;
        }
        import_detail::emit_alloc(sink_, objects_, st_, OpKind::Malloc, addr, size, 0, 0, site);
        return;
      }
      case '-': {
        if (!number(s, addr, &nil) || !at_end(s)) malformed(line, "'- ADDR'");
        if (nil) {
          ++st_.free_null;
          return;
        }
        import_detail::emit_free(sink_, objects_, st_, addr, 0, site);
        return;
      }
      case '<': {
        if (!number(s, addr) || !at_end(s)) malformed(line, "'< ADDR'");
        pending_ = true;
        pending_addr_ = addr;
        return;
      }
      case '>': {
        if (!pending_) malformed(line, "a '<' line before '> ADDR SIZE'");
        pending_ = false;
        if (!number(s, addr) || !number(s, size) || !at_end(s)) malformed(line, "'> ADDR SIZE'");
        std::uint32_t id;
        if (!objects_.find(pending_addr_, id)) {
          ++st_.unmatched_frees;
          import_detail::emit_alloc(sink_, objects_, st_, OpKind::Malloc, addr, size, 0, 0, site);
          return;
        }
        objects_.move(pending_addr_, addr, id, st_.address_reuse);
        sink_.op(OpKind::Realloc, id, size, 0, 0, site);
        ++st_.reallocs;
        ++st_.ops;
        return;
      }
      case '!': {
        if (!number(s, addr, &nil) || !number(s, size) || !at_end(s)) malformed(line, "'! ADDR SIZE'");
        ++st_.failed_allocs;
        return;
      }
      default:
        malformed(line, "one of '+ ADDR SIZE', '- ADDR', '< ADDR', '> ADDR SIZE', '! ADDR SIZE'");
    }
  }

  std::string path_;
  Sink& sink_;
  ImportStats st_;
  import_detail::Objects objects_;
  std::unordered_map<std::string, std::uint32_t, SvHash, std::equal_to<>> sites_;
  bool pending_ = false;
  std::uint64_t pending_addr_ = 0;
};

}  // namespace

ImportStats import_mtrace(const std::string& in, const std::string& out, int level) {
  return import_detail::import_to_file<ImportStats>(in, out, level, "mtrace", [&](Sink& sink) {
    return import_detail::Parsed<ImportStats>{Importer(in, sink).run()};
  });
}

Trace import_mtrace(const std::string& in, ImportStats* stats) {
  return import_detail::import_to_trace(in, stats, "mtrace", [&](Sink& sink) {
    return import_detail::Parsed<ImportStats>{Importer(in, sink).run()};
  });
}

}  // namespace evo
