// `quantize` on a float folder must write exactly what gen-model writes when it quantizes the
// same float values itself, and the result must load and run.
#include <gtest/gtest.h>

#include <cstring>

#include "model/llama_model.h"
#include "model/model_folder_writer.h"
#include "model/random_model.h"

namespace ts {
namespace {

TEST(QuantizeFolderTest, MatchesDirectQuantizationByteForByte) {
  GenModelOptions o;
  o.shape = *PresetShape("tiny");
  o.shape.vocab_size = 96;
  o.dtype = DType::kF32;
  o.seed = 3;
  o.max_shard_bytes = 100 << 10;  // several shards: exercises the index file too
  const std::string dir = ::testing::TempDir();
  o.out_dir = dir + "/qf_float";
  ASSERT_TRUE(GenerateRandomModel(o).ok());
  ASSERT_TRUE(QuantizeModelFolder(o.out_dir, dir + "/qf_converted", 4, 32, 1ull << 30).ok());
  o.quant = {4, 32};
  o.out_dir = dir + "/qf_direct";
  ASSERT_TRUE(GenerateRandomModel(o).ok());

  auto a = TensorStore::Open(dir + "/qf_converted");
  auto b = TensorStore::Open(dir + "/qf_direct");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->Names(), b->Names());
  for (const std::string& name : a->Names()) {
    const TensorView* x = a->Find(name);
    const TensorView* y = b->Find(name);
    ASSERT_EQ(x->info->shape, y->info->shape) << name;
    ASSERT_EQ(x->info->dtype, y->info->dtype) << name;
    EXPECT_EQ(std::memcmp(x->data, y->data, x->info->end - x->info->begin), 0) << name;
  }
  auto model = LoadModel(dir + "/qf_converted", Device::kCpu);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->config().quant.bits, 4);
}

TEST(QuantizeFolderTest, RefusesBadArguments) {
  EXPECT_FALSE(QuantizeModelFolder("/nonexistent", "/tmp/x", 3, 64, 1 << 30).ok());
  EXPECT_FALSE(QuantizeModelFolder("/nonexistent", "/tmp/x", 4, 64, 1 << 30).ok());
}

}  // namespace
}  // namespace ts
