// evaluate/import/record_allocs.cpp — Android record_allocs importer (see record_allocs.hpp).
#include "evaluate/import/record_allocs.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "evaluate/import/line_source.hpp"

namespace evo {

namespace {

using Emit = std::function<void(OpKind, std::uint32_t, std::uint64_t, std::uint8_t, std::uint16_t)>;

class Importer {
 public:
  Importer(const std::string& path, Emit emit) : path_(path), emit_(std::move(emit)) {}

  ImportStats run() {
    import_detail::LineSource src(path_);
    std::string_view line;
    while (src.next(line)) {
      ++st_.lines;
      parse(line);
    }
    st_.objects = next_id_;
    return st_;
  }
  std::uint32_t threads() const { return static_cast<std::uint32_t>(threads_.size()); }

 private:
  [[noreturn]] void malformed(std::string_view line, const std::string& expected) const {
    throw std::runtime_error(path_ + ":" + std::to_string(st_.lines) + ": malformed record_allocs line, expected " +
                             expected + ", got \"" + std::string(line.substr(0, 80)) + "\"");
  }
  static std::string_view word(std::string_view& s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    std::size_t e = s.find(' ');
    std::string_view w = s.substr(0, e);
    s.remove_prefix(e == std::string_view::npos ? s.size() : e);
    return w;
  }
  static bool number(std::string_view w, std::uint64_t& v) {
    int base = 10;
    if (w.starts_with("0x") || w.starts_with("0X")) {
      base = 16;
      w.remove_prefix(2);
    }
    if (w.empty() || w.size() > (base == 16 ? 16u : 20u)) return false;
    v = 0;
    for (char c : w) {
      int d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else return false;
      if (__builtin_mul_overflow(v, static_cast<std::uint64_t>(base), &v) ||
          __builtin_add_overflow(v, static_cast<std::uint64_t>(d), &v))
        return false;
    }
    return true;
  }

  std::uint32_t new_id() {
    if (!free_ids_.empty()) {
      std::uint32_t id = free_ids_.back();
      free_ids_.pop_back();
      return id;
    }
    return next_id_++;
  }
  std::uint32_t bind(std::uint64_t addr, std::uint32_t id) {
    auto [it, fresh] = live_.try_emplace(addr, id);
    if (!fresh) {
      ++st_.address_reuse;
      it->second = id;
    }
    return id;
  }
  void op(OpKind k, std::uint32_t id, std::uint64_t size, std::uint8_t align, std::uint16_t thread) {
    emit_(k, id, size, align, thread);
    ++st_.ops;
  }

