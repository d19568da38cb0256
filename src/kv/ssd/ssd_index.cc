#include "kv/ssd/ssd_index.h"

namespace ts {

const SsdIndex::Entry* SsdIndex::find(const BlockHash& hash) const {
  auto it = entries_.find(hash);
  return it == entries_.end() ? nullptr : &it->second.entry;
}

void SsdIndex::Insert(const BlockHash& hash, const Entry& entry) {
  Erase(hash);
  lru_.push_back(hash);
  entries_.emplace(hash, Slot{.entry = entry, .lru_position = std::prev(lru_.end())});
  total_bytes_ += entry.size_bytes;
}

void SsdIndex::Touch(const BlockHash& hash, int64_t now_seconds) {
  auto it = entries_.find(hash);
  if (it == entries_.end()) return;
  it->second.entry.last_use_seconds = now_seconds;
  lru_.splice(lru_.end(), lru_, it->second.lru_position);
}

void SsdIndex::Erase(const BlockHash& hash) {
  auto it = entries_.find(hash);
  if (it == entries_.end()) return;
  total_bytes_ -= it->second.entry.size_bytes;
  lru_.erase(it->second.lru_position);
  entries_.erase(it);
}

std::optional<BlockHash> SsdIndex::Oldest() const {
  if (lru_.empty()) return std::nullopt;
  return lru_.front();
}

}  // namespace ts
