#include "model/model_config.h"

#include <gtest/gtest.h>

namespace ts {
namespace {

constexpr const char* kQwen3 = R"({
  "architectures": ["Qwen3ForCausalLM"], "vocab_size": 1000, "hidden_size": 64,
  "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "head_dim": 48, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6,
  "tie_word_embeddings": true, "torch_dtype": "bfloat16", "eos_token_id": 5})";

TEST(ModelConfigTest, ParsesQwen3) {
  auto c = ParseModelConfig(kQwen3, R"({"eos_token_id": [7, 8]})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->arch, Arch::kQwen3);
  EXPECT_TRUE(c->qk_norm);
  EXPECT_EQ(c->head_dim, 48);
  EXPECT_EQ(c->rope.theta, 1e6f);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int32_t>{7, 8}));  // generation_config wins
}

TEST(ModelConfigTest, ReadsTransformers5RopeParametersAndDtype) {
  auto c = ParseModelConfig(R"({
    "architectures": ["LlamaForCausalLM"], "vocab_size": 10, "hidden_size": 8,
    "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "dtype": "float16",
    "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
      "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})",
                            "");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->rope.theta, 500000.f);
  EXPECT_EQ(c->rope.llama3_factor, 8.f);
  EXPECT_EQ(c->dtype, "float16");
  EXPECT_EQ(c->num_kv_heads, 2);
  EXPECT_EQ(c->head_dim, 4);
}

TEST(ModelConfigTest, MlxQuantizationWithOverrides) {
  std::string cfg = kQwen3;
  cfg.pop_back();
  cfg += R"(, "quantization": {"group_size": 64, "bits": 4,
            "model.layers.0.mlp.down_proj": {"group_size": 32, "bits": 8},
            "lm_head": false}})";
  auto c = ParseModelConfig(cfg, "");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->QuantFor("model.layers.1.mlp.down_proj").bits, 4);
  EXPECT_EQ(c->QuantFor("model.layers.0.mlp.down_proj").bits, 8);
  EXPECT_EQ(c->QuantFor("model.layers.0.mlp.down_proj").group_size, 32);
  EXPECT_EQ(c->QuantFor("lm_head").bits, 0);
}

TEST(ModelConfigTest, UnsupportedValuesAreClearErrors) {
  auto replace = [](std::string s, const std::string& from, const std::string& to) {
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  struct Case {
    std::string config;
    std::string message;
  };
  const Case cases[] = {
      {replace(kQwen3, "Qwen3ForCausalLM", "GPT2LMHeadModel"), "not supported"},
      {replace(kQwen3, "\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3"), "multiple"},
      {replace(kQwen3, "\"head_dim\": 48", "\"head_dim\": 47"), "even"},
      {replace(kQwen3, "\"hidden_size\": 64", "\"hidden_size\": -64"), "out of range"},
      {replace(kQwen3, "\"hidden_size\": 64", "\"hidden_size\": \"64\""), "integer"},
      {replace(kQwen3, "\"rope_theta\": 1000000.0",
               "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}"),
       "yarn"},
      {"{", "JSON"},
  };
  for (const Case& c : cases) {
    auto r = ParseModelConfig(c.config, "");
    ASSERT_FALSE(r.ok()) << c.config;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << r.status().message();
  }
  std::string q = kQwen3;
  q.pop_back();
  EXPECT_FALSE(ParseModelConfig(q + R"(, "quantization": {"bits": 3, "group_size": 64}})", "").ok());
  EXPECT_FALSE(ParseModelConfig(q + R"(, "quantization": {"bits": 4, "group_size": 48}})", "").ok());
}

}  // namespace
}  // namespace ts