  void parse(std::string_view line) {
    if (line.empty()) return;
    std::size_t colon = line.find(':');
    std::uint64_t tid = 0;
    if (colon == std::string_view::npos || !number(line.substr(0, colon), tid))
      malformed(line, "'TID: ACTION ...'");
    std::string_view s = line.substr(colon + 1);
    std::string_view action = word(s);
    std::vector<std::uint64_t> args;
    for (std::string_view w = word(s); !w.empty(); w = word(s)) {
      std::uint64_t v;
      if (!number(w, v)) malformed(line, "numbers after '" + std::string(action) + "'");
      args.push_back(v);
    }
    auto want = [&](std::size_t n, const std::string& form) {
      if (args.size() != n && args.size() != n + 2) malformed(line, form);  // + optional start/end times
    };
    if (action == "thread_done") return;
    auto [tit, fresh] = threads_.try_emplace(tid, static_cast<std::uint16_t>(threads_.size()));
    (void)fresh;
    const std::uint16_t thread = tit->second;
    auto alloc = [&](OpKind k, std::uint64_t ptr, std::uint64_t size, std::uint8_t align) {
      if (ptr == 0) {
        ++st_.failed_allocs;
        return;
      }
      op(k, bind(ptr, new_id()), size, align, thread);
      ++st_.allocs;
    };
    auto log2 = [](std::uint64_t a) {
      std::uint8_t l = 0;
      while ((std::uint64_t{1} << l) < a && l < 40) ++l;
      return l;
    };
    if (action == "malloc") {
      want(2, "'TID: malloc PTR SIZE'");
      alloc(OpKind::Malloc, args[0], args[1], 0);
    } else if (action == "calloc") {
      want(3, "'TID: calloc PTR NMEMB SIZE'");
      std::uint64_t total;
      if (__builtin_mul_overflow(args[1], args[2], &total)) malformed(line, "NMEMB*SIZE below 2^64");
      alloc(OpKind::Calloc, args[0], total, 0);
    } else if (action == "memalign" || action == "posix_memalign" || action == "aligned_alloc") {
      want(3, "'TID: " + std::string(action) + " PTR ALIGN SIZE'");
      OpKind k = action == "memalign" ? OpKind::Memalign
                 : action == "posix_memalign" ? OpKind::PosixMemalign : OpKind::AlignedAlloc;
      alloc(k, args[0], args[2], log2(args[1]));
    } else if (action == "valloc" || action == "pvalloc") {
      want(2, "'TID: " + std::string(action) + " PTR SIZE'");
      alloc(action == "valloc" ? OpKind::Valloc : OpKind::Pvalloc, args[0], args[1], 12);
    } else if (action == "free") {
      want(1, "'TID: free PTR'");
      if (args[0] == 0) {
        ++st_.free_null;
        return;
      }
      auto it = live_.find(args[0]);
      if (it == live_.end()) {
        ++st_.unmatched_frees;
        return;
      }
      std::uint32_t id = it->second;
      live_.erase(it);
      free_ids_.push_back(id);
      op(OpKind::Free, id, 0, 0, thread);
      ++st_.frees;
    } else if (action == "realloc") {
      want(3, "'TID: realloc NEW_PTR OLD_PTR SIZE'");
      const std::uint64_t nw = args[0], old = args[1], size = args[2];
      if (old == 0) {
        ++realloc_null_;
        if (nw == 0) {
          ++st_.failed_allocs;
          return;
        }
        op(OpKind::Realloc, bind(nw, new_id()), size, 0, thread);
        ++st_.reallocs;
        return;
      }
      auto it = live_.find(old);
      if (it == live_.end()) {
        ++st_.unmatched_frees;
        if (nw != 0) alloc(OpKind::Malloc, nw, size, 0);
        return;
      }
      std::uint32_t id = it->second;
      if (nw == 0) {
        if (size != 0) {
          ++st_.failed_allocs;
          return;
        }
        ++realloc_zero_;
        live_.erase(it);
        free_ids_.push_back(id);
        op(OpKind::Realloc, id, 0, 0, thread);
        ++st_.reallocs;
        return;
      }
      if (nw != old) {
        live_.erase(it);
        bind(nw, id);
      }
      op(OpKind::Realloc, id, size, 0, thread);
      ++st_.reallocs;
    } else {
      malformed(line, "an action: malloc, calloc, memalign, posix_memalign, aligned_alloc, valloc, pvalloc, "
                      "realloc, free, thread_done");
    }
  }

 public:
  std::uint64_t realloc_null_ = 0, realloc_zero_ = 0;

 private:
  std::string path_;
  Emit emit_;
  ImportStats st_;
  std::unordered_map<std::uint64_t, std::uint32_t> live_;
  std::unordered_map<std::uint64_t, std::uint16_t> threads_;
  std::vector<std::uint32_t> free_ids_;
  std::uint32_t next_id_ = 0;
};

template <class Put>
void put_counters(const ImportStats& st, const Importer& imp, Put put) {
  put("unmatched_frees", st.unmatched_frees);
  put("free_null", st.free_null);
  put("realloc_null", imp.realloc_null_);
  put("realloc_zero", imp.realloc_zero_);
  put("failed_allocs", st.failed_allocs);
  put("address_reuse", st.address_reuse);
}

std::string base_name(const std::string& p) {
  std::size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

}  // namespace

ImportStats import_record_allocs(const std::string& in, const std::string& out, int level) {
  const std::string tmp = out + ".tmp";
  ImportStats st;
  try {
    TraceWriter w(tmp, false, level);
    w.meta("source", "record_allocs:" + base_name(in));
    Importer imp(in, [&](OpKind k, std::uint32_t o, std::uint64_t s, std::uint8_t a, std::uint16_t t) {
      w.op(k, o, s, a, t, 0);
    });
    st = imp.run();
    put_counters(st, imp, [&](const char* k, std::uint64_t v) { w.counter(k, v); });
    w.close();
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0)
    throw std::runtime_error(out + ": cannot rename from " + tmp + ": " + std::strerror(errno));
  return st;
}

Trace import_record_allocs(const std::string& in, ImportStats* stats) {
  Trace t;
  t.meta.emplace_back("source", "record_allocs:" + base_name(in));
  Importer imp(in, [&](OpKind k, std::uint32_t o, std::uint64_t s, std::uint8_t a, std::uint16_t th) {
    t.push(k, o, s, a, th, 0);
  });
  ImportStats st = imp.run();
  put_counters(st, imp, [&](const char* k, std::uint64_t v) { t.counters.emplace_back(k, v); });
  t.finish();
  if (stats != nullptr) *stats = st;
  return t;
}

}  // namespace evo
