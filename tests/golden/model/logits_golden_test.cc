// Golden logits: every architecture and weight format against transformers.
//
// Each fixture model is regenerated with the real `tierserve gen-model` (bit-identical to the
// folder make_reference.py read) and its logits for every prompt position are compared with
// transformers' (fixtures/<name>.f32.bin: float32 model, quantized weights dequantized), and
// for bf16 models with transformers run in bfloat16 (<name>.bf16.bin).
//
// Then the same logits must come out bitwise identical however the prompt is fed: at once,
// in chunks of odd sizes, token by token, and batched with other sequences.
//
// Under the `gpu` label (TS_TEST_DEVICE=cuda) the same fixtures run on the CUDA model, which
// computes matrix products on bf16 inputs: tolerances are bf16's, and feeds must agree within
// rounding rather than bitwise (cuBLAS picks its reduction order by shape).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "engine/step_builder.h"
#include "kernels/isa.h"
#include "kv/kv_storage.h"
#include "model/model.h"
#include "tests/test_device.h"

namespace ts {
namespace {

constexpr int32_t kBlockSize = 16;

struct Fixture {
  std::string name;
  std::vector<std::string> args;
};

struct Spec {
  int32_t vocab = 0;
  std::vector<int32_t> prompt;
  std::vector<Fixture> fixtures;
};

Spec LoadSpec() {
  std::ifstream in(std::string(TS_SOURCE_DIR) + "/tests/golden/model/fixtures.json");
  nlohmann::json j = nlohmann::json::parse(in);
  Spec s;
  s.vocab = j["vocab_size"];
  s.prompt = j["prompt"].get<std::vector<int32_t>>();
  for (const auto& f : j["fixtures"]) s.fixtures.push_back({f["name"], f["args"]});
  return s;
}

std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<float> v;
  if (!in) return v;
  in.seekg(0, std::ios::end);
  v.resize(static_cast<size_t>(in.tellg()) / 4);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return v;
}

std::string MakeModel(const Fixture& f) {
  std::string dir = ::testing::TempDir() + "/golden_" + f.name;
  std::string cmd = std::string(TS_BINARY_DIR) + "/src/app/tierserve gen-model --out " + dir;
  for (const auto& a : f.args) cmd += " " + a;
  cmd += " 2>/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return dir;
}

// A sequence fed through the model in pieces: `chunks` new tokens per step.
struct Feed {
  std::vector<int32_t> tokens;
  std::vector<int32_t> chunks;  // sums to tokens.size()
  std::vector<int32_t> blocks;
};

// Runs several sequences side by side, step by step; each step every sequence with tokens
// left contributes its next chunk. Returns logits [seq][position][vocab].
std::vector<std::vector<float>> RunFeeds(Model& model, std::vector<Feed> feeds, KvDtype kv_dtype,
                                         ThreadPool& pool) {
  const int32_t vocab = model.config().vocab_size;
  int32_t total_blocks = 0, max_blocks = 0;
  for (auto& f : feeds) {
    const int32_t n = (static_cast<int32_t>(f.tokens.size()) + kBlockSize - 1) / kBlockSize;
    f.blocks.resize(static_cast<size_t>(n));
    max_blocks = std::max(max_blocks, n);
    total_blocks += n;
  }
  // Scatter blocks through the pool in a fixed shuffled order.
  std::vector<int32_t> ids(static_cast<size_t>(total_blocks));
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), std::mt19937(5));
  size_t next = 0;
  for (auto& f : feeds) {
    for (auto& b : f.blocks) b = ids[next++];
  }
  auto storage =
      KvStorage::Create(model.MakeKvLayout(kBlockSize, kv_dtype), total_blocks, model.kv_memory());
  EXPECT_TRUE(storage.ok());
  std::vector<std::vector<float>> out(feeds.size());
  std::vector<size_t> done(feeds.size(), 0), chunk_index(feeds.size(), 0);
  StepBuilder step;
  for (;;) {
    step.Reset(kBlockSize, max_blocks);
    std::vector<std::pair<size_t, int32_t>> rows;  // (feed, first new position)
    for (size_t i = 0; i < feeds.size(); ++i) {
      if (chunk_index[i] >= feeds[i].chunks.size()) continue;
      const int32_t n = feeds[i].chunks[chunk_index[i]++];
      step.AddSequence(std::span(feeds[i].tokens).subspan(done[i], static_cast<size_t>(n)),
                       static_cast<int32_t>(done[i]), feeds[i].blocks, /*want_logits=*/false);
      rows.emplace_back(i, n);
      done[i] += static_cast<size_t>(n);
    }
    if (rows.empty()) break;
    StepBatch b = step.batch();
    std::vector<int32_t> all_rows(b.tokens.size());
    std::iota(all_rows.begin(), all_rows.end(), 0);
    b.logit_rows = all_rows;
    EXPECT_TRUE(model.ValidateBatch(b, storage->view()).ok());
    std::vector<float> logits(all_rows.size() * static_cast<size_t>(vocab));
    EXPECT_TRUE(model.Forward(b, storage->view(), logits.data(), pool).ok());
    size_t row = 0;
    for (auto [i, n] : rows) {
      out[i].insert(out[i].end(), logits.begin() + static_cast<std::ptrdiff_t>(row * vocab),
                    logits.begin() + static_cast<std::ptrdiff_t>((row + n) * vocab));
      row += static_cast<size_t>(n);
    }
  }
  return out;
}

