// evaluate/import/mtrace.cpp — glibc mtrace log importer (see mtrace.hpp).
#include "evaluate/import/mtrace.hpp"

#include "evaluate/import/line_source.hpp"

#include <sys/stat.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace evo {

namespace {

struct SvHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

/// Where imported ops go (a TraceWriter or an in-memory Trace).
struct Sink {
  virtual ~Sink() = default;
  virtual std::uint32_t site(const CallSite& s) = 0;
  virtual void op(OpKind k, std::uint32_t object, std::uint64_t size, std::uint32_t site) = 0;
};

struct WriterSink : Sink {
  TraceWriter& w;
  explicit WriterSink(TraceWriter& w) : w(w) {}
  std::uint32_t site(const CallSite& s) override { return w.add_site(s); }
  void op(OpKind k, std::uint32_t object, std::uint64_t size, std::uint32_t site) override {
    w.op(k, object, size, 0, 0, site);
  }
};

struct TraceSink : Sink {
  Trace& t;
  explicit TraceSink(Trace& t) : t(t) {
    if (t.sites.empty()) t.sites.push_back(CallSite{});
  }
  std::uint32_t site(const CallSite& s) override {
    t.sites.push_back(s);
    return static_cast<std::uint32_t>(t.sites.size() - 1);
  }
  void op(OpKind k, std::uint32_t object, std::uint64_t size, std::uint32_t site) override {
    t.push(k, object, size, 0, 0, site);
  }
};

class Importer {
 public:
  Importer(const std::string& path, Sink& sink) : path_(path), sink_(sink) {}

  ImportStats run() {
    import_detail::LineSource src(path_);
    std::string_view line;
    while (src.next(line)) {
      ++st_.lines;
      parse(line);
    }
    if (pending_) error("log ends after '<' without the matching '>' line");
    st_.objects = next_id_;
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

  std::uint32_t new_id() {
    if (!free_ids_.empty()) {
      std::uint32_t id = free_ids_.back();
      free_ids_.pop_back();
      return id;
    }
    return next_id_++;
  }
  /// Binds addr to a new object (forgetting a still-live object at addr).
  std::uint32_t bind(std::uint64_t addr) {
    std::uint32_t id = new_id();
    auto [it, fresh] = live_.try_emplace(addr, id);
    if (!fresh) {
      ++st_.address_reuse;  // missed free: the old object's slot is leaked
      it->second = id;
    }
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
        std::uint32_t id = bind(addr);
        sink_.op(OpKind::Malloc, id, size, site);
        ++st_.allocs;
        ++st_.ops;
        return;
      }
      case '-': {
        if (!number(s, addr, &nil) || !at_end(s)) malformed(line, "'- ADDR'");
        if (nil) {
          ++st_.free_null;
          return;
        }
        auto it = live_.find(addr);
        if (it == live_.end()) {
          ++st_.unmatched_frees;
          return;
        }
        std::uint32_t id = it->second;
        live_.erase(it);
        free_ids_.push_back(id);
        sink_.op(OpKind::Free, id, 0, site);
        ++st_.frees;
        ++st_.ops;
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
        auto it = live_.find(pending_addr_);
        if (it == live_.end()) {
          ++st_.unmatched_frees;
          std::uint32_t id = bind(addr);
          sink_.op(OpKind::Malloc, id, size, site);
          ++st_.allocs;
          ++st_.ops;
          return;
        }
        std::uint32_t id = it->second;
        if (addr != pending_addr_) {
          live_.erase(it);
          auto [jt, fresh] = live_.try_emplace(addr, id);
          if (!fresh) {
            ++st_.address_reuse;
            jt->second = id;
          }
        }
        sink_.op(OpKind::Realloc, id, size, site);
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
  std::unordered_map<std::uint64_t, std::uint32_t> live_;
  std::unordered_map<std::string, std::uint32_t, SvHash, std::equal_to<>> sites_;
  std::vector<std::uint32_t> free_ids_;
  std::uint32_t next_id_ = 0;
  bool pending_ = false;
  std::uint64_t pending_addr_ = 0;
};

void add_counters(const ImportStats& st, const std::function<void(const char*, std::uint64_t)>& put) {
  put("unmatched_frees", st.unmatched_frees);
  put("free_null", st.free_null);
  put("realloc_null", 0);
  put("realloc_zero", 0);
  put("failed_allocs", st.failed_allocs);
  put("address_reuse", st.address_reuse);
}

std::string base_name(const std::string& p) {
  std::size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

}  // namespace

ImportStats import_mtrace(const std::string& in, const std::string& out, int level) {
  // Write to a temporary name first so a failed import never leaves a half file.
  const std::string tmp = out + ".tmp";
  ImportStats st;
  try {
    TraceWriter w(tmp, false, level);
    w.meta("source", "mtrace:" + base_name(in));
    WriterSink sink(w);
    Importer imp(in, sink);
    st = imp.run();
    add_counters(st, [&](const char* k, std::uint64_t v) { w.counter(k, v); });
    w.close();
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0)
    throw std::runtime_error(out + ": cannot rename from " + tmp + ": " + std::strerror(errno));
  return st;
}

Trace import_mtrace(const std::string& in, ImportStats* stats) {
  Trace t;
  t.meta.emplace_back("source", "mtrace:" + base_name(in));
  TraceSink sink(t);
  Importer imp(in, sink);
  ImportStats st = imp.run();
  add_counters(st, [&](const char* k, std::uint64_t v) { t.counters.emplace_back(k, v); });
  t.objects = std::max(t.objects, st.objects);
  t.finish();
  if (stats != nullptr) *stats = st;
  return t;
}

}  // namespace evo
