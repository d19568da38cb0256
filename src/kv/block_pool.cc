#include "kv/block_pool.h"

#include <algorithm>
#include <string>

#include "base/check.h"

namespace ts {

BlockPool::BlockPool(int32_t num_blocks, int32_t block_size)
    : block_size_(block_size),
      blocks_(static_cast<size_t>(num_blocks)),
      tokens_(static_cast<size_t>(num_blocks) * static_cast<size_t>(block_size)) {
  CHECK_GE(num_blocks, 1);
  CHECK_GE(block_size, 1);
  index_.reserve(static_cast<size_t>(num_blocks));
  free_.reserve(static_cast<size_t>(num_blocks));
  // Block 0 on top of the stack, so a fresh pool hands out ids in ascending order.
  for (int32_t id = num_blocks - 1; id >= 0; --id) free_.push_back(id);
}

std::span<const int32_t> BlockPool::tokens_of(int32_t block_id) const {
  return std::span<const int32_t>(tokens_).subspan(
      static_cast<size_t>(block_id) * static_cast<size_t>(block_size_),
      static_cast<size_t>(block_size_));
}

int32_t BlockPool::MatchPrefix(std::span<const BlockHash> hashes, std::span<const int32_t> tokens,
                               std::vector<int32_t>* block_ids) const {
  CHECK_GE(tokens.size(), hashes.size() * static_cast<size_t>(block_size_));
  int32_t matched = 0;
  for (const BlockHash& hash : hashes) {
    auto it = index_.find(hash);
    if (it == index_.end()) break;
    std::span<const int32_t> want = tokens.subspan(
        static_cast<size_t>(matched) * static_cast<size_t>(block_size_),
        static_cast<size_t>(block_size_));
    std::span<const int32_t> have = tokens_of(it->second);
    if (!std::equal(want.begin(), want.end(), have.begin())) break;
    block_ids->push_back(it->second);
    ++matched;
  }
  return matched;
}

bool BlockPool::CanAllocate(std::span<const int32_t> cached, int32_t num_new) const {
  CHECK_GE(num_new, 0);
  // Evictable blocks we are about to reference cannot also be evicted to make room.
  int32_t cached_evictable = 0;
  for (int32_t id : cached) {
    if (blocks_.at(id).refcount == 0) ++cached_evictable;
  }
  return num_new <= num_free_blocks() + num_evictable_ - cached_evictable;
}

Status BlockPool::Allocate(std::span<const int32_t> cached, int32_t num_new,
                           std::vector<int32_t>* out) {
  if (!CanAllocate(cached, num_new)) {
    return ResourceExhausted("KV pool: " + std::to_string(num_new) + " blocks needed, " +
                             std::to_string(num_free_blocks()) + " free and " +
                             std::to_string(num_evictable_) + " evictable");
  }
  for (int32_t id : cached) {
    Block& b = blocks_[static_cast<size_t>(id)];
    CHECK(b.is_committed) << "block " << id << " is not a cached block";
    if (b.refcount == 0) LruRemove(id);
    ++b.refcount;
    out->push_back(id);
  }
  for (int32_t i = 0; i < num_new; ++i) {
    int32_t id = TakeBlock();
    blocks_[static_cast<size_t>(id)].refcount = 1;
    out->push_back(id);
  }
  return Status::Ok();
}

int32_t BlockPool::TakeBlock() {
  if (!free_.empty()) {
    int32_t id = free_.back();
    free_.pop_back();
    return id;
  }
  int32_t id = lru_head_;
  CHECK_GE(id, 0) << "no free or evictable block (CanAllocate was not checked)";
  LruRemove(id);
  Block& b = blocks_[static_cast<size_t>(id)];
  index_.erase(b.hash);
  b.is_committed = false;
  ++num_evictions_;
  return id;
}

bool BlockPool::Commit(int32_t block_id, const BlockHash& hash, std::span<const int32_t> tokens) {
  Block& b = blocks_.at(block_id);
  CHECK_GT(b.refcount, 0) << "committing unreferenced block " << block_id;
  CHECK(!b.is_committed) << "block " << block_id << " committed twice";
  CHECK_EQ(tokens.size(), static_cast<size_t>(block_size_));
  if (!index_.emplace(hash, block_id).second) return false;
  b.is_committed = true;
  b.hash = hash;
  std::copy(tokens.begin(), tokens.end(),
            tokens_.begin() + static_cast<ptrdiff_t>(block_id) * block_size_);
  return true;
}

void BlockPool::Release(std::span<const int32_t> block_ids) {
  for (auto it = block_ids.rbegin(); it != block_ids.rend(); ++it) {
    const int32_t id = *it;
    Block& b = blocks_.at(id);
    CHECK_GT(b.refcount, 0) << "releasing unreferenced block " << id;
    if (--b.refcount > 0) continue;
    if (b.is_committed) {
      LruPushBack(id);
    } else {
      free_.push_back(id);
    }
  }
}

void BlockPool::Touch(int32_t block_id) {
  if (blocks_.at(block_id).refcount > 0) return;
  CHECK(blocks_.at(block_id).is_committed) << "touching a free block " << block_id;
  LruRemove(block_id);
  LruPushBack(block_id);
}

void BlockPool::LruPushBack(int32_t block_id) {
  Block& b = blocks_[static_cast<size_t>(block_id)];
  b.lru_prev = lru_tail_;
  b.lru_next = -1;
  if (lru_tail_ >= 0) {
    blocks_[static_cast<size_t>(lru_tail_)].lru_next = block_id;
  } else {
    lru_head_ = block_id;
  }
  lru_tail_ = block_id;
  ++num_evictable_;
}

void BlockPool::LruRemove(int32_t block_id) {
  Block& b = blocks_[static_cast<size_t>(block_id)];
  if (b.lru_prev >= 0) {
    blocks_[static_cast<size_t>(b.lru_prev)].lru_next = b.lru_next;
  } else {
    lru_head_ = b.lru_next;
  }
  if (b.lru_next >= 0) {
    blocks_[static_cast<size_t>(b.lru_next)].lru_prev = b.lru_prev;
  } else {
    lru_tail_ = b.lru_prev;
  }
  b.lru_prev = -1;
  b.lru_next = -1;
  --num_evictable_;
}

int32_t BlockPool::DropEvictable() {
  int32_t dropped = 0;
  while (lru_head_ != -1) {
    const int32_t id = lru_head_;
    LruRemove(id);
    Block& b = blocks_[static_cast<size_t>(id)];
    if (b.is_committed) index_.erase(b.hash);
    b.is_committed = false;
    free_.push_back(id);
    ++dropped;
  }
  return dropped;
}

}  // namespace ts