struct Diff {
  double max_abs = 0, max_ref = 0;
  int argmax_checked = 0, argmax_agree = 0;
};

Diff Compare(const std::vector<float>& got, const std::vector<float>& ref, int32_t vocab) {
  Diff d;
  const size_t positions = ref.size() / static_cast<size_t>(vocab);
  for (size_t p = 0; p < positions; ++p) {
    const float* g = got.data() + p * vocab;
    const float* r = ref.data() + p * vocab;
    int32_t best_g = 0, best_r = 0;
    float second_r = -1e30f;
    for (int32_t v = 0; v < vocab; ++v) {
      d.max_abs = std::max(d.max_abs, std::fabs(static_cast<double>(g[v]) - r[v]));
      d.max_ref = std::max(d.max_ref, std::fabs(static_cast<double>(r[v])));
      if (g[v] > g[best_g]) best_g = v;
      if (r[v] > r[best_r]) best_r = v;
    }
    for (int32_t v = 0; v < vocab; ++v) {
      if (v != best_r) second_r = std::max(second_r, r[v]);
    }
    // Argmax must agree wherever the reference's top two are not a near tie.
    if (r[best_r] - second_r > 1e-2f) {
      ++d.argmax_checked;
      d.argmax_agree += best_g == best_r;
    }
  }
  return d;
}

class GoldenLogitsTest : public ::testing::TestWithParam<size_t> {};

