// Tensor parallelism over MPI ranks on the CPU (issue 10). ctest runs this binary as
// `mpirun -np 2 ts_tensor_parallel_tests` and again with 3 ranks; every rank runs every test,
// rank 0 checks and the others follow its steps:
//   - logits of a model split over the ranks equal one rank's within float rounding (the split
//     only re-associates sums), for bf16 and MLX q4/q8 weights, tied and untied embeddings, a
//     vocabulary that does not split evenly, biases;
//   - greedy outputs through the engine are identical to one rank's, with batching and prefix
//     hits from RAM and, after a restart, from every rank's SSD tier.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "engine/engine.h"
#include "engine/step_builder.h"
#include "engine/tensor_parallel_follower.h"
#include "kv/kv_storage.h"
#include "model/random_model.h"

namespace ts {
namespace {

Communicator* g_group = nullptr;

using Clock = std::chrono::steady_clock;

struct Variant {
  const char* name;
  Arch arch;
  DType dtype;
  int bits;
  int group_size;
  bool tied;
};

// Every rank writes its own copy: the folders are bit-identical (gen-model is deterministic).
std::string MakeModel(const Variant& v) {
  GenModelOptions o;
  // The tiny preset with heads, KV heads and MLP columns that split over 2 and 3 ranks (o_proj
  // and down_proj in whole groups of 32), and a vocabulary that splits over neither.
  o.shape = *PresetShape("tiny");
  o.shape.arch = v.arch;
  o.shape.num_heads = 12;
  o.shape.num_kv_heads = 6;
  o.shape.head_dim = 16;
  o.shape.vocab_size = 509;
  o.shape.tie_word_embeddings = v.tied;
  o.dtype = v.dtype;
  o.quant.bits = v.bits;
  o.quant.group_size = v.group_size;
  o.seed = 5;
  o.out_dir = ::testing::TempDir() + "/tp_" + v.name + "_" + std::to_string(::getpid());
  Status s = GenerateRandomModel(o);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return o.out_dir;
}

std::unique_ptr<Model> Load(const std::string& dir, Communicator* group) {
  ModelOptions options;
  options.communicator = group;
  auto model = LoadModel(dir, Device::kCpu, options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? std::move(*model) : nullptr;
}

// Runs rank 0's steps on this rank until rank 0 destroys its model.
void Follow(Model& model) {
  ThreadPool pool(1);
  PosixFileSystem fs;
  Status s = RunTensorParallelFollower(model, *g_group, pool, &fs);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

class TensorParallelLogits : public ::testing::TestWithParam<Variant> {};

TEST_P(TensorParallelLogits, MatchOneRank) {
  const std::string dir = MakeModel(GetParam());
  std::unique_ptr<Model> split = Load(dir, g_group);
  ASSERT_NE(split, nullptr);
  EXPECT_EQ(split->tensor_parallel_size(), g_group->size());
  ThreadPool pool(1);
  if (!g_group->is_leader()) return Follow(*split);
  std::unique_ptr<Model> whole = Load(dir, nullptr);
  ASSERT_NE(whole, nullptr);
  EXPECT_NE(split->fingerprint(), whole->fingerprint());  // their KV pools differ
  constexpr int32_t kBlockSize = 16, kMaxBlocks = 4;
  const int32_t num_blocks = 3 * kMaxBlocks;
  auto kv_split = KvStorage::Create(split->MakeKvLayout(kBlockSize, KvDtype::kBf16), num_blocks);
  auto kv_whole = KvStorage::Create(whole->MakeKvLayout(kBlockSize, KvDtype::kBf16), num_blocks);
  ASSERT_TRUE(kv_split.ok() && kv_whole.ok());
  EXPECT_EQ(kv_split->layout().num_kv_heads * g_group->size(), kv_whole->layout().num_kv_heads);

  std::mt19937 rng(3);
  auto random_tokens = [&](int n) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (int32_t& x : t) x = static_cast<int32_t>(rng() % 509);
    return t;
  };
  // A prefill of three prompts (one spans blocks), then two decode steps of all three;
  // sequence s owns blocks [4s, 4s + 4).
  const std::vector<int32_t> lengths = {19, 7, 33};
  std::vector<StepBuilder> steps(3);
  for (int step = 0; step < 3; ++step) {
    steps[static_cast<size_t>(step)].Reset(kBlockSize, kMaxBlocks);
    for (int32_t s = 0; s < 3; ++s) {
      const std::vector<int32_t> blocks = {4 * s, 4 * s + 1, 4 * s + 2, 4 * s + 3};
      const int32_t cached = step == 0 ? 0 : lengths[static_cast<size_t>(s)] + step - 1;
      steps[static_cast<size_t>(step)].AddSequence(
          random_tokens(step == 0 ? lengths[static_cast<size_t>(s)] : 1), cached, blocks, true);
    }
  }
  const int64_t vocab = whole->config().vocab_size;
  for (const StepBuilder& st : steps) {
    const StepBatch b = st.batch();
    std::vector<float> a(b.logit_rows.size() * vocab), e(a.size());
    ASSERT_TRUE(split->Forward(b, kv_split->view(), a.data(), pool).ok());
    ASSERT_TRUE(whole->Forward(b, kv_whole->view(), e.data(), pool).ok());
    float range = 0, worst = 0;
    for (size_t i = 0; i < e.size(); ++i) {
      range = std::max(range, std::abs(e[i]));
      worst = std::max(worst, std::abs(a[i] - e[i]));
    }
    EXPECT_GT(range, 1.f);
    // The integer (VNNI) kernels of quantized models round each rank's slice of the activations
    // on its own scale: ~1e-3 of the range here, as far as those kernels are from f32 anyway.
    const float tolerance = GetParam().bits > 0 ? 1e-3f : 2e-4f;
    EXPECT_LE(worst, tolerance * range) << GetParam().name << ": max |diff| " << worst;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, TensorParallelLogits,
    ::testing::Values(Variant{"qwen3_bf16_tied", Arch::kQwen3, DType::kBf16, 0, 0, true},
                      Variant{"qwen2_q8_untied", Arch::kQwen2, DType::kBf16, 8, 32, false},
                      Variant{"llama_q4_untied", Arch::kLlama, DType::kBf16, 4, 32, false},
                      Variant{"mistral_f32", Arch::kMistral, DType::kF32, 0, 0, false}),
    [](const auto& info) { return std::string(info.param.name); });

struct Output {
  std::vector<int32_t> tokens;
  Usage usage;
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
    if (chunk->finish != FinishReason::kNone) {
      EXPECT_TRUE(chunk->error.ok()) << chunk->error.ToString();
      out.usage = chunk->usage;
      return out;
    }
  }
}

// Requests of different lengths, half of them sharing a 40-token prefix.
std::vector<GenerationRequest> Requests() {
  std::mt19937 rng(8);
  std::vector<int32_t> shared(40);
  for (int32_t& t : shared) t = static_cast<int32_t>(rng() % 509);
  std::vector<GenerationRequest> rs;
  for (int i = 0; i < 8; ++i) {
    GenerationRequest r;
    if (i % 2 == 0) r.prompt = shared;
    for (int j = 0; j < 3 + 11 * i % 29; ++j) r.prompt.push_back(static_cast<int32_t>(rng() % 509));
    r.sampling.temperature = 0;
    r.max_tokens = 5 + 3 * i;
    r.ignore_eos = true;
    rs.push_back(std::move(r));
  }
  return rs;
}

// All at once, then each again (prefix hits); returns outputs in request order.
std::vector<Output> RunAll(std::unique_ptr<Model> model) {
  EngineOptions o;
  o.threads = 1;
  o.num_blocks = 64;
  o.max_num_batched_tokens = 32;  // chunked prefill next to decodes
  static PosixFileSystem fs;
  auto engine = Engine::Create(o, std::move(model), nullptr, &fs);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  if (!engine.ok()) return {};
  const auto requests = Requests();
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (const auto& r : requests) streams.push_back(*(*engine)->Submit(r));
  std::vector<Output> outputs;
  for (auto& s : streams) outputs.push_back(Drain(*s));
  for (size_t i = 0; i < requests.size(); ++i) {
    Output again = Drain(**(*engine)->Submit(requests[i]));
    EXPECT_EQ(again.tokens, outputs[i].tokens) << "request " << i << " again";
    if (requests[i].prompt.size() > 16) {  // a full block besides the last token
      EXPECT_GE(again.usage.cached_tokens, 16) << "request " << i << " again";
    }
  }
  return outputs;
}

TEST(TensorParallelEngine, GreedyOutputsEqualOneRank) {
  const std::string dir = MakeModel({"engine_qwen3_q8", Arch::kQwen3, DType::kBf16, 8, 32, true});
  std::unique_ptr<Model> split = Load(dir, g_group);
  ASSERT_NE(split, nullptr);
  if (!g_group->is_leader()) return Follow(*split);
  const std::vector<Output> expected = RunAll(Load(dir, nullptr));
  const std::vector<Output> got = RunAll(std::move(split));  // the followers stop at its end
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].tokens, expected[i].tokens) << "request " << i;
    EXPECT_EQ(got[i].usage.completion_tokens, expected[i].usage.completion_tokens);
  }
}

