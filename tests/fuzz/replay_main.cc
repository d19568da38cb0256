// Replays a fuzz target without libFuzzer: every file of the corpus folder given as argv[1],
// then 2000 deterministic mutations (byte flips, truncations, splices, insertions) of them.
// Lets CI (g++, ASan+UBSan) exercise each fuzz target on every run.
#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::string> ReadCorpus(const std::string& dir) {
  std::vector<std::string> inputs;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return inputs;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::ifstream in(dir + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    inputs.push_back(ss.str());
  }
  closedir(d);
  return inputs;
}

void Run(const std::string& s) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> corpus = argc > 1 ? ReadCorpus(argv[1]) : std::vector<std::string>{};
  corpus.emplace_back();
  for (const auto& s : corpus) Run(s);
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 2000; ++i) {
    std::string s = corpus[rng() % corpus.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      switch (rng() % 5) {
        case 0:
          if (!s.empty()) s[rng() % s.size()] ^= static_cast<char>(1 << (rng() % 8));
          break;
        case 1:
          if (!s.empty()) s.resize(rng() % s.size());
          break;
        case 2: {
          const std::string& other = corpus[rng() % corpus.size()];
          if (!other.empty()) s.insert(rng() % (s.size() + 1), other.substr(rng() % other.size()));
          break;
        }
        case 3:
          s.insert(rng() % (s.size() + 1), 1, static_cast<char>(rng()));
          break;
        default:
          if (!s.empty()) s[rng() % s.size()] = static_cast<char>(rng());
      }
    }
    Run(s);
  }
  std::printf("replayed %zu corpus inputs and 2000 mutations\n", corpus.size());
  return 0;
}
