#include "kv/kv_cache.h"

#include <algorithm>
#include <utility>

#include "base/check.h"

namespace ts {

Status KvCacheOptions::Validate() const {
  if (layout.num_layers <= 0 || layout.num_kv_heads <= 0 || layout.head_dim <= 0) {
    return InvalidArgument("KV layout needs positive layers, KV heads and head_dim");
  }
  if (layout.block_size <= 0 || layout.block_size > 1024) {
    return InvalidArgument("--block-size must be in [1, 1024]");
  }
  if (num_blocks < 0) return InvalidArgument("--num-blocks must not be negative");
  if (num_blocks == 0 && memory_bytes <= 0) {
    return InvalidArgument("give --num-blocks or --kv-cache-memory");
  }
  if (num_blocks == 0 && KvStorage::NumBlocksForMemory(layout, memory_bytes) < 1) {
    return InvalidArgument("--kv-cache-memory " + std::to_string(memory_bytes) +
                           " is less than one block of " + std::to_string(layout.block_bytes()) +
                           " bytes");
  }
  if (ssd) RETURN_IF_ERROR(ssd->Validate());
  return Status::Ok();
}

KvCache::KvCache(KvStorage storage, const BlockHash& fingerprint)
    : storage_(std::move(storage)),
      pool_(storage_.num_blocks(), storage_.layout().block_size),
      fingerprint_(fingerprint) {}

Result<std::unique_ptr<KvCache>> KvCache::Create(const KvCacheOptions& options, FileSystem* fs) {
  RETURN_IF_ERROR(options.Validate());
  const int32_t num_blocks =
      options.num_blocks > 0 ? options.num_blocks
                             : KvStorage::NumBlocksForMemory(options.layout, options.memory_bytes);
  ASSIGN_OR_RETURN(KvStorage storage,
                   KvStorage::Create(options.layout, num_blocks,
                                     options.memory ? *options.memory : HostMemory()));
  std::unique_ptr<KvCache> cache(
      new KvCache(std::move(storage), CacheFingerprint(options.model_fingerprint, options.layout)));
  cache->copy_cached_tail_ = options.copy_cached_tail;
  if (options.ssd) {
    if (options.open_ssd) {
      ASSIGN_OR_RETURN(cache->ssd_,
                       options.open_ssd(*options.ssd, cache->fingerprint_, &cache->storage_, fs));
    } else {
      ASSIGN_OR_RETURN(cache->ssd_,
                       SsdCache::Open(*options.ssd, cache->fingerprint_, &cache->storage_, fs));
    }
  }
  return cache;
}

int32_t KvCache::BlocksFor(int32_t num_tokens) const {
  return (num_tokens + block_size() - 1) / block_size();
}

PrefixHit KvCache::Lookup(std::span<const int32_t> prompt, const CacheKeys& keys) const {
  PrefixHit hit;
  if (prompt.empty()) return hit;
  // The last prompt token is always computed: its logits pick the first output token.
  HashFullBlocks(ChainRoot(fingerprint_, keys.salt), prompt.first(prompt.size() - 1), block_size(),
                 /*first_block=*/0, keys.extra, &hit.hashes);
  const int32_t num_ram = pool_.MatchPrefix(hit.hashes, prompt, &hit.ram_block_ids);
  const size_t bs = static_cast<size_t>(block_size());
  if (copy_cached_tail_ && prompt.size() % bs == 0 &&
      static_cast<size_t>(num_ram) == hit.hashes.size()) {
    const std::span<const int32_t> tail = prompt.last(bs);
    const BlockHash tail_hash =
        HashBlock(hit.hashes.empty() ? ChainRoot(fingerprint_, keys.salt) : hit.hashes.back(), tail,
                  keys.extra);
    std::vector<int32_t> tail_id;
    if (pool_.MatchPrefix({&tail_hash, 1}, tail, &tail_id) == 1) {
      hit.tail_block_id = tail_id[0];
      hit.tail_hash = tail_hash;
    }
    return hit;
  }
  if (ssd_ != nullptr) {
    hit.num_ssd_blocks = ssd_->MatchPrefix(
        std::span<const BlockHash>(hit.hashes).subspan(static_cast<size_t>(num_ram)));
  }
  return hit;
}

Result<KvSequence> KvCache::Allocate(const PrefixHit& hit, std::span<const int32_t> prompt,
                                     int32_t num_tokens, const CacheKeys& keys) {
  const int32_t num_cached = hit.num_cached_blocks();
  const int32_t num_blocks =
      std::max(BlocksFor(num_tokens), num_cached + (hit.tail_block_id >= 0 ? 1 : 0));
  const int32_t num_new = num_blocks - hit.num_ram_blocks();
  // Read before Allocate, which may evict the (unreferenced) tail block and hand it out again;
  // only when Allocate will succeed, and while the index still holds the block under the
  // prompt's hash and tokens.
  std::vector<uint8_t> tail;
  std::vector<int32_t> still_cached;
  if (hit.tail_block_id >= 0 && pool_.CanAllocate(hit.ram_block_ids, num_new) &&
      pool_.MatchPrefix({&hit.tail_hash, 1}, prompt.last(static_cast<size_t>(block_size())),
                        &still_cached) == 1 &&
      still_cached[0] == hit.tail_block_id) {
    tail.resize(storage_.layout().block_bytes());
    storage_.CopyBlockOut(hit.tail_block_id, tail);
    pool_.Touch(hit.tail_block_id);  // its private copy is never committed: keep the original warm
  }
  KvSequence seq;
  RETURN_IF_ERROR(pool_.Allocate(hit.ram_block_ids, num_new, &seq.block_ids_));
  if (!tail.empty()) storage_.CopyBlockIn(seq.block_ids_[static_cast<size_t>(num_cached)], tail);
  seq.root_ = ChainRoot(fingerprint_, keys.salt);
  seq.extra_ = std::string(keys.extra);
  seq.hashes_.assign(hit.hashes.begin(), hit.hashes.begin() + hit.num_ram_blocks());
  seq.num_cached_tokens_ =
      hit.num_ram_blocks() * block_size() + (tail.empty() ? 0 : block_size() - 1);
  const int32_t num_full = static_cast<int32_t>(hit.hashes.size());
  ram_hit_blocks_ += hit.num_ram_blocks();
  ram_miss_blocks_ += num_full - hit.num_ram_blocks();
  ssd_lookup_miss_blocks_ += ssd_ != nullptr ? num_full - num_cached : 0;
  if (hit.num_ssd_blocks > 0) {
    const size_t first = static_cast<size_t>(hit.num_ram_blocks());
    const size_t count = static_cast<size_t>(hit.num_ssd_blocks);
    const size_t bs = static_cast<size_t>(block_size());
    Load load{
        .hashes = {hit.hashes.begin() + first, hit.hashes.begin() + first + count},
        .tokens = {prompt.begin() + first * bs, prompt.begin() + (first + count) * bs},
        .block_ids = {seq.block_ids_.begin() + first, seq.block_ids_.begin() + first + count}};
    seq.load_id_ = next_load_id_++;
    ssd_->Load({.load_id = seq.load_id_,
                .hashes = load.hashes,
                .tokens = load.tokens,
                .block_ids = load.block_ids});
    loads_.emplace(seq.load_id_, std::move(load));
  }
  return seq;
}

Status KvCache::Grow(KvSequence* seq, int32_t num_tokens) {
  const int32_t missing = BlocksFor(num_tokens) - static_cast<int32_t>(seq->block_ids_.size());
  if (missing <= 0) return Status::Ok();
  return pool_.Allocate({}, missing, &seq->block_ids_);
}

void KvCache::Commit(KvSequence* seq, std::span<const int32_t> tokens,
                     int32_t num_computed_tokens) {
  CHECK(!seq->is_loading()) << "commit while an SSD load is in flight";
  CHECK_LE(static_cast<size_t>(num_computed_tokens), tokens.size());
  const size_t bs = static_cast<size_t>(block_size());
  const size_t num_full = static_cast<size_t>(num_computed_tokens) / bs;
  CHECK_LE(num_full, seq->block_ids_.size());
  for (size_t i = seq->hashes_.size(); i < num_full; ++i) {
    const BlockHash parent = i == 0 ? seq->root_ : seq->hashes_[i - 1];
    std::span<const int32_t> block_tokens = tokens.subspan(i * bs, bs);
    const BlockHash hash = HashBlock(parent, block_tokens, seq->extra_);
    const int32_t block_id = seq->block_ids_[i];
    // A block computed twice (two sequences raced on one prefix) stays private to this one.
    pool_.Commit(block_id, hash, block_tokens);
    if (ssd_ != nullptr) ssd_->Persist(hash, parent, block_tokens, block_id);
    seq->hashes_.push_back(hash);
  }
}

void KvCache::Free(KvSequence seq) {
  if (!seq.is_loading()) {
    pool_.Release(seq.block_ids_);
    return;
  }
  Load& load = loads_.at(seq.load_id_);
  const size_t first = seq.hashes_.size();
  const size_t count = load.block_ids.size();
  std::vector<int32_t> now(seq.block_ids_.begin(), seq.block_ids_.begin() + first);
  now.insert(now.end(), seq.block_ids_.begin() + first + count, seq.block_ids_.end());
  pool_.Release(now);
  if (load.num_blocks_loaded >= 0) {
    pool_.Release(load.block_ids);
    loads_.erase(seq.load_id_);
  } else {
    load.is_orphan = true;
  }
}

std::vector<uint64_t> KvCache::PollLoads() {
  std::vector<uint64_t> finished;
  if (ssd_ == nullptr) return finished;
  for (const SsdLoadResult& result : ssd_->PollLoads()) {
    Load& load = loads_.at(result.load_id);
    if (load.is_orphan) {
      pool_.Release(load.block_ids);
      loads_.erase(result.load_id);
      continue;
    }
    load.num_blocks_loaded = result.num_blocks_loaded;
    finished.push_back(result.load_id);
  }
  return finished;
}

void KvCache::FinishLoad(KvSequence* seq) {
  auto it = loads_.find(seq->load_id_);
  CHECK(it != loads_.end() && it->second.num_blocks_loaded >= 0)
      << "FinishLoad without a finished load";
  const Load& load = it->second;
  const size_t bs = static_cast<size_t>(block_size());
  for (size_t i = 0; i < static_cast<size_t>(load.num_blocks_loaded); ++i) {
    pool_.Commit(load.block_ids[i], load.hashes[i],
                 std::span<const int32_t>(load.tokens).subspan(i * bs, bs));
    seq->hashes_.push_back(load.hashes[i]);
  }
  seq->num_cached_tokens_ += load.num_blocks_loaded * block_size();
  seq->load_id_ = 0;
  loads_.erase(it);
}

void KvCache::FlushSsd() {
  if (ssd_ != nullptr) ssd_->Flush();
}

KvCacheStats KvCache::stats() const {
  KvCacheStats s;
  s.block_size = block_size();
  s.block_bytes = static_cast<int64_t>(storage_.layout().block_bytes());
  s.ram_total_blocks = pool_.num_blocks();
  s.ram_used_blocks = pool_.num_referenced_blocks();
  s.ram_cached_blocks = pool_.num_evictable_blocks();
  s.ram_free_blocks = pool_.num_free_blocks();
  s.ram_hit_blocks = ram_hit_blocks_;
  s.ram_miss_blocks = ram_miss_blocks_;
  s.ram_evictions = pool_.num_evictions();
  if (ssd_ != nullptr) {
    s.ssd_enabled = true;
    s.ssd = ssd_->stats();
    s.ssd.miss_blocks += ssd_lookup_miss_blocks_;
  }
  return s;
}

Status KvCache::DropUnused() {
  pool_.DropEvictable();
  if (ssd_ != nullptr) ssd_->Clear();
  return Status::Ok();
}

}  // namespace ts