// Each rank persists its shard; after a restart (RAM empty) the prompt's blocks come back from
// every rank's SSD tier with the same output; clearing the cache clears every rank's tier.
TEST(TensorParallelEngine, SsdTierHitsAfterRestart) {
  const std::string dir = MakeModel({"ssd_qwen3", Arch::kQwen3, DType::kBf16, 0, 0, true});
  if (!g_group->is_leader()) {
    for (int run = 0; run < 2; ++run) {
      std::unique_ptr<Model> split = Load(dir, g_group);
      ASSERT_NE(split, nullptr);
      Follow(*split);
    }
    return;
  }
  const std::string ssd = ::testing::TempDir() + "/tp_ssd_" + std::to_string(::getpid());
  std::filesystem::remove_all(ssd);
  EngineOptions o;
  o.threads = 1;
  o.num_blocks = 32;
  o.ssd = SsdCacheOptions{};
  o.ssd->dir = ssd;
  GenerationRequest r = Requests()[0];
  r.prompt.resize(70);  // 4 full blocks before the last token
  PosixFileSystem fs;
  Output first;
  {
    auto engine = Engine::Create(o, Load(dir, g_group), nullptr, &fs);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    first = Drain(**(*engine)->Submit(r));
  }  // the engine flushes its SSD tier as it ends
  EXPECT_EQ(first.usage.cached_tokens, 0);
  std::vector<std::string> rank_dirs;
  for (int r = 0; r < g_group->size(); ++r) {
    rank_dirs.push_back(ssd + "/tp" + std::to_string(g_group->size()) + "-rank" +
                        std::to_string(r));
    EXPECT_TRUE(std::filesystem::exists(rank_dirs.back())) << rank_dirs.back();
  }
  auto engine = Engine::Create(o, Load(dir, g_group), nullptr, &fs);  // a restart
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  const Output again = Drain(**(*engine)->Submit(r));
  EXPECT_EQ(again.tokens, first.tokens);
  EXPECT_EQ(again.usage.cached_tokens_ssd, 64);
  // DELETE /v1/cache empties every rank's tier: the prompt is computed in full again.
  ASSERT_TRUE((*engine)->ClearCache().ok());
  const Output cleared = Drain(**(*engine)->Submit(r));
  EXPECT_EQ(cleared.tokens, first.tokens);
  EXPECT_EQ(cleared.usage.cached_tokens, 0);
  for (const std::string& rank : rank_dirs) {
    int records = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(rank)) {
      records += e.is_regular_file() ? 1 : 0;
    }
    EXPECT_LE(records, 4) << rank;  // at most the blocks the last run wrote again
  }
}

}  // namespace
}  // namespace ts

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto group = ts::ConnectMpiWorld();
  if (!group.ok() || (*group)->size() < 2) {
    std::fprintf(stderr, "run under mpirun -np 2 (or more): %s\n",
                 group.ok() ? "one rank" : group.status().ToString().c_str());
    return 1;
  }
  ts::g_group = group->get();
  if (!ts::g_group->is_leader()) {  // one report: rank 0's (the exit code still counts)
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int result = RUN_ALL_TESTS();
  group->reset();
  return result;
}
