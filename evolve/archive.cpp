#include "evolve/archive.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>

namespace evo {

const ArchiveEntry* Archive::find(std::string_view sentence) const {
  auto it = index_.find(std::string(sentence));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::size_t Archive::add(ArchiveEntry e) {
  const std::size_t i = entries_.size();
  index_.emplace(e.sentence, i);
  entries_.push_back(std::move(e));
  return i;
}

Fitness fitness_of(const Metrics& m) {
  Fitness f;
  if (!m.valid) {
    f.violation = 2;
    return f;
  }
  if (!m.feasible) {
    f.violation = 1 + (1 - std::clamp(m.completed, 0.0, 1.0));
    return f;
  }
  f.obj = m.objectives();
  for (double x : f.obj)
    if (!std::isfinite(x)) {
      f.obj = {};
      f.violation = 2;
      return f;
    }
  return f;
}

std::vector<std::size_t> Archive::front() const {
  std::vector<std::size_t> cand;
  for (std::size_t i = 0; i < entries_.size(); ++i)
    if (fitness_of(entries_[i].metrics).feasible()) cand.push_back(i);
  auto obj = [&](std::size_t i) { return entries_[i].metrics.objectives(); };
  std::stable_sort(cand.begin(), cand.end(), [&](std::size_t a, std::size_t b) { return obj(a) < obj(b); });
  // Sorted lexicographically: a point can only be dominated by an earlier one.
  std::vector<std::size_t> out;
  for (std::size_t i : cand) {
    Fitness fi;
    fi.obj = obj(i);
    bool keep = true;
    for (std::size_t j : out) {
      Fitness fj;
      fj.obj = obj(j);
      if (dominates(fj, fi) || fj.obj == fi.obj) {
        keep = false;
        break;
      }
    }
    if (keep) out.push_back(i);
  }
  return out;
}

std::string csv_quote(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += (c == '\n' || c == '\r') ? ' ' : c;
  }
  o += '"';
  return o;
}

std::vector<std::string> csv_split(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cur += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(std::move(cur));
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(std::move(cur));
  return out;
}

std::string format_double(double x) {
  if (std::isnan(x)) return "nan";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

namespace {

// The Metrics fields in CSV order, each with a writer and a reader.
struct Field {
  const char* name;
  std::string (*get)(const Metrics&);
  bool (*set)(Metrics&, const std::string&);
};

bool read_double(const std::string& s, double& x) {
  if (s == "nan") {
    x = Metrics::kNaN;
    return true;
  }
  char* end = nullptr;
  x = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size();
}
bool read_u64(const std::string& s, std::uint64_t& x) {
  char* end = nullptr;
  x = std::strtoull(s.c_str(), &end, 10);
  return !s.empty() && end == s.c_str() + s.size();
}

#define EVO_D(f)                                                                        \
  Field {                                                                               \
    #f, [](const Metrics& m) { return format_double(m.f); },                           \
        [](Metrics& m, const std::string& s) { return read_double(s, m.f); }            \
  }
#define EVO_U(f)                                                                        \
  Field {                                                                               \
    #f, [](const Metrics& m) { return std::to_string(m.f); },                          \
        [](Metrics& m, const std::string& s) { return read_u64(s, m.f); }               \
  }
#define EVO_B(f)                                                                        \
  Field {                                                                               \
    #f, [](const Metrics& m) { return std::string(m.f ? "1" : "0"); },                 \
        [](Metrics& m, const std::string& s) {                                          \
          m.f = s == "1";                                                               \
          return s == "0" || s == "1";                                                  \
        }                                                                               \
  }

const Field kFields[] = {
    EVO_B(valid),
    EVO_B(feasible),
    Field{"reason", [](const Metrics& m) { return m.reason; },
          [](Metrics& m, const std::string& s) {
            m.reason = s;
            return true;
          }},
    EVO_D(completed),
    EVO_D(speed),
    EVO_D(fragmentation),
    EVO_D(quality),
    EVO_D(speed_modeled),
    EVO_D(speed_measured_ns),
    EVO_D(frag_internal),
    EVO_D(frag_external),
    EVO_U(ops),
    EVO_U(peak_footprint),
    EVO_U(peak_live_requested),
    EVO_U(peak_live_usable),
    EVO_U(os_calls),
    EVO_U(meta_touches),
    EVO_U(meta_l1_misses),
    EVO_U(meta_l2_misses),
    EVO_U(l1_misses),
    EVO_U(l2_misses),
    EVO_U(pages),
    EVO_D(eval_seconds),
};
#undef EVO_D
#undef EVO_U
#undef EVO_B

constexpr std::size_t kLead = 3;  // sentence, genome, generation

}  // namespace

std::string metrics_csv_header() {
  std::string h = "sentence,genome,generation";
  for (const Field& f : kFields) {
    h += ',';
    h += f.name;
  }
  return h;
}

std::string archive_csv_row(const ArchiveEntry& e) {
  std::string r = csv_quote(e.sentence) + ',' + genome_to_string(e.genome) + ',' + std::to_string(e.generation);
  for (const Field& f : kFields) {
    r += ',';
    r += csv_quote(f.get(e.metrics));
  }
  return r;
}

bool parse_archive_csv_row(std::string_view line, ArchiveEntry& out, std::string* err) {
  auto cols = csv_split(line);
  const std::size_t want = kLead + std::size(kFields);
  auto fail = [&](const std::string& why) {
    if (err) *err = why;
    return false;
  };
  if (cols.size() != want)
    return fail("expected " + std::to_string(want) + " columns, got " + std::to_string(cols.size()));
  out = ArchiveEntry{};
  out.sentence = cols[0];
  if (!genome_from_string(cols[1], out.genome)) return fail("bad genome '" + cols[1] + "'");
  if (!read_u64(cols[2], out.generation)) return fail("bad generation '" + cols[2] + "'");
  for (std::size_t i = 0; i < std::size(kFields); ++i)
    if (!kFields[i].set(out.metrics, cols[kLead + i]))
      return fail(std::string("bad value '") + cols[kLead + i] + "' for " + kFields[i].name);
  return true;
}

}  // namespace evo
