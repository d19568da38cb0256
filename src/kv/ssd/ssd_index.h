// SsdIndex: the in-memory index of the block records in the SSD cache directory, in least
// recently used order, with their total size. Rebuilt from a directory scan at start-up (file
// names carry the hash, modification times the last use), kept current by the I/O thread.
//
// Not thread-safe: SsdCache guards it with its mutex.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>

#include "kv/block_hash.h"

namespace ts {

class SsdIndex {
 public:
  struct Entry {
    uint64_t size_bytes = 0;
    int64_t last_use_seconds = 0;
  };

  const Entry* find(const BlockHash& hash) const;
  int64_t num_entries() const { return static_cast<int64_t>(entries_.size()); }
  uint64_t total_bytes() const { return total_bytes_; }

  // Adds or replaces hash as the most recently used entry.
  void Insert(const BlockHash& hash, const Entry& entry);
  // Marks hash used at now_seconds (most recently used). No-op when absent.
  void Touch(const BlockHash& hash, int64_t now_seconds);
  void Erase(const BlockHash& hash);
  // The least recently used entry, if any.
  std::optional<BlockHash> Oldest() const;

 private:
  struct Slot {
    Entry entry;
    std::list<BlockHash>::iterator lru_position;
  };
  std::unordered_map<BlockHash, Slot, BlockHashHasher> entries_;
  std::list<BlockHash> lru_;  // front: least recently used
  uint64_t total_bytes_ = 0;
};

}  // namespace ts
