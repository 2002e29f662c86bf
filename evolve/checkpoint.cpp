#include "evolve/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace evo {

namespace {

void write_all(int fd, const std::string& data, const std::string& path) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::write(fd, data.data() + off, data.size() - off);
    if (w < 0) {
      ::close(fd);
      throw std::runtime_error(path + ": write failed");
    }
    off += static_cast<std::size_t>(w);
  }
}

}  // namespace

void save_checkpoint(const std::string& dir, const RunState& s) {
  std::ostringstream o;
  o << "evoalloc-checkpoint 1\n";
  o << "generation " << s.generation << "\n";
  o << "evaluations " << s.evaluations << "\n";
  o << "cache_hits " << s.cache_hits << "\n";
  o << "elapsed_s " << format_double(s.elapsed_s) << "\n";
  o << "exhaustive_total " << s.exhaustive_total << "\n";
  if (s.reference_set)
    o << "reference " << format_double(s.reference[0]) << ' ' << format_double(s.reference[1]) << ' '
      << format_double(s.reference[2]) << "\n";
  else
    o << "reference auto\n";
  o << "population " << s.population.size() << "\n";
  for (const Individual& ind : s.population) o << genome_to_string(ind.genome) << '\t' << ind.genome.used << '\t' << ind.sentence << "\n";
  o << "history " << s.history.size() << "\n";
  for (const HistoryRow& h : s.history) o << history_csv_row(h) << "\n";
  o << "archive " << s.archive.size() << "\n";
  for (const ArchiveEntry& e : s.archive.entries()) o << archive_csv_row(e) << "\n";
  if (!s.final_front.empty()) {
    o << "final_front " << s.final_front.size();
    for (std::size_t i : s.final_front) o << ' ' << i;
    o << "\n";
  }
  o << "end\n";

  const std::string path = dir + "/checkpoint.txt";
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw std::runtime_error(tmp + ": cannot create checkpoint");
  write_all(fd, o.str(), tmp);
  if (::fsync(fd) != 0) {
    ::close(fd);
    throw std::runtime_error(tmp + ": fsync failed");
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error(path + ": rename failed");
}

RunState load_checkpoint(const std::string& dir) {
  const std::string path = dir + "/checkpoint.txt";
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read checkpoint (is this a run folder?)");
  std::size_t lineno = 0;
  std::string line;
  auto fail = [&](const std::string& what) -> void {
    throw std::runtime_error(path + ":" + std::to_string(lineno) + ": " + what);
  };
  auto next = [&]() -> std::string& {
    if (!std::getline(in, line)) fail("unexpected end of file (truncated checkpoint)");
    ++lineno;
    return line;
  };
  auto keyed = [&](const char* key) -> std::string {
    std::string& l = next();
    const std::string k = std::string(key) + ' ';
    if (l.rfind(k, 0) != 0) fail(std::string("expected '") + key + " ...'");
    return l.substr(k.size());
  };
  auto num = [&](const std::string& s) -> std::uint64_t {
    try {
      std::size_t pos = 0;
      std::uint64_t v = std::stoull(s, &pos);
      if (pos != s.size()) fail("expected an integer, got '" + s + "'");
      return v;
    } catch (const std::logic_error&) {
      fail("expected an integer, got '" + s + "'");
    }
    return 0;
  };

  RunState s;
  if (next() != "evoalloc-checkpoint 1") fail("not an evoalloc checkpoint (version 1)");
  s.generation = num(keyed("generation"));
  s.evaluations = num(keyed("evaluations"));
  s.cache_hits = num(keyed("cache_hits"));
  s.elapsed_s = std::strtod(keyed("elapsed_s").c_str(), nullptr);
  s.exhaustive_total = num(keyed("exhaustive_total"));
  {
    std::string r = keyed("reference");
    if (r != "auto") {
      std::istringstream rs(r);
      if (!(rs >> s.reference[0] >> s.reference[1] >> s.reference[2])) fail("expected 3 numbers or 'auto'");
      s.reference_set = true;
    }
  }
  const std::uint64_t npop = num(keyed("population"));
  for (std::uint64_t i = 0; i < npop; ++i) {
    std::string& l = next();
    auto tab = l.find('\t');
    auto tab2 = tab == std::string::npos ? tab : l.find('\t', tab + 1);
    if (tab2 == std::string::npos) fail("expected GENOME<TAB>USED<TAB>SENTENCE");
    Individual ind;
    if (!genome_from_string(std::string_view(l).substr(0, tab), ind.genome)) fail("bad genome");
    const std::string used = l.substr(tab + 1, tab2 - tab - 1);
    ind.sentence = l.substr(tab2 + 1);
    ind.genome.used = num(used);
    s.population.push_back(std::move(ind));
  }
  const std::uint64_t nhist = num(keyed("history"));
  for (std::uint64_t i = 0; i < nhist; ++i) {
    HistoryRow h;
    if (!parse_history_csv_row(next(), h)) fail("bad history row");
    s.history.push_back(h);
  }
  const std::uint64_t narch = num(keyed("archive"));
  for (std::uint64_t i = 0; i < narch; ++i) {
    ArchiveEntry e;
    std::string err;
    if (!parse_archive_csv_row(next(), e, &err)) fail("bad archive row: " + err);
    if (s.archive.find(e.sentence)) fail("duplicate archive design");
    s.archive.add(std::move(e));
  }
  if (next().rfind("final_front ", 0) == 0) {
    std::istringstream f(line.substr(12));
    std::string tok;
    f >> tok;
    const std::uint64_t n = num(tok);
    for (std::uint64_t i = 0; i < n; ++i) {
      if (!(f >> tok)) fail("final_front: fewer than " + std::to_string(n) + " indexes");
      const std::uint64_t at = num(tok);
      if (at >= s.archive.size()) fail("final_front: index " + tok + " outside the archive");
      s.final_front.push_back(static_cast<std::size_t>(at));
    }
    if (f >> tok) fail("final_front: more than " + std::to_string(n) + " indexes");
    next();
  }
  if (line != "end") fail("expected 'end'");
  for (Individual& ind : s.population) {
    if (ind.sentence.empty()) {
      ind.fitness.violation = 2;
      continue;
    }
    const ArchiveEntry* e = s.archive.find(ind.sentence);
    if (e == nullptr) fail("population design missing from the archive: " + ind.sentence);
    ind.fitness = fitness_of(e->metrics);
  }
  s.started = true;
  return s;
}

}  // namespace evo
