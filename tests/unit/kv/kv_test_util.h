// Helpers shared by the kv tests: small layouts, temp directories, token runs, and block
// contents derived from a seed so that a test can tell which KV a block holds.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "kv/block_hash.h"
#include "kv/kv_storage.h"
#include "model/kv_layout.h"

namespace ts::testing {

// 2 layers x 2 KV heads x block_size x 8 x f32: 256 * block_size bytes per block.
inline KvLayout SmallLayout(int32_t block_size = 4) {
  return {.num_layers = 2, .num_kv_heads = 2, .head_dim = 8, .block_size = block_size,
          .dtype = KvDtype::kF32};
}

// A fresh directory under the test temp dir; removed by the destructor.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "/kv_test_XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    char* dir = ::mkdtemp(buffer.data());
    EXPECT_NE(dir, nullptr);
    path_ = dir;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::vector<int32_t> Tokens(size_t n, uint64_t seed) {
  std::vector<int32_t> tokens(n);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& t : tokens) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    t = static_cast<int32_t>(x % 50000);
  }
  return tokens;
}

inline uint64_t SeedOf(const BlockHash& h) { return h.low ^ (h.high * 31); }

inline std::vector<uint8_t> Pattern(uint64_t seed, size_t bytes) {
  std::vector<uint8_t> out(bytes);
  uint64_t x = seed | 1;
  for (size_t i = 0; i < bytes; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    out[i] = static_cast<uint8_t>(x >> 56);
  }
  return out;
}

inline void FillBlock(KvStorage* storage, int32_t block_id, uint64_t seed) {
  storage->CopyBlockIn(block_id, Pattern(seed, storage->layout().block_bytes()));
}

inline bool BlockHolds(const KvStorage& storage, int32_t block_id, uint64_t seed) {
  std::vector<uint8_t> got(storage.layout().block_bytes());
  storage.CopyBlockOut(block_id, got);
  return got == Pattern(seed, got.size());
}

// The same through a borrowed pool view, for pools owned by a KvCache. Payload order as in
// KvStorage: per layer K then V.
inline void FillViewBlock(const KvPoolView& view, int32_t block_id, uint64_t seed) {
  const size_t n = view.layout.block_bytes_per_layer();
  std::vector<uint8_t> data = Pattern(seed, view.layout.block_bytes());
  for (int32_t l = 0; l < view.layout.num_layers; ++l) {
    std::memcpy(static_cast<uint8_t*>(view.k[l]) + n * block_id, data.data() + 2 * l * n, n);
    std::memcpy(static_cast<uint8_t*>(view.v[l]) + n * block_id, data.data() + (2 * l + 1) * n, n);
  }
}

inline bool ViewBlockHolds(const KvPoolView& view, int32_t block_id, uint64_t seed) {
  const size_t n = view.layout.block_bytes_per_layer();
  std::vector<uint8_t> want = Pattern(seed, view.layout.block_bytes());
  for (int32_t l = 0; l < view.layout.num_layers; ++l) {
    if (std::memcmp(static_cast<const uint8_t*>(view.k[l]) + n * block_id,
                    want.data() + 2 * l * n, n) != 0 ||
        std::memcmp(static_cast<const uint8_t*>(view.v[l]) + n * block_id,
                    want.data() + (2 * l + 1) * n, n) != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace ts::testing
