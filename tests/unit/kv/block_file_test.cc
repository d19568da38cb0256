#include "kv/ssd/block_file.h"

#include <gtest/gtest.h>

#include <vector>

#include "kv_test_util.h"

namespace ts {
namespace {

using testing::Pattern;
using testing::Tokens;

struct Record {
  std::vector<int32_t> tokens = Tokens(16, 3);
  std::vector<uint8_t> payload = Pattern(5, 4096);
  BlockFileKey key() const {
    return {.fingerprint = {.low = 1, .high = 2},
            .hash = {.low = 3, .high = 4},
            .parent = {.low = 5, .high = 6},
            .tokens = tokens,
            .payload_bytes = payload.size()};
  }
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out = EncodeBlockFileHeader(key(), payload);
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
  }
};

TEST(BlockFileTest, HeaderSizeIsAlignedAndHoldsTokens) {
  EXPECT_EQ(BlockFileHeaderBytes(1), 128u);
  EXPECT_EQ(BlockFileHeaderBytes(16), 192u);
  EXPECT_EQ(BlockFileHeaderBytes(8), 128u);
  Record r;
  EXPECT_EQ(EncodeBlockFileHeader(r.key(), r.payload).size(), BlockFileHeaderBytes(16));
}

TEST(BlockFileTest, RoundTrip) {
  Record r;
  EXPECT_TRUE(VerifyBlockFile(r.bytes(), r.key()).ok());
}

TEST(BlockFileTest, EveryFlippedByteIsDetected) {
  Record r;
  const std::vector<uint8_t> good = r.bytes();
  const size_t header = BlockFileHeaderBytes(16);
  // Every header byte that carries data, and a spread of payload bytes.
  std::vector<size_t> offsets;
  for (size_t i = 0; i < 96 + 16 * 4; ++i) offsets.push_back(i);
  for (size_t i = header; i < good.size(); i += 97) offsets.push_back(i);
  offsets.push_back(good.size() - 1);
  for (size_t offset : offsets) {
    if (offset >= 68 && offset < 72) continue;  // reserved
    std::vector<uint8_t> bad = good;
    bad[offset] ^= 0x10;
    Status s = VerifyBlockFile(bad, r.key());
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << "offset " << offset << ": " << s.ToString();
  }
}

TEST(BlockFileTest, TruncatedAndOversizedRecordsAreRejected) {
  Record r;
  std::vector<uint8_t> bytes = r.bytes();
  for (size_t n : {size_t{0}, size_t{10}, size_t{96}, bytes.size() - 1}) {
    EXPECT_EQ(VerifyBlockFile(std::span(bytes).first(n), r.key()).code(), StatusCode::kDataLoss);
  }
  bytes.push_back(0);
  EXPECT_EQ(VerifyBlockFile(bytes, r.key()).code(), StatusCode::kDataLoss);
}

TEST(BlockFileTest, ForeignFingerprintHashAndTokens) {
  Record r;
  const std::vector<uint8_t> bytes = r.bytes();
  BlockFileKey key = r.key();
  key.fingerprint.low ^= 1;
  EXPECT_EQ(VerifyBlockFile(bytes, key).code(), StatusCode::kDataLoss);
  key = r.key();
  key.hash.high ^= 1;
  EXPECT_EQ(VerifyBlockFile(bytes, key).code(), StatusCode::kDataLoss);
  std::vector<int32_t> other = r.tokens;
  other[7] += 1;
  key = r.key();
  key.tokens = other;
  EXPECT_EQ(VerifyBlockFile(bytes, key).code(), StatusCode::kFailedPrecondition);
}

TEST(BlockFileTest, FileNames) {
  const BlockHash h{.low = 0x1111, .high = 0xab00000000000000ull};
  EXPECT_EQ(BlockFileName(h), "ab/ab000000000000000000000000001111.kvb");
  BlockHash parsed;
  ASSERT_TRUE(ParseBlockFileName("ab000000000000000000000000001111.kvb", &parsed));
  EXPECT_EQ(parsed, h);
  EXPECT_FALSE(ParseBlockFileName("ab000000000000000000000000001111.kvb.tmp", &parsed));
  EXPECT_FALSE(ParseBlockFileName("ab000000000000000000000000001111.kv", &parsed));
  EXPECT_FALSE(ParseBlockFileName("README", &parsed));
}

}  // namespace
}  // namespace ts
