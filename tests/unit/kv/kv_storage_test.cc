#include "kv/kv_storage.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kv_test_util.h"

namespace ts {
namespace {

using testing::BlockHolds;
using testing::FillBlock;
using testing::SmallLayout;

TEST(KvStorageTest, NumBlocksForMemory) {
  const KvLayout layout = SmallLayout(4);  // 1024 bytes per block
  ASSERT_EQ(layout.block_bytes(), 1024u);
  EXPECT_EQ(KvStorage::NumBlocksForMemory(layout, 0), 0);
  EXPECT_EQ(KvStorage::NumBlocksForMemory(layout, 1023), 0);
  EXPECT_EQ(KvStorage::NumBlocksForMemory(layout, 1024), 1);
  EXPECT_EQ(KvStorage::NumBlocksForMemory(layout, 10 * 1024 + 5), 10);
}

TEST(KvStorageTest, RejectsEmptyPool) {
  EXPECT_EQ(KvStorage::Create(SmallLayout(), 0).status().code(), StatusCode::kInvalidArgument);
}

TEST(KvStorageTest, ViewIsAlignedAndSized) {
  auto storage = KvStorage::Create(SmallLayout(), 7);
  ASSERT_TRUE(storage.ok()) << storage.status().ToString();
  const KvPoolView view = storage->view();
  EXPECT_EQ(view.num_blocks, 7);
  EXPECT_EQ(view.layout.num_layers, 2);
  for (int l = 0; l < 2; ++l) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view.k[l]) % 64, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view.v[l]) % 64, 0u);
    EXPECT_NE(view.k[l], view.v[l]);
  }
}

TEST(KvStorageTest, CopyRoundTripAndBlocksAreDisjoint) {
  auto storage = KvStorage::Create(SmallLayout(), 5);
  ASSERT_TRUE(storage.ok());
  for (int32_t b = 0; b < 5; ++b) FillBlock(&*storage, b, 100 + b);
  for (int32_t b = 0; b < 5; ++b) EXPECT_TRUE(BlockHolds(*storage, b, 100 + b)) << b;
  // The payload order is per layer K then V, as the SSD format says.
  std::vector<uint8_t> out(storage->layout().block_bytes());
  storage->CopyBlockOut(3, out);
  const size_t n = storage->layout().block_bytes_per_layer();
  const KvPoolView view = storage->view();
  EXPECT_EQ(std::memcmp(out.data() + n, static_cast<uint8_t*>(view.v[0]) + 3 * n, n), 0);
  EXPECT_EQ(std::memcmp(out.data() + 2 * n, static_cast<uint8_t*>(view.k[1]) + 3 * n, n), 0);
}

TEST(KvStorageTest, MoveKeepsMemory) {
  auto storage = KvStorage::Create(SmallLayout(), 2);
  ASSERT_TRUE(storage.ok());
  FillBlock(&*storage, 1, 7);
  void* k0 = storage->view().k[0];
  KvStorage moved = std::move(*storage);
  EXPECT_EQ(moved.view().k[0], k0);
  EXPECT_TRUE(BlockHolds(moved, 1, 7));
}

}  // namespace
}  // namespace ts
