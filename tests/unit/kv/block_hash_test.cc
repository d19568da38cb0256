#include "kv/block_hash.h"

#include <gtest/gtest.h>

#include <vector>

#include "kv_test_util.h"

namespace ts {
namespace {

using testing::Tokens;

TEST(BlockHashTest, HexRoundTrip) {
  BlockHash h{.low = 0x0123456789abcdefull, .high = 0xfedcba9876543210ull};
  EXPECT_EQ(h.ToHex(), "fedcba98765432100123456789abcdef");
  BlockHash parsed;
  ASSERT_TRUE(BlockHash::FromHex(h.ToHex(), &parsed));
  EXPECT_EQ(parsed, h);
  EXPECT_FALSE(BlockHash::FromHex("fedcba98765432100123456789abcde", &parsed));
  EXPECT_FALSE(BlockHash::FromHex("Fedcba98765432100123456789abcdef", &parsed));
  EXPECT_FALSE(BlockHash::FromHex("gedcba98765432100123456789abcdef", &parsed));
}

TEST(BlockHashTest, ChainDependsOnParentTokensAndExtra) {
  const BlockHash root{.low = 1, .high = 2};
  const std::vector<int32_t> a = Tokens(16, 1);
  std::vector<int32_t> b = a;
  b[15] += 1;
  EXPECT_EQ(HashBlock(root, a, ""), HashBlock(root, a, ""));
  EXPECT_NE(HashBlock(root, a, ""), HashBlock(root, b, ""));
  EXPECT_NE(HashBlock(root, a, ""), HashBlock({.low = 1, .high = 3}, a, ""));
  EXPECT_NE(HashBlock(root, a, ""), HashBlock(root, a, "lora-7"));
  // Large blocks take the heap path; it must agree with itself and differ by content.
  const std::vector<int32_t> big = Tokens(1024, 2);
  EXPECT_EQ(HashBlock(root, big, "x"), HashBlock(root, big, "x"));
  EXPECT_NE(HashBlock(root, big, "x"), HashBlock(root, big, "y"));
}

TEST(BlockHashTest, FingerprintCoversModelAndLayout) {
  const BlockHash model{.low = 10, .high = 20};
  KvLayout layout = testing::SmallLayout(16);
  const BlockHash base = CacheFingerprint(model, layout);
  EXPECT_EQ(base, CacheFingerprint(model, layout));
  EXPECT_NE(base, CacheFingerprint({.low = 11, .high = 20}, layout));
  KvLayout other = layout;
  other.dtype = KvDtype::kBf16;
  EXPECT_NE(base, CacheFingerprint(model, other));
  other = layout;
  other.block_size = 32;
  EXPECT_NE(base, CacheFingerprint(model, other));
  other = layout;
  other.head_dim = 16;
  EXPECT_NE(base, CacheFingerprint(model, other));
}

TEST(BlockHashTest, SaltChangesTheRoot) {
  const BlockHash fp{.low = 5, .high = 6};
  EXPECT_EQ(ChainRoot(fp, ""), fp);
  EXPECT_NE(ChainRoot(fp, "tenant-a"), fp);
  EXPECT_NE(ChainRoot(fp, "tenant-a"), ChainRoot(fp, "tenant-b"));
}

TEST(BlockHashTest, HashFullBlocksSkipsPartialBlockAndResumes) {
  const BlockHash root{.low = 3, .high = 4};
  const std::vector<int32_t> tokens = Tokens(4 * 5 + 3, 9);
  std::vector<BlockHash> all;
  HashFullBlocks(root, tokens, 4, 0, "", &all);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0], HashBlock(root, std::span(tokens).first(4), ""));
  EXPECT_EQ(all[1], HashBlock(all[0], std::span(tokens).subspan(4, 4), ""));
  std::vector<BlockHash> resumed(all.begin(), all.begin() + 2);
  HashFullBlocks(all[1], tokens, 4, 2, "", &resumed);
  EXPECT_EQ(resumed, all);
}

}  // namespace
}  // namespace ts
