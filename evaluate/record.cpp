// evaluate/record.cpp — raw recorder files -> traces (see record.hpp).
#include "evaluate/record.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>
#include <unordered_map>

#include "evaluate/elf_symbols.hpp"
#include "evaluate/recorder/raw_format.hpp"
#include "evaluate/trace.hpp"

namespace evo {

namespace {

struct File {
  std::FILE* f;
  explicit File(const std::string& path) : f(std::fopen(path.c_str(), "rb")) {
    if (f == nullptr) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  }
  ~File() { std::fclose(f); }
};

struct Mapping {
  std::uint64_t start, end, offset;
  std::string path;
};

/// Live address -> object id: open addressing with linear probing and
/// backward-shift deletion (addresses are never 0, which marks an empty cell).
/// The converter looks up every event, so this beats std::unordered_map's nodes.
class AddrMap {
 public:
  AddrMap() { rehash(1 << 12); }
  std::uint32_t* find(std::uint64_t key) {
    for (std::size_t i = slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return &vals_[i];
      if (keys_[i] == 0) return nullptr;
    }
  }
  /// Inserts or overwrites; returns true if the key was new.
  bool put(std::uint64_t key, std::uint32_t v) {
    if ((size_ + 1) * 2 > keys_.size()) rehash(keys_.size() * 2);
    std::size_t i = slot(key);
    for (; keys_[i] != 0; i = (i + 1) & mask_)
      if (keys_[i] == key) {
        vals_[i] = v;
        return false;
      }
    keys_[i] = key;
    vals_[i] = v;
    ++size_;
    return true;
  }
  void erase(std::uint64_t key) {
    std::size_t i = slot(key);
    while (keys_[i] != key) {
      if (keys_[i] == 0) return;
      i = (i + 1) & mask_;
    }
    // Shift back the following entries whose home slot is at or before the hole.
    for (std::size_t j = (i + 1) & mask_; keys_[j] != 0; j = (j + 1) & mask_) {
      std::size_t home = slot(keys_[j]);
      if (((j - home) & mask_) >= ((j - i) & mask_)) {
        keys_[i] = keys_[j];
        vals_[i] = vals_[j];
        i = j;
      }
    }
    keys_[i] = 0;
    --size_;
  }

 private:
  std::size_t slot(std::uint64_t k) const { return static_cast<std::size_t>((k >> 4) * 0x9E3779B97F4A7C15ull >> 20) & mask_; }
  void rehash(std::size_t cap) {
    std::vector<std::uint64_t> k(cap, 0);
    std::vector<std::uint32_t> v(cap, 0);
    k.swap(keys_);
    v.swap(vals_);
    mask_ = cap - 1;
    size_ = 0;
    for (std::size_t i = 0; i < k.size(); ++i)
      if (k[i] != 0) put(k[i], v[i]);
  }
  std::vector<std::uint64_t> keys_;
  std::vector<std::uint32_t> vals_;
  std::size_t mask_ = 0, size_ = 0;
};

std::vector<Mapping> parse_maps(const std::string& text) {
  std::vector<Mapping> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    unsigned long long s = 0, e = 0, off = 0;
    char perms[8] = {};
    int used = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %*s %n", &s, &e, perms, &off, &used) < 4 || used == 0)
      continue;
    std::string path = line.substr(static_cast<std::size_t>(used));
    if (path.empty() || path[0] != '/') continue;
    out.push_back({s, e, off, path});
  }
  std::sort(out.begin(), out.end(), [](const Mapping& a, const Mapping& b) { return a.start < b.start; });
  return out;
}

}  // namespace

RawFileInfo raw_file_info(const std::string& path) {
  File f(path);
  raw::RawFileHeader h{};
  if (std::fread(&h, sizeof h, 1, f.f) != 1 || std::memcmp(h.magic, raw::kFileMagic, 8) != 0)
    throw std::runtime_error(path + ": not an evoalloc recorder file (bad magic)");
  return {path, h.pid, h.ppid, h.start_ns};
}

