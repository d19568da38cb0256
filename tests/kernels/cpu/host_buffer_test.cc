#include "kernels/host_buffer.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace ts {
namespace {

TEST(HostBufferTest, GrowsOnlyWhenAskedForMore) {
  HostBuffer buffer(HostMemory());
  EXPECT_EQ(buffer.data(), nullptr);
  ASSERT_TRUE(buffer.Reserve(100).ok());
  float* first = buffer.data();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 64, 0u);
  for (int i = 0; i < 100; ++i) first[i] = static_cast<float>(i);
  ASSERT_TRUE(buffer.Reserve(60).ok());
  EXPECT_EQ(buffer.data(), first);  // room enough: the same memory, contents kept
  EXPECT_EQ(first[99], 99.f);
  ASSERT_TRUE(buffer.Reserve(1000).ok());
  for (int i = 0; i < 1000; ++i) buffer.data()[i] = 1.f;  // all of it writable (ASan)
}

}  // namespace
}  // namespace ts
