// evaluate/import/record_allocs.cpp — Android record_allocs importer (see record_allocs.hpp).
#include "evaluate/import/record_allocs.hpp"

#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "evaluate/import/import_common.hpp"
#include "evaluate/import/line_source.hpp"

namespace evo {

namespace {

using import_detail::Parsed;
using import_detail::Sink;

class Importer {
 public:
  Importer(const std::string& path, Sink& sink) : path_(path), sink_(sink) {}

  Parsed<ImportStats> run() {
    import_detail::for_each_line(path_, st_.lines, [this](std::string_view line) { parse(line); });
    st_.objects = objects_.slots();
    return {st_, realloc_null_, realloc_zero_};
  }

 private:
  [[noreturn]] void malformed(std::string_view line, const std::string& expected) const {
    throw std::runtime_error(path_ + ":" + std::to_string(st_.lines) + ": malformed record_allocs line, expected " +
                             expected + ", got \"" + std::string(line.substr(0, 80)) + "\"");
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

  void op(OpKind k, std::uint32_t id, std::uint64_t size, std::uint8_t align, std::uint16_t thread) {
    sink_.op(k, id, size, align, thread, 0);
    ++st_.ops;
  }

  void parse(std::string_view line) {
    if (line.empty()) return;
    std::size_t colon = line.find(':');
    std::uint64_t tid = 0;
    if (colon == std::string_view::npos || !number(line.substr(0, colon), tid))
      malformed(line, "'TID: ACTION ...'");
    std::string_view s = line.substr(colon + 1);
    std::string_view action = import_detail::next_field(s);
    std::vector<std::uint64_t> args;
    for (std::string_view w = import_detail::next_field(s); !w.empty(); w = import_detail::next_field(s)) {
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
      import_detail::emit_alloc(sink_, objects_, st_, k, ptr, size, align, thread, 0);
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
      import_detail::emit_free(sink_, objects_, st_, args[0], thread, 0);
    } else if (action == "realloc") {
      want(3, "'TID: realloc NEW_PTR OLD_PTR SIZE'");
      const std::uint64_t nw = args[0], old = args[1], size = args[2];
      if (old == 0) {
        ++realloc_null_;
        if (nw == 0) {
          ++st_.failed_allocs;
          return;
        }
        op(OpKind::Realloc, objects_.allocate(nw, st_.address_reuse), size, 0, thread);
        ++st_.reallocs;
        return;
      }
      std::uint32_t id;
      if (!objects_.find(old, id)) {
        ++st_.unmatched_frees;
        if (nw != 0) alloc(OpKind::Malloc, nw, size, 0);
        return;
      }
      if (nw == 0) {
        if (size != 0) {
          ++st_.failed_allocs;
          return;
        }
        ++realloc_zero_;
        objects_.release(old, id);
        op(OpKind::Realloc, id, 0, 0, thread);
        ++st_.reallocs;
        return;
      }
      objects_.move(old, nw, id, st_.address_reuse);
      op(OpKind::Realloc, id, size, 0, thread);
      ++st_.reallocs;
    } else {
      malformed(line, "an action: malloc, calloc, memalign, posix_memalign, aligned_alloc, valloc, pvalloc, "
                      "realloc, free, thread_done");
    }
  }

  std::string path_;
  Sink& sink_;
  ImportStats st_;
  std::uint64_t realloc_null_ = 0, realloc_zero_ = 0;
  import_detail::Objects objects_;
  std::unordered_map<std::uint64_t, std::uint16_t> threads_;
};

}  // namespace

ImportStats import_record_allocs(const std::string& in, const std::string& out, int level) {
  return import_detail::import_to_file<ImportStats>(in, out, level, "record_allocs",
                                                    [&](Sink& sink) { return Importer(in, sink).run(); });
}

Trace import_record_allocs(const std::string& in, ImportStats* stats) {
  return import_detail::import_to_trace(in, stats, "record_allocs",
                                        [&](Sink& sink) { return Importer(in, sink).run(); });
}

}  // namespace evo
