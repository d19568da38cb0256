#include "text/word_cache.h"

namespace ts::text {

bool WordCache::Lookup(std::string_view word, std::vector<int32_t>* ids) const {
  Shard& shard = ShardFor(word);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.map.find(word);
  if (it == shard.map.end()) return false;
  ids->insert(ids->end(), it->second.begin(), it->second.end());
  return true;
}

void WordCache::Insert(std::string_view word, std::span<const int32_t> ids) const {
  Shard& shard = ShardFor(word);
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.map.size() >= capacity_per_shard_) shard.map.clear();
  shard.map.try_emplace(std::string(word), ids.begin(), ids.end());
}

}  // namespace ts::text