std::vector<RawFileInfo> list_raw_files(const std::string& dir) {
  std::vector<RawFileInfo> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) throw std::runtime_error(dir + ": cannot open directory: " + std::strerror(errno));
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind("rec-", 0) == 0 && name.size() > 4 && name.substr(name.size() - 4) == ".raw") {
      try {
        out.push_back(raw_file_info(dir + "/" + name));
      } catch (const std::exception&) {
        // a file whose header never got written: nothing was recorded in it
      }
    }
  }
  closedir(d);
  std::sort(out.begin(), out.end(), [](const RawFileInfo& a, const RawFileInfo& b) { return a.start_ns < b.start_ns; });
  return out;
}

RawConvertStats convert_raw(const std::string& raw_path, const std::string& out, const std::string& program, int level) {
  RawConvertStats st;
  RawFileInfo info = raw_file_info(raw_path);
  std::vector<raw::RawEvent> ev;
  std::vector<std::uint32_t> ev_thread;
  std::string maps;
  {
    File f(raw_path);
    std::fseek(f.f, sizeof(raw::RawFileHeader), SEEK_SET);
    for (;;) {
      raw::RawBlockHeader h{};
      std::size_t got = std::fread(&h, 1, sizeof h, f.f);
      if (got == 0) break;
      if (got < sizeof h) {
        st.truncated_tail = true;
        break;
      }
      if (h.magic != raw::kBlockMagic) throw std::runtime_error(raw_path + ": corrupt block header");
      if (h.kind == raw::kRawEnd) {
        st.ended = true;
        continue;
      }
      if (h.kind == raw::kRawMaps) {
        std::string text(h.count, '\0');
        if (std::fread(text.data(), 1, h.count, f.f) != h.count) {
          st.truncated_tail = true;
          break;
        }
        maps = std::move(text);
        continue;
      }
      if (h.kind != raw::kRawEvents || h.count > (1u << 24)) throw std::runtime_error(raw_path + ": corrupt block header");
      std::size_t old = ev.size();
      ev.resize(old + h.count);
      std::size_t n = std::fread(ev.data() + old, sizeof(raw::RawEvent), h.count, f.f);
      if (n != h.count) {
        ev.resize(old);  // a partial block is dropped whole
        st.truncated_tail = true;
        break;
      }
      ev_thread.resize(ev.size(), h.thread);
    }
  }
  st.events = ev.size();
  // Merge threads by sequence number.
  std::vector<std::uint32_t> order(ev.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  auto by_seq = [&](std::uint32_t a, std::uint32_t b) { return ev[a].seq < ev[b].seq; };
  if (!std::is_sorted(order.begin(), order.end(), by_seq)) std::sort(order.begin(), order.end(), by_seq);

  const std::vector<Mapping> mappings = parse_maps(maps);
  st.have_maps = !mappings.empty();
  TraceWriter w(out + ".tmp", false, level);
  w.meta("program", program);
  w.meta("source", "record");
  w.meta("pid", std::to_string(info.pid));
  std::unordered_map<std::uint64_t, std::uint32_t> sites;        // caller address -> site id
  std::unordered_map<std::uint32_t, std::uint16_t> threads;      // recorder thread -> dense
  AddrMap live;                                                   // address -> object
  std::vector<std::uint32_t> free_ids;
  std::uint32_t next_id = 0;
  auto new_id = [&] {
    if (!free_ids.empty()) {
      std::uint32_t id = free_ids.back();
      free_ids.pop_back();
      return id;
    }
    return next_id++;
  };
  auto bind = [&](std::uint64_t addr) {
    std::uint32_t id = new_id();
    if (!live.put(addr, id)) ++st.address_reuse;
    return id;
  };
  SymbolResolver symbols;  // each module's ELF symbol tables, read once
  std::uint64_t last_caller = 0;
  std::uint32_t last_site = 0;
  auto site_of = [&](std::uint64_t caller) -> std::uint32_t {
    if (caller == last_caller) return last_site;  // callers repeat in runs
    last_caller = caller;
    auto it = sites.find(caller);
    if (it != sites.end()) return last_site = it->second;
    CallSite cs;
    cs.offset = caller;
    auto m = std::upper_bound(mappings.begin(), mappings.end(), caller,
                              [](std::uint64_t a, const Mapping& mp) { return a < mp.start; });
    if (m != mappings.begin()) {
      --m;
      if (caller < m->end) {
        cs.module = m->path;
        cs.offset = caller - m->start + m->offset;
        // a return address: the call instruction is the byte before it
        if (cs.offset > 0) cs.symbol = symbols.function_at(cs.module, cs.offset - 1);
      }
    }
    std::uint32_t id = w.add_site(cs);
    sites.emplace(caller, id);
    ++st.sites;
    if (!cs.symbol.empty()) ++st.sites_with_symbol;
    return last_site = id;
  };
  for (std::uint32_t i : order) {
    const raw::RawEvent& e = ev[i];
    // Dense thread ids in order of each thread's first op (dropped calls do not count).
    auto thread_of = [&, raw_thread = ev_thread[i]]() -> std::uint16_t {
      auto [it, fresh] = threads.try_emplace(raw_thread, static_cast<std::uint16_t>(threads.size()));
      (void)fresh;
      return it->second;
    };
    if (e.kind >= kOpKinds) throw std::runtime_error(raw_path + ": corrupt event (kind " + std::to_string(e.kind) + ")");
    const auto kind = static_cast<OpKind>(e.kind);
    if (kind == OpKind::Free) {
      if (e.old == 0) {
        ++st.free_null;
        continue;
      }
      std::uint32_t* found = live.find(e.old);
      if (found == nullptr) {
        ++st.unmatched_frees;
        continue;
      }
      std::uint32_t id = *found;
      live.erase(e.old);
      free_ids.push_back(id);
      w.op(OpKind::Free, id, 0, 0, thread_of(), site_of(e.caller));
      ++st.ops;
    } else if (kind == OpKind::Realloc) {
      if (e.old == 0) {
        ++st.realloc_null;
        if (e.ptr == 0) {
          ++st.failed_allocs;
          continue;
        }
        w.op(OpKind::Realloc, bind(e.ptr), e.size, 0, thread_of(), site_of(e.caller));
        ++st.ops;
        continue;
      }
      std::uint32_t* found = live.find(e.old);
      if (found == nullptr) {
        ++st.unmatched_frees;
        if (e.ptr != 0) {
          w.op(OpKind::Malloc, bind(e.ptr), e.size, 0, thread_of(), site_of(e.caller));
          ++st.ops;
        }
        continue;
      }
      std::uint32_t id = *found;
      if (e.ptr == 0) {
        if (e.size != 0) {
          ++st.failed_allocs;
          continue;
        }
        ++st.realloc_zero;
        live.erase(e.old);
        free_ids.push_back(id);
        w.op(OpKind::Realloc, id, 0, 0, thread_of(), site_of(e.caller));
        ++st.ops;
        continue;
      }
      if (e.ptr != e.old) {
        live.erase(e.old);
        if (!live.put(e.ptr, id)) ++st.address_reuse;
      }
      w.op(OpKind::Realloc, id, e.size, 0, thread_of(), site_of(e.caller));
      ++st.ops;
    } else {
      if (e.ptr == 0) {
        ++st.failed_allocs;
        continue;
      }
      w.op(kind, bind(e.ptr), e.size, e.align_log2, thread_of(), site_of(e.caller));
      ++st.ops;
    }
  }
  w.counter("unmatched_frees", st.unmatched_frees);
  w.counter("free_null", st.free_null);
  w.counter("realloc_null", st.realloc_null);
  w.counter("realloc_zero", st.realloc_zero);
  w.counter("failed_allocs", st.failed_allocs);
  w.counter("address_reuse", st.address_reuse);
  w.close();
  if (std::rename((out + ".tmp").c_str(), out.c_str()) != 0)
    throw std::runtime_error(out + ": cannot rename: " + std::strerror(errno));
  st.threads = static_cast<std::uint32_t>(threads.size());
  st.objects = next_id;
  return st;
}

std::string find_recorder(const std::string& exe) {
  if (const char* env = std::getenv("EVOALLOC_RECORDER"); env != nullptr && *env != '\0') return env;
  const std::string dir = exe.substr(0, exe.rfind('/') == std::string::npos ? 0 : exe.rfind('/'));
  for (const std::string& cand : {dir + "/libevoalloc_recorder.so", dir + "/../evaluate/recorder/libevoalloc_recorder.so",
                                  dir + "/../lib/libevoalloc_recorder.so"}) {
    struct stat st {};
    if (::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return cand;
  }
  return {};
}

}  // namespace evo
