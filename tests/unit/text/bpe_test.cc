#include "text/bpe.h"

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"

namespace ts::text {
namespace {

using json = nlohmann::json;

std::vector<int32_t> Encode(const BpeModel& model, std::string_view word) {
  std::vector<int32_t> ids;
  Status s = model.Encode(word, &ids);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return ids;
}

// Vocabulary a=0 b=1 c=2 ab=3 bc=4 abc=5 with the merge ranks given.
BpeModel CharModel(const std::vector<json>& merges, bool ignore_merges = false) {
  const json config = {{"type", "BPE"},
                       {"vocab", {{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"bc", 4}, {"abc", 5}}},
                       {"merges", json(merges)},
                       {"ignore_merges", ignore_merges}};
  Result<BpeModel> model = BpeModel::Create(config, /*byte_level=*/false);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

TEST(BpeTest, LowestRankMergesFirst) {
  EXPECT_EQ(Encode(CharModel({"a b", "ab c"}), "abc"), (std::vector<int32_t>{5}));
  EXPECT_EQ(Encode(CharModel({"b c", "ab c"}), "abc"), (std::vector<int32_t>{0, 4}));
  // Both pair formats parse the same.
  EXPECT_EQ(Encode(CharModel({json::array({"a", "b"}), json::array({"ab", "c"})}), "abc"),
            (std::vector<int32_t>{5}));
}

TEST(BpeTest, TiesGoToTheLeftmostPair) {
  const BpeModel model = CharModel({"a b"});
  EXPECT_EQ(Encode(model, "ababab"), (std::vector<int32_t>{3, 3, 3}));
  EXPECT_EQ(Encode(model, "aab"), (std::vector<int32_t>{0, 3}));
}

TEST(BpeTest, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  // "abc" is in the vocabulary, but no merge sequence reaches it from b+c first.
  EXPECT_EQ(Encode(CharModel({"b c"}, /*ignore_merges=*/false), "abc"),
            (std::vector<int32_t>{0, 4}));
  EXPECT_EQ(Encode(CharModel({"b c"}, /*ignore_merges=*/true), "abc"), (std::vector<int32_t>{5}));
}

TEST(BpeTest, ByteFallbackAndFusedUnknown) {
  json vocab = {{"<unk>", 0}, {"a", 1}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    if (b != 0xFF) vocab[name] = 2 + b;
  }
  json config = {{"type", "BPE"},        {"vocab", vocab},        {"merges", json::array()},
                 {"unk_token", "<unk>"}, {"byte_fallback", true}, {"fuse_unk", true}};
  Result<BpeModel> model = BpeModel::Create(config, /*byte_level=*/false);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(Encode(*model, "a\xC3\xA9"), (std::vector<int32_t>{1, 2 + 0xC3, 2 + 0xA9}));
  config["byte_fallback"] = false;
  model = BpeModel::Create(config, /*byte_level=*/false);
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(Encode(*model,
                   "\xC3\xA9\xC3\xA9"
                   "a\xC3\xA9"),
            (std::vector<int32_t>{0, 1, 0}));
}

TEST(BpeTest, ByteLevelNeedsEveryByte) {
  json vocab;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    // GPT-2 characters: printable ASCII maps to itself, space to U+0120.
    if (b == ' ') {
      s = "\xC4\xA0";
    } else if (b > ' ' && b < 127) {
      s = std::string(1, static_cast<char>(b));
    } else {
      continue;
    }
    vocab[s] = b;
  }
  const json config = {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}};
  EXPECT_FALSE(BpeModel::Create(config, /*byte_level=*/true).ok());  // bytes missing
}

TEST(BpeTest, RejectsBrokenModels) {
  EXPECT_FALSE(
      BpeModel::Create({{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", json::array({"a b"})}},
                       false)
          .ok());
  EXPECT_EQ(BpeModel::Create({{"type", "Unigram"}}, false).status().code(),
            StatusCode::kUnimplemented);
  EXPECT_FALSE(BpeModel::Create({{"type", "BPE"}}, false).ok());
}

// The merge loop is O(n log n): a long run must not take quadratic time.
TEST(BpeTest, LongWordsStayFast) {
  const BpeModel model = CharModel({"a b", "b c", "ab c"});
  std::string word;
  for (int i = 0; i < 100000; ++i) word += "abc";
  EXPECT_EQ(Encode(model, word).size(), 100000u);
}

}  // namespace
}  // namespace ts::text
