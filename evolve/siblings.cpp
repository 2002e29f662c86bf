#include "evolve/siblings.hpp"

#include <algorithm>
#include <cctype>
#include <ostream>

#include "core/layers/front.hpp"
#include "core/registry.hpp"
#include "grammar/mapper.hpp"

namespace evo {

namespace {

struct Token {
  std::size_t pos = 0;  ///< where the value starts (after "key=")
  std::size_t len = 0;  ///< the value's length
};

/// The value spans of every whitespace-delimited `key=VALUE` token of `s`.
std::vector<Token> find_key(std::string_view s, std::string_view key) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::size_t end = i;
    while (end < s.size() && !std::isspace(static_cast<unsigned char>(s[end]))) ++end;
    const std::string_view tok = s.substr(i, end - i);
    if (tok.size() > key.size() && tok.substr(0, key.size()) == key && tok[key.size()] == '=')
      out.push_back({i + key.size() + 1, tok.size() - key.size() - 1});
    i = end;
  }
  return out;
}

std::string replaced(std::string_view s, Token t, std::string_view value) {
  std::string out(s.substr(0, t.pos));
  out += value;
  out += s.substr(t.pos + t.len);
  return out;
}

/// `sentence` when the grammar derives exactly it (the genome maps back to it).
bool in_language(const Grammar& g, const std::string& sentence, Sibling* out) {
  // encode_sentence's genome maps back to exactly `sentence` (grammar/mapper.hpp).
  auto genome = encode_sentence(g, sentence);
  if (!genome) return false;
  out->sentence = sentence;
  out->genome = std::move(*genome);
  return true;
}

std::vector<std::string_view> thread_models() {
  for (const KeySchema& k : common_keys())
    if (k.key == "threads") return k.choices;
  return {};
}

}  // namespace

std::string thread_model_of(std::string_view sentence) {
  const std::vector<Token> t = find_key(sentence, "threads");
  return t.size() == 1 ? std::string(sentence.substr(t[0].pos, t[0].len)) : std::string();
}

bool thread_model_twins(std::string_view a, std::string_view b) {
  const std::vector<Token> ta = find_key(a, "threads"), tb = find_key(b, "threads");
  if (ta.size() != 1 || tb.size() != 1) return false;
  const std::string_view va = a.substr(ta[0].pos, ta[0].len), vb = b.substr(tb[0].pos, tb[0].len);
  return va != vb && a.substr(0, ta[0].pos) == b.substr(0, tb[0].pos) &&
         a.substr(ta[0].pos + ta[0].len) == b.substr(tb[0].pos + tb[0].len);
}

std::vector<Sibling> thread_model_siblings(std::string_view sentence, const Grammar& g) {
  std::vector<Sibling> out;
  const std::vector<Token> threads = find_key(sentence, "threads");
  if (threads.size() != 1) return out;
  const std::string_view own = sentence.substr(threads[0].pos, threads[0].len);
  for (std::string_view model : thread_models()) {
    if (model == own) continue;
    const std::string s = replaced(sentence, threads[0], model);
    Sibling sib;
    if (in_language(g, s, &sib)) {
      out.push_back(std::move(sib));
      continue;
    }
    if (model != "tcache") continue;
    // The per-thread caches as pointer arrays of the same bound B, when only that
    // form is allowed: tcache:B[:grow] -> tcache:B[:grow]:array, else with the
    // other :grow setting.
    const std::vector<Token> front = find_key(s, "front");
    if (front.size() != 1) continue;
    std::uint32_t word = 0;  // parse_front: the bound B, kFrontGrow, kFrontArray
    if (!parse_front(std::string_view(s).substr(front[0].pos, front[0].len), word) || word == 0 || front_array(word))
      continue;
    const std::uint32_t same = word | kFrontArray, other = same ^ kFrontGrow;
    for (const std::string& form : {front_text(same), front_text(other)})
      if (in_language(g, replaced(s, front[0], form), &sib)) {
        out.push_back(std::move(sib));
        break;
      }
  }
  return out;
}

SiblingStats add_thread_model_siblings(Archive& archive, const Grammar& g, const EvaluateFn& eval,
                                       std::uint64_t generation, std::ostream* progress) {
  SiblingStats st;
  const std::vector<std::size_t> front = archive.front();
  st.front = front.size();
  std::vector<Sibling> all, todo;
  for (std::size_t i : front)
    for (Sibling& s : thread_model_siblings(archive.entries()[i].sentence, g)) {
      bool seen = false;
      for (const Sibling& t : all) seen = seen || t.sentence == s.sentence;
      if (seen) continue;  // the sibling of two front designs (a lock and a tlh twin)
      ++st.siblings;
      if (archive.find(s.sentence) == nullptr) todo.push_back(s);
      all.push_back(std::move(s));
    }
  if (progress != nullptr)
    *progress << "thread-model siblings of the front: " << st.front << " designs, " << st.siblings
              << " siblings, " << todo.size() << " new to evaluate\n";
  for (Sibling& s : todo) {
    ArchiveEntry e;
    e.metrics = eval(s.sentence);
    e.sentence = std::move(s.sentence);
    e.genome.codons = std::move(s.genome);
    e.generation = generation;
    archive.add(std::move(e));
    ++st.evaluated;
    if (progress != nullptr) *progress << "  sibling " << st.evaluated << "/" << todo.size() << " evaluated\n";
  }
  for (const Sibling& s : all) {
    const ArchiveEntry* e = archive.find(s.sentence);
    const std::size_t at = static_cast<std::size_t>(e - archive.entries().data());
    if (fitness_of(e->metrics).violation == 0 && std::find(front.begin(), front.end(), at) == front.end())
      st.indexes.push_back(at);
  }
  return st;
}

}  // namespace evo
