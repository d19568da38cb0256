// Tensor-parallel weight shards: row and column slices hold exactly the elements of the
// matrix they cut, for every stored format, and shapes that cannot split are clear errors.
#include "model/weight_shard.h"

#include <gtest/gtest.h>

#include <random>

#include "base/half.h"
#include "kernels/reference/reference_kernels.h"
#include "model/mlx_quantize.h"

namespace ts {
namespace {

// A rows x cols matrix in `format`, with the bytes it points at.
struct TestMatrix {
  std::vector<uint8_t> data, scales, biases;
  WeightMatrix w;
};

TestMatrix MakeMatrix(WeightFormat format, int64_t rows, int64_t cols, int group, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> values(static_cast<size_t>(rows * cols));
  for (float& v : values) v = dist(rng);
  TestMatrix m;
  m.w.format = format;
  m.w.rows = rows;
  m.w.cols = cols;
  if (format == WeightFormat::kQ4 || format == WeightFormat::kQ8) {
    QuantizedMatrix q = MlxQuantize(values.data(), rows, cols, format == WeightFormat::kQ8 ? 8 : 4,
                                    group, DType::kBf16);
    m.data = std::move(q.packed);
    m.scales = std::move(q.scales);
    m.biases = std::move(q.biases);
    m.w.scales = m.scales.data();
    m.w.biases = m.biases.data();
    m.w.scale_type = ScaleType::kBf16;
    m.w.group_size = group;
  } else if (format == WeightFormat::kBf16) {
    m.data.resize(values.size() * 2);
    auto* out = reinterpret_cast<uint16_t*>(m.data.data());
    for (size_t i = 0; i < values.size(); ++i) out[i] = F32ToBf16(values[i]);
  } else {
    m.data.resize(values.size() * 4);
    std::memcpy(m.data.data(), values.data(), m.data.size());
  }
  m.w.data = m.data.data();
  return m;
}

class WeightShardTest : public ::testing::TestWithParam<WeightFormat> {};

TEST_P(WeightShardTest, RowSliceViewsTheRows) {
  const TestMatrix m = MakeMatrix(GetParam(), 37, 128, 32, 1);
  const WeightMatrix s = RowSlice(m.w, 11, 30);
  ASSERT_EQ(s.rows, 19);
  ASSERT_EQ(s.cols, 128);
  for (int64_t r = 0; r < s.rows; ++r) {
    for (int64_t c = 0; c < s.cols; ++c) {
      ASSERT_EQ(reference::WeightAt(s, r, c), reference::WeightAt(m.w, r + 11, c)) << r << "," << c;
    }
  }
}

TEST_P(WeightShardTest, ColumnSliceCopiesTheColumns) {
  const TestMatrix m = MakeMatrix(GetParam(), 13, 192, 32, 2);
  std::vector<std::unique_ptr<uint8_t[]>> owned;
  const WeightMatrix s = ColumnSlice(m.w, 64, 160, &owned);
  ASSERT_EQ(s.rows, 13);
  ASSERT_EQ(s.cols, 96);
  EXPECT_FALSE(owned.empty());
  for (int64_t r = 0; r < s.rows; ++r) {
    for (int64_t c = 0; c < s.cols; ++c) {
      ASSERT_EQ(reference::WeightAt(s, r, c), reference::WeightAt(m.w, r, c + 64)) << r << "," << c;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, WeightShardTest,
                         ::testing::Values(WeightFormat::kF32, WeightFormat::kBf16,
                                           WeightFormat::kQ8, WeightFormat::kQ4));

TEST(WeightShardTest, VocabRangesCoverTheVocabularyOnce) {
  for (int size : {1, 2, 3, 4, 7}) {
    int32_t expected_begin = 0;
    for (int r = 0; r < size; ++r) {
      int32_t begin = 0, end = 0;
      VocabRange(509, r, size, &begin, &end);
      EXPECT_EQ(begin, expected_begin);
      EXPECT_GE(end - begin, 509 / size);
      expected_begin = end;
    }
    EXPECT_EQ(expected_begin, 509);
  }
}

ModelConfig TinyConfig() {
  ModelConfig c;
  c.vocab_size = 509;
  c.hidden_size = 128;
  c.intermediate_size = 384;
  c.num_layers = 1;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 32;
  return c;
}

TEST(WeightShardTest, DimsOfEachRank) {
  ModelWeights w;
  w.layers.resize(1);
  auto dims = ShardDimsFor(TinyConfig(), w, 1, 2);
  ASSERT_TRUE(dims.ok()) << dims.status().ToString();
  EXPECT_EQ(dims->num_heads, 2);
  EXPECT_EQ(dims->num_kv_heads, 1);
  EXPECT_EQ(dims->intermediate_size, 192);
  EXPECT_EQ(dims->vocab_begin, 254);
  EXPECT_EQ(dims->vocab_end, 509);
}

TEST(WeightShardTest, UnevenSplitsAreClearErrors) {
  ModelWeights w;
  w.layers.resize(1);
  auto kv = ShardDimsFor(TinyConfig(), w, 0, 4);  // 2 KV heads over 4 ranks
  ASSERT_FALSE(kv.ok());
  EXPECT_NE(kv.status().message().find("KV heads (2)"), std::string::npos)
      << kv.status().ToString();
  auto heads = ShardDimsFor(TinyConfig(), w, 0, 3);
  ASSERT_FALSE(heads.ok());
  EXPECT_NE(heads.status().message().find("attention heads"), std::string::npos);

  // 384 MLP columns over 2 ranks cut groups of 128 (192 each).
  const TestMatrix down = MakeMatrix(WeightFormat::kQ4, 128, 384, 128, 3);
  w.layers[0].down.weight = down.w;
  auto groups = ShardDimsFor(TinyConfig(), w, 0, 2);
  ASSERT_FALSE(groups.ok());
  EXPECT_NE(groups.status().message().find("quantization groups of 128"), std::string::npos)
      << groups.status().ToString();
}

}  // namespace
}  // namespace ts
