#include "engine/step_builder.h"

#include <gtest/gtest.h>

namespace ts {
namespace {

TEST(StepBuilderTest, MixesPrefillChunksAndDecodeTokens) {
  StepBuilder b;
  b.Reset(/*block_size=*/4, /*max_blocks_per_seq=*/3);
  const int32_t prefill[] = {10, 11, 12, 13, 14};
  const int32_t blocks_a[] = {7, 2};
  b.AddSequence(prefill, /*num_cached=*/2, blocks_a, /*want_logits=*/true);
  const int32_t decode[] = {99};
  const int32_t blocks_b[] = {5, 1, 0};
  b.AddSequence(decode, /*num_cached=*/9, blocks_b, /*want_logits=*/true);
  StepBatch s = b.batch();
  EXPECT_EQ(s.num_seqs(), 2);
  EXPECT_EQ(s.num_tokens(), 6);
  EXPECT_EQ(std::vector<int32_t>(s.positions.begin(), s.positions.end()),
            (std::vector<int32_t>{2, 3, 4, 5, 6, 9}));
  EXPECT_EQ(std::vector<int32_t>(s.query_start.begin(), s.query_start.end()),
            (std::vector<int32_t>{0, 5, 6}));
  EXPECT_EQ(std::vector<int32_t>(s.context_len.begin(), s.context_len.end()),
            (std::vector<int32_t>{7, 10}));
  // Positions 2,3 in block 7; 4,5,6 in block 2; position 9 of b is in its third block (0).
  EXPECT_EQ(std::vector<int64_t>(s.slot.begin(), s.slot.end()),
            (std::vector<int64_t>{30, 31, 8, 9, 10, 1}));
  EXPECT_EQ(std::vector<int32_t>(s.block_table.begin(), s.block_table.end()),
            (std::vector<int32_t>{7, 2, 0, 5, 1, 0}));
  EXPECT_EQ(std::vector<int32_t>(s.logit_rows.begin(), s.logit_rows.end()),
            (std::vector<int32_t>{4, 5}));
}

}  // namespace
}  // namespace ts
