#include "text/incremental_detokenizer.h"

#include <random>

#include "gtest/gtest.h"
#include "text/utf8.h"
#include "tiny_tokenizers.h"

namespace ts::text {
namespace {

using testing::AddedToken;
using testing::ByteLevelTokenizer;
using testing::MustBuild;

std::vector<std::string> Stream(const Tokenizer& t, const std::vector<int32_t>& ids,
                                bool skip_special = false) {
  IncrementalDetokenizer stream(t, skip_special);
  std::vector<std::string> pieces;
  for (const int32_t id : ids) pieces.push_back(stream.Push(id));
  pieces.push_back(stream.Finish());
  return pieces;
}

TEST(IncrementalDetokenizerTest, HoldsBackSplitCharacters) {
  const Tokenizer t = MustBuild(ByteLevelTokenizer({}));
  // "中" is E4 B8 AD, one byte token each; "😀" is F0 9F 98 80.
  const std::vector<std::string> pieces =
      Stream(t, {'a', 0xE4, 0xB8, 0xAD, 0xF0, 0x9F, 0x98, 0x80, 'b'});
  EXPECT_EQ(pieces, (std::vector<std::string>{"a", "", "", "中", "", "", "", "😀", "b", ""}));
}

TEST(IncrementalDetokenizerTest, InvalidBytesBecomeReplacementCharacters) {
  const Tokenizer t = MustBuild(ByteLevelTokenizer({}));
  const std::vector<std::string> pieces = Stream(t, {0xE4, 'x', 0x80, 0xF0, 0x9F});
  EXPECT_EQ(pieces, (std::vector<std::string>{"", "\xEF\xBF\xBDx", "\xEF\xBF\xBD", "", "",
                                              "\xEF\xBF\xBD"}));
}

TEST(IncrementalDetokenizerTest, SkipsSpecialTokens) {
  const Tokenizer t = MustBuild(ByteLevelTokenizer({}, {AddedToken(300, "<|end|>", true)}));
  EXPECT_EQ(Stream(t, {'a', 300, 'b'}, /*skip_special=*/true),
            (std::vector<std::string>{"a", "", "b", ""}));
  EXPECT_EQ(Stream(t, {'a', 300, 'b'}, /*skip_special=*/false),
            (std::vector<std::string>{"a", "<|end|>", "b", ""}));
}

// Without a decoder, Hugging Face joins the token strings with spaces; ids past the vocabulary
// add nothing, not even a space.
TEST(IncrementalDetokenizerTest, JoinsWithSpacesWithoutDecoder) {
  nlohmann::json j = ByteLevelTokenizer({});
  j["decoder"] = nullptr;
  const Tokenizer t = MustBuild(j);
  EXPECT_EQ(Stream(t, {'a', 1 << 20, 'b', 'c'}),
            (std::vector<std::string>{"a", "", " b", " c", ""}));
  EXPECT_EQ(*t.Decode(std::vector<int32_t>{'a', 1 << 20, 'b', 'c'}), "a b c");
}

// Property: for random byte tokens (mostly broken UTF-8), every piece is valid UTF-8 and the
// pieces concatenate to the full decode.
TEST(IncrementalDetokenizerTest, RandomIdsMatchFullDecode) {
  const Tokenizer t = MustBuild(ByteLevelTokenizer({}, {AddedToken(300, "<|end|>", true)}));
  std::mt19937 rng(1);
  for (int round = 0; round < 300; ++round) {
    std::vector<int32_t> ids;
    const int n = static_cast<int>(rng() % 20);
    for (int i = 0; i < n; ++i) {
      const uint32_t r = rng() % 10;
      ids.push_back(r == 0  ? 300
                    : r < 4 ? static_cast<int32_t>('a' + rng() % 3)
                            : static_cast<int32_t>(0x80 + rng() % 0x78));
    }
    for (const bool skip : {false, true}) {
      std::string joined;
      for (const std::string& piece : Stream(t, ids, skip)) {
        ASSERT_TRUE(IsValidUtf8(piece));
        joined += piece;
      }
      DecodeOptions options;
      options.skip_special = skip;
      EXPECT_EQ(joined, *t.Decode(ids, options));
    }
  }
}

}  // namespace
}  // namespace ts::text