TEST_P(GoldenLogitsTest, MatchesTransformersAndIsFeedInvariant) {
  static const Spec spec = LoadSpec();
  const Fixture& f = spec.fixtures[GetParam()];
  SCOPED_TRACE(f.name);
  const bool gpu = TestDevice() == Device::kCuda;
  auto model = LoadModel(MakeModel(f), TestDevice());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ThreadPool pool(2);
  const std::string base = std::string(TS_SOURCE_DIR) + "/tests/golden/model/fixtures/" + f.name;
  const std::vector<float> ref = ReadFloats(base + ".f32.bin");
  const int32_t P = static_cast<int32_t>(spec.prompt.size());
  ASSERT_EQ(ref.size(), static_cast<size_t>(P) * spec.vocab);

  // 1. Whole prompt at once, f32 KV, against transformers in float32.
  auto whole = RunFeeds(**model, {{spec.prompt, {P}, {}}}, KvDtype::kF32, pool)[0];
  Diff d = Compare(whole, ref, spec.vocab);
  std::printf("%s: max |ours - transformers f32| = %.2e (max |logit| %.2f), argmax %d/%d\n",
              f.name.c_str(), d.max_abs, d.max_ref, d.argmax_agree, d.argmax_checked);
  EXPECT_GT(d.argmax_checked, P / 2);
  // CPUs with VNNI multiply quantized weights by activations rounded to int16 per group
  // (kernels/packed_quant.h): still every argmax, within ~1e-4 of the range.
  const bool int16_activations = !gpu && SelectedIsa() == Isa::kAvx512Vnni &&
                                 std::find(f.args.begin(), f.args.end(), "--quant") != f.args.end();
  if (gpu) {
    EXPECT_LT(d.max_abs, 0.03 * d.max_ref) << "max |ours - transformers| " << d.max_abs;
    EXPECT_GE(d.argmax_agree, d.argmax_checked * 9 / 10);
  } else {
    EXPECT_LT(d.max_abs, (int16_activations ? 5e-4 : 1e-5) * d.max_ref)
        << "max |ours - transformers| " << d.max_abs;
    EXPECT_EQ(d.argmax_agree, d.argmax_checked);
  }
  // Bitwise on the CPU; within bf16 rounding of the whole-prompt logits on the GPU.
  auto expect_same = [&](const std::vector<float>& got, const char* what) {
    if (!gpu) {
      EXPECT_EQ(got, whole) << what;
      return;
    }
    Diff g = Compare(got, whole, spec.vocab);
    EXPECT_LT(g.max_abs, 0.02 * g.max_ref) << what;
  };

  // 2. Chunks of odd sizes, token by token, and batched with two other sequences of other
  // lengths and chunkings: bitwise identical to the whole-prompt logits.
  auto chunked =
      RunFeeds(**model, {{spec.prompt, {5, 11, 1, 17, 3, 35}, {}}}, KvDtype::kF32, pool)[0];
  expect_same(chunked, "chunked prefill differs");
  auto single =
      RunFeeds(**model, {{spec.prompt, std::vector<int32_t>(P, 1), {}}}, KvDtype::kF32, pool)[0];
  expect_same(single, "token-by-token differs");
  std::vector<int32_t> other_a(40), other_b(23);
  for (size_t i = 0; i < other_a.size(); ++i)
    other_a[i] = static_cast<int32_t>((i * 31 + 7) % spec.vocab);
  for (size_t i = 0; i < other_b.size(); ++i)
    other_b[i] = static_cast<int32_t>((i * 17 + 3) % spec.vocab);
  auto batched = RunFeeds(
      **model, {{other_a, {40}, {}}, {spec.prompt, {30, 1, 41}, {}}, {other_b, {7, 16}, {}}},
      KvDtype::kF32, pool);
  expect_same(batched[1], "batched with other sequences differs");

  // 2b. GPU: with --batch-invariant the same feeds are bitwise identical there too.
  if (gpu) {
    auto invariant = LoadModel(MakeModel(f), Device::kCuda, {.batch_invariant = true});
    ASSERT_TRUE(invariant.ok()) << invariant.status().ToString();
    auto inv_whole = RunFeeds(**invariant, {{spec.prompt, {P}, {}}}, KvDtype::kF32, pool)[0];
    EXPECT_LT(Compare(inv_whole, ref, spec.vocab).max_abs, 0.03 * d.max_ref);
    EXPECT_EQ(
        RunFeeds(**invariant, {{spec.prompt, {5, 11, 1, 17, 3, 35}, {}}}, KvDtype::kF32, pool)[0],
        inv_whole)
        << "batch-invariant: chunked prefill differs";
    EXPECT_EQ(RunFeeds(**invariant, {{spec.prompt, std::vector<int32_t>(P, 1), {}}}, KvDtype::kF32,
                       pool)[0],
              inv_whole)
        << "batch-invariant: token-by-token differs";
    EXPECT_EQ(
        RunFeeds(**invariant,
                 {{other_a, {40}, {}}, {spec.prompt, {30, 1, 41}, {}}, {other_b, {7, 16}, {}}},
                 KvDtype::kF32, pool)[1],
        inv_whole)
        << "batch-invariant: batched with other sequences differs";
  }

  // 2c. CPU, --int8-activations (llama.cpp's precision): within a few percent, argmax mostly
  // kept, and still bitwise feed-invariant.
  if (int16_activations) {
    auto int8 = LoadModel(MakeModel(f), Device::kCpu, {.int8_activations = true});
    ASSERT_TRUE(int8.ok()) << int8.status().ToString();
    EXPECT_NE((*int8)->fingerprint(), (*model)->fingerprint()) << "KV of both would mix";
    auto int8_whole = RunFeeds(**int8, {{spec.prompt, {P}, {}}}, KvDtype::kF32, pool)[0];
    Diff i8 = Compare(int8_whole, ref, spec.vocab);
    std::printf("%s: int8 activations: max |diff| %.3f, argmax %d/%d\n", f.name.c_str(), i8.max_abs,
                i8.argmax_agree, i8.argmax_checked);
    EXPECT_LT(i8.max_abs, 0.06 * i8.max_ref) << "int8 activations";
    EXPECT_GE(i8.argmax_agree, i8.argmax_checked * 9 / 10);
    EXPECT_EQ(RunFeeds(**int8, {{spec.prompt, {5, 11, 1, 17, 3, 35}, {}}}, KvDtype::kF32, pool)[0],
              int8_whole)
        << "int8 activations: chunked prefill differs";
  }

  // 3. bf16 models: our default (bf16 KV) against transformers running in bfloat16, whose
  // activations are rounded to bf16 after every op; a looser, stated tolerance.
  const std::vector<float> native = ReadFloats(base + ".bf16.bin");
  if (!native.empty()) {
    auto ours = RunFeeds(**model, {{spec.prompt, {P}, {}}}, KvDtype::kBf16, pool)[0];
    Diff n = Compare(ours, native, spec.vocab);
    std::printf("%s: bf16 KV vs transformers bf16: max |diff| %.3f, argmax %d/%d\n", f.name.c_str(),
                n.max_abs, n.argmax_agree, n.argmax_checked);
    EXPECT_LT(n.max_abs, 0.1 * n.max_ref) << "vs transformers bf16";
    EXPECT_GE(n.argmax_agree, n.argmax_checked * 9 / 10);
    Diff ref_bf16kv = Compare(ours, ref, spec.vocab);
    EXPECT_LT(ref_bf16kv.max_abs, (gpu ? 0.03 : 0.02) * ref_bf16kv.max_ref)
        << "bf16 KV vs float32 reference";

    // 3b. CPU, --bf16-activations: activations rounded to bf16 as transformers' bf16 run
    // rounds them; as close to it as our default, and still bitwise feed-invariant.
    if (!gpu && CpuHasAvx512Bf16() && SelectedIsa() != Isa::kAvx2) {
      auto fast = LoadModel(MakeModel(f), Device::kCpu, {.bf16_activations = true});
      ASSERT_TRUE(fast.ok()) << fast.status().ToString();
      EXPECT_NE((*fast)->fingerprint(), (*model)->fingerprint()) << "KV of both would mix";
      auto fast_whole = RunFeeds(**fast, {{spec.prompt, {P}, {}}}, KvDtype::kBf16, pool)[0];
      Diff b = Compare(fast_whole, native, spec.vocab);
      std::printf("%s: bf16 activations vs transformers bf16: max |diff| %.3f, argmax %d/%d\n",
                  f.name.c_str(), b.max_abs, b.argmax_agree, b.argmax_checked);
      EXPECT_LT(b.max_abs, 0.1 * b.max_ref) << "bf16 activations vs transformers bf16";
      EXPECT_GE(b.argmax_agree, b.argmax_checked * 9 / 10);
      Diff bf = Compare(fast_whole, ref, spec.vocab);
      EXPECT_LT(bf.max_abs, 0.04 * bf.max_ref) << "bf16 activations vs float32 reference";
      EXPECT_EQ(
          RunFeeds(**fast, {{spec.prompt, {5, 11, 1, 17, 3, 35}, {}}}, KvDtype::kBf16, pool)[0],
          fast_whole)
          << "bf16 activations: chunked prefill differs";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllFixtures, GoldenLogitsTest, ::testing::Range<size_t>(0, 12),
                         [](const auto& info) { return LoadSpec().fixtures[info.param].name; });

}  // namespace
}  // namespace ts
