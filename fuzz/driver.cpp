// fuzz/driver.cpp — a deterministic stand-in for libFuzzer's main (for g++ builds).
//
//   fuzz_X_driver [--runs N] [--seed S] [--max-len L] [SEED_FILE|SEED_DIR]...
//
// Runs every seed input once, then N inputs made by random mutations of the seeds
// (bit flips, byte insert/erase/overwrite, chunk duplication, splices of two seeds,
// insertion of grammar tokens), all drawn from S: the same arguments replay the
// same inputs. A crash aborts the process (the sanitizers report it); on exit prints
// "fuzz: N inputs, 0 crashes". This is a CI smoke run, not a coverage-guided fuzzer:
// fuzz/run.sh runs the same targets under libFuzzer.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
};

const char* const kTokens[] = {"<", ">", "::=", "|", "<int:", "..", "GE_RANGE:", "\"", "'", "#", "\n", " ",
                               "<a>", "<s>", "::= x", "\n<b> ::= ", "-", "9223372036854775807", "0", "\r\n", "\t"};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void mutate(std::string& s, const std::vector<std::string>& seeds, Rng& rng, std::size_t max_len) {
  int n = 1 + static_cast<int>(rng.below(6));
  for (int k = 0; k < n; ++k) {
    switch (rng.below(7)) {
      case 0:  // flip a bit
        if (!s.empty()) s[rng.below(s.size())] ^= static_cast<char>(1u << rng.below(8));
        break;
      case 1:  // insert a random byte
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(rng.below(s.size() + 1)), static_cast<char>(rng.next()));
        break;
      case 2:  // erase a range
        if (!s.empty()) {
          std::size_t at = rng.below(s.size());
          s.erase(at, 1 + rng.below(std::min<std::size_t>(16, s.size() - at)));
        }
        break;
      case 3:  // overwrite a byte
        if (!s.empty()) s[rng.below(s.size())] = static_cast<char>(rng.next());
        break;
      case 4: {  // duplicate a chunk
        if (s.empty()) break;
        std::size_t at = rng.below(s.size());
        std::string chunk = s.substr(at, 1 + rng.below(32));
        s.insert(rng.below(s.size() + 1), chunk);
        break;
      }
      case 5: {  // splice with another seed
        const std::string& o = seeds[rng.below(seeds.size())];
        if (o.empty()) break;
        std::size_t from = rng.below(o.size());
        s = s.substr(0, rng.below(s.size() + 1)) + o.substr(from, rng.below(o.size() - from + 1));
        break;
      }
      default: {  // insert a token
        const char* t = kTokens[rng.below(sizeof kTokens / sizeof kTokens[0])];
        s.insert(rng.below(s.size() + 1), t);
        break;
      }
    }
  }
  if (s.size() > max_len) s.resize(max_len);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t runs = 10000, seed = 1;
  std::size_t max_len = 4096;
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> std::uint64_t {
      if (i + 1 >= argc) {
        std::cerr << "fuzz driver: " << name << " needs a value\n";
        std::exit(2);
      }
      return std::strtoull(argv[++i], nullptr, 10);
    };
    if (a == "--runs") runs = value("--runs");
    else if (a == "--seed") seed = value("--seed");
    else if (a == "--max-len") max_len = value("--max-len");
    else if (std::filesystem::is_directory(a)) {
      std::vector<std::filesystem::path> files;
      for (const auto& e : std::filesystem::directory_iterator(a))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());  // directory order is not stable
      for (const auto& f : files) seeds.push_back(read_file(f));
    } else if (std::filesystem::is_regular_file(a)) {
      seeds.push_back(read_file(a));
    } else {
      std::cerr << "fuzz driver: no such seed file or directory: " << a << "\n";
      return 2;
    }
  }
  if (seeds.empty()) seeds.push_back("");
  std::uint64_t n = 0;
  for (const std::string& s : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
    ++n;
  }
  Rng rng{seed};
  std::string input;
  for (std::uint64_t i = 0; i < runs; ++i) {
    input = seeds[rng.below(seeds.size())];
    mutate(input, seeds, rng, max_len);
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    ++n;
  }
  std::cout << "fuzz: " << n << " inputs, 0 crashes\n";
  return 0;
}
