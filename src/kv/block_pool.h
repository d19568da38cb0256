// BlockPool: the bookkeeping of the RAM tier: which blocks are in use, which hold reusable KV
// and which are free, plus the prefix index over full blocks. Like leveldb's cache, each block
// is in exactly one of three states:
//
//            Allocate                 Release (refcount -> 0, hashed)
//   free ------------> referenced ----------------------------------> evictable (LRU)
//    ^  ^                |   ^                                          |    |
//    |  +----------------+   +------------- Allocate (prefix hit) ------+    |
//    |   Release (refcount -> 0, never committed)                            |
//    +---------------------- evicted by Allocate, least recently used first -+
//
// Commit registers a referenced block's hash and tokens in the index; from then on it is found by
// MatchPrefix while referenced or evictable, and only eviction (when Allocate runs out of free
// blocks) forgets it. Referenced blocks are never evicted.
//
// Threads: engine thread only (no locks). Move-only.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "kv/block_hash.h"

namespace ts {

class BlockPool {
 public:
  // REQUIRES: num_blocks >= 1, block_size >= 1.
  BlockPool(int32_t num_blocks, int32_t block_size);
  BlockPool(BlockPool&&) noexcept = default;
  BlockPool& operator=(BlockPool&&) noexcept = default;
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  // Appends to *block_ids the blocks holding the longest prefix of `hashes` whose stored token
  // ids equal the request's, and returns how many. Changes nothing (no LRU touch).
  // REQUIRES: tokens.size() >= hashes.size() * block_size.
  int32_t MatchPrefix(std::span<const BlockHash> hashes, std::span<const int32_t> tokens,
                      std::vector<int32_t>* block_ids) const;

  // Whether Allocate(cached, num_new) would succeed.
  bool CanAllocate(std::span<const int32_t> cached, int32_t num_new) const;

  // All or nothing: takes a reference on each block of `cached` (from MatchPrefix in the same
  // engine step) and on num_new fresh blocks (free ones first, then evicting the least recently
  // used), appending cached then fresh ids to *out. kResourceExhausted changes nothing.
  Status Allocate(std::span<const int32_t> cached, int32_t num_new, std::vector<int32_t>* out);

  // Registers a full, computed, referenced block under hash with its tokens. Returns false (and
  // registers nothing) when another block already holds that hash: this one stays private and is
  // freed on release. REQUIRES: refcount > 0, not yet committed, tokens.size() == block_size.
  bool Commit(int32_t block_id, const BlockHash& hash, std::span<const int32_t> tokens);

  // Drops one reference on each block. Blocks of a sequence should be passed in order: they
  // enter the LRU list last block first, so a prefix's tail is evicted before its head (a block
  // is useless once its parent is gone).
  void Release(std::span<const int32_t> block_ids);

  // An evictable block was just used without being referenced (its KV copied): it goes to the
  // back of the eviction order. Referenced blocks are not on that list: no-op.
  void Touch(int32_t block_id);

  // Forgets every evictable block (refcount 0): they leave the index and become free.
  // Referenced blocks stay as they are. Returns how many were dropped.
  int32_t DropEvictable();

  int32_t num_blocks() const { return static_cast<int32_t>(blocks_.size()); }
  int32_t block_size() const { return block_size_; }
  int32_t num_free_blocks() const { return static_cast<int32_t>(free_.size()); }
  int32_t num_evictable_blocks() const { return num_evictable_; }
  int32_t num_referenced_blocks() const {
    return num_blocks() - num_free_blocks() - num_evictable_blocks();
  }
  int32_t num_cached_blocks() const { return static_cast<int32_t>(index_.size()); }
  int64_t num_evictions() const { return num_evictions_; }
  int32_t refcount(int32_t block_id) const { return blocks_.at(block_id).refcount; }
  bool is_committed(int32_t block_id) const { return blocks_.at(block_id).is_committed; }

 private:
  struct Block {
    int32_t refcount = 0;
    bool is_committed = false;
    BlockHash hash;
    int32_t lru_prev = -1;  // links in the evictable list; -1 when not on it
    int32_t lru_next = -1;
  };

  std::span<const int32_t> tokens_of(int32_t block_id) const;
  void LruPushBack(int32_t block_id);
  void LruRemove(int32_t block_id);
  int32_t TakeBlock();

  int32_t block_size_;
  std::vector<Block> blocks_;
  std::vector<int32_t> tokens_;  // [num_blocks][block_size] token ids of committed blocks
  std::unordered_map<BlockHash, int32_t, BlockHashHasher> index_;
  std::vector<int32_t> free_;  // a stack of free block ids
  // The evictable list, doubly linked through Block::lru_prev/lru_next.
  int32_t lru_head_ = -1;  // least recently used, -1 when empty
  int32_t lru_tail_ = -1;  // most recently used
  int32_t num_evictable_ = 0;
  int64_t num_evictions_ = 0;
};

}  // namespace ts
