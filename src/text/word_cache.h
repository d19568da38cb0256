// WordCache: a bounded, thread-safe map from a pre-tokenized word to its BPE token ids. Prose
// repeats a few thousand words, so after warm-up most words skip the merge loop entirely.
// Sharded by hash so concurrent encoders (HTTP workers) rarely wait on the same mutex; a shard
// that reaches its capacity is cleared, which keeps memory bounded and adapts to new text.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ts::text {

class WordCache {
 public:
  // Words longer than this are not cached: they rarely repeat and would crowd out short ones.
  static constexpr size_t kMaxWordBytes = 64;

  explicit WordCache(size_t capacity_per_shard = 4096) : capacity_per_shard_(capacity_per_shard) {}

  // Appends the cached ids of word to *ids and returns true, or returns false on a miss.
  bool Lookup(std::string_view word, std::vector<int32_t>* ids) const;
  void Insert(std::string_view word, std::span<const int32_t> ids) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> map;
  };
  static constexpr size_t kNumShards = 16;

  Shard& ShardFor(std::string_view word) const { return shards_[(Hash{}(word) >> 7) % kNumShards]; }

  size_t capacity_per_shard_;
  mutable std::array<Shard, kNumShards> shards_;
};

}  // namespace ts::text
