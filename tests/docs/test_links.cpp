// tests/docs/test_links.cpp — the documentation's links resolve.
//
// Every Markdown file of the source tree (README.md, docs/, traces/, fuzz/, ...;
// not build/ or results/) is scanned for inline links `[text](target)`. A relative
// target must name an existing file or folder (relative to the page); a target
// with a `#fragment` into a Markdown page must name one of its headings (GitHub's
// slug: lower case, spaces to '-', punctuation dropped). And every `evoalloc CMD
// --help` ends with "Documentation: PAGE", where PAGE must exist.
#include <doctest/doctest.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// GitHub's anchor of a heading text.
std::string slug(const std::string& heading) {
  std::string s;
  for (char c : heading) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_')
      s += static_cast<char>(std::tolower(u));
    else if (c == ' ')
      s += '-';
  }
  return s;
}

std::set<std::string> anchors(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  std::string line;
  bool fenced = false;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) fenced = !fenced;
    if (fenced || line.empty() || line[0] != '#') continue;
    std::size_t i = line.find_first_not_of('#');
    if (i == std::string::npos || line[i] != ' ') continue;
    out.insert(slug(line.substr(i + 1)));
  }
  return out;
}

struct Link {
  std::string target;
  int line;
};

/// Inline links outside code spans and fenced blocks.
std::vector<Link> links(const std::string& text) {
  std::vector<Link> out;
  std::istringstream in(text);
  std::string line;
  bool fenced = false;
  int no = 0;
  while (std::getline(in, line)) {
    ++no;
    if (line.rfind("```", 0) == 0) fenced = !fenced;
    if (fenced || line.rfind("    ", 0) == 0) continue;  // code blocks
    bool code = false;
    for (std::size_t i = 0; i + 1 < line.size(); ++i) {
      if (line[i] == '`') code = !code;
      if (code || line[i] != ']' || line[i + 1] != '(') continue;
      const std::size_t end = line.find(')', i + 2);
      if (end == std::string::npos) continue;
      out.push_back({line.substr(i + 2, end - i - 2), no});
    }
  }
  return out;
}

std::vector<fs::path> markdown_files(const fs::path& root) {
  std::vector<fs::path> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && (name == "build" || name == "results" || name.starts_with("."))) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && it->path().extension() == ".md") out.push_back(it->path());
  }
  return out;
}

}  // namespace

TEST_CASE("every relative link of the documentation names an existing file and heading") {
  const fs::path root = EVOALLOC_SOURCE_DIR;
  const auto files = markdown_files(root);
  REQUIRE(files.size() >= 9);  // README.md, docs/README.md and the topic pages at least
  CHECK(fs::exists(root / "docs" / "README.md"));
  std::size_t checked = 0;
  for (const fs::path& f : files) {
    const std::string text = read(f);
    for (const Link& l : links(text)) {
      if (l.target.empty() || l.target.find("://") != std::string::npos || l.target.rfind("mailto:", 0) == 0)
        continue;
      const std::size_t hash = l.target.find('#');
      const std::string file = l.target.substr(0, hash);
      const std::string frag = hash == std::string::npos ? "" : l.target.substr(hash + 1);
      const fs::path target = file.empty() ? f : (f.parent_path() / file).lexically_normal();
      const std::string where =
          fs::relative(f, root).string() + ":" + std::to_string(l.line) + ": (" + l.target + ")";
      ++checked;
      CHECK_MESSAGE(fs::exists(target), where << " does not exist");
      if (!frag.empty() && fs::exists(target) && target.extension() == ".md")
        CHECK_MESSAGE(anchors(read(target)).count(frag) == 1,
                      where << " names no heading of " << target.filename());
    }
  }
  CHECK(checked >= 20);  // the pages link to each other
}

TEST_CASE("every command's --help names a documentation page that exists") {
  const fs::path root = EVOALLOC_SOURCE_DIR;
  const fs::path exe = fs::path(EVOALLOC_BINARY_DIR) / "app" / "evoalloc";
  REQUIRE(fs::exists(exe));
  for (const char* cmd :
       {"record", "import", "trace info", "trace sites", "replay", "taxonomy", "grammar check", "grammar enumerate",
        "grammar encode", "decode", "evolve", "export", "bench", "fidelity", "merge", "sweep", "version"}) {
    const std::string command = exe.string() + " " + cmd + " --help 2>&1";
    FILE* p = popen(command.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int rc = pclose(p);
    CHECK_MESSAGE(rc == 0, cmd << " --help exited " << rc);
    const std::size_t at = out.rfind("Documentation: ");
    REQUIRE_MESSAGE(at != std::string::npos, cmd << " --help names no page");
    const std::size_t end = out.find(' ', at + 15);
    const std::string page = out.substr(at + 15, end - at - 15);
    CHECK_MESSAGE(fs::exists(root / page), cmd << " --help names " << page << ", which does not exist");
  }
}
