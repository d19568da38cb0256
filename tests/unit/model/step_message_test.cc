// Step messages between tensor-parallel ranks: a batch survives encoding, and every cut or
// garbled message is an error.
#include "model/step_message.h"

#include <gtest/gtest.h>

namespace ts {
namespace {

struct Arrays {
  std::vector<int32_t> tokens = {5, 6, 7, 9}, positions = {0, 1, 2, 40}, query_start = {0, 3, 4},
                       context_len = {3, 41}, block_table = {2, -1, -1, 0, 1, 3},
                       logit_rows = {2, 3};
  std::vector<int64_t> slot = {32, 33, 34, 56};

  StepBatch batch() const {
    StepBatch b;
    b.tokens = tokens;
    b.positions = positions;
    b.query_start = query_start;
    b.context_len = context_len;
    b.block_table = block_table;
    b.max_blocks_per_seq = 3;
    b.slot = slot;
    b.logit_rows = logit_rows;
    return b;
  }
};

TEST(StepMessageTest, RoundTrip) {
  const Arrays a;
  const std::vector<uint8_t> bytes = EncodeStep(a.batch(), 4, 16, KvDtype::kF16);
  auto m = DecodeStepMessage(bytes);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_FALSE(m->shutdown);
  EXPECT_EQ(m->num_blocks, 4);
  EXPECT_EQ(m->block_size, 16);
  EXPECT_EQ(m->kv_dtype, KvDtype::kF16);
  EXPECT_EQ(m->tokens, a.tokens);
  EXPECT_EQ(m->positions, a.positions);
  EXPECT_EQ(m->query_start, a.query_start);
  EXPECT_EQ(m->context_len, a.context_len);
  EXPECT_EQ(m->block_table, a.block_table);
  EXPECT_EQ(m->slot, a.slot);
  EXPECT_EQ(m->logit_rows, a.logit_rows);
  const StepBatch b = m->batch();
  EXPECT_EQ(b.max_blocks_per_seq, 3);
  EXPECT_EQ(b.num_seqs(), 2);
  EXPECT_EQ(b.num_tokens(), 4);
}

TEST(StepMessageTest, Shutdown) {
  auto m = DecodeStepMessage(EncodeShutdown());
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->shutdown);
}

TEST(StepMessageTest, EveryTruncationIsAnError) {
  const std::vector<uint8_t> bytes = EncodeStep(Arrays().batch(), 4, 16, KvDtype::kBf16);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeStepMessage({bytes.data(), n}).ok()) << n;
  }
}

TEST(StepMessageTest, BadInputIsAnError) {
  std::vector<uint8_t> bytes = EncodeStep(Arrays().batch(), 4, 16, KvDtype::kBf16);
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(DecodeStepMessage(longer).ok());  // trailing bytes
  std::vector<uint8_t> kind = bytes;
  kind[0] ^= 1;
  EXPECT_FALSE(DecodeStepMessage(kind).ok());
  std::vector<uint8_t> dtype = bytes;
  dtype[12] = 9;  // after magic, num_blocks, block_size
  EXPECT_FALSE(DecodeStepMessage(dtype).ok());
  std::vector<uint8_t> huge = bytes;
  huge[17 + 7] = 0x7f;  // the token count's high byte: far more than the message holds
  EXPECT_FALSE(DecodeStepMessage(huge).ok());
  std::vector<uint8_t> stop = EncodeShutdown();
  stop.push_back(1);
  EXPECT_FALSE(DecodeStepMessage(stop).ok());
}

}  // namespace
}  // namespace ts
