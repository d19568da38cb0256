// KvCache: the engine's one entry point to the tiered prefix KV cache. It owns the pool memory
// (KvStorage), its bookkeeping and prefix index (BlockPool) and, when configured, the SSD tier
// (SsdCache), and keeps each sequence's blocks in a move-only KvSequence.
//
// Engine flow (all calls on the engine thread; no locks here):
//
//   admit:    hit = cache.Lookup(prompt, keys);          // RAM, then SSD; no state change
//             seq = cache.Allocate(hit, prompt, n, keys); // all or nothing; may queue an SSD load
//             if seq.is_loading(): park it until the load is done
//   per step: for id in cache.PollLoads(): cache.FinishLoad(&sequence_of(id));
//             cache.Grow(&seq, context_len_after_step)   // before building the StepBatch
//             ... forward pass writes KV into seq.block_ids() ...
//             cache.Commit(&seq, all_tokens, num_computed_tokens)  // hashes + shares + persists
//   finish:   cache.Free(std::move(seq));
//
// Prefill starts at seq.num_cached_tokens(). Lookup never reports the whole prompt as cached:
// at least one prompt token is left to compute so that its logits exist.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/file_system.h"
#include "base/status.h"
#include "kernels/device_memory.h"
#include "kv/block_hash.h"
#include "kv/block_pool.h"
#include "kv/kv_storage.h"
#include "kv/ssd/ssd_cache.h"

namespace ts {

struct KvCacheOptions {
  KvLayout layout;                     // block_size is --block-size
  int32_t num_blocks = 0;              // --num-blocks; when 0, memory_bytes decides
  int64_t memory_bytes = 0;            // --kv-cache-memory
  BlockHash model_fingerprint;         // config + weight identity, from the model
  std::optional<SsdCacheOptions> ssd;  // set when --ssd-cache-dir is given
  DeviceMemory* memory = nullptr;      // where the pool lives (the model's); host when null
  // A block-aligned prompt whose blocks are all cached copies its last block instead of
  // recomputing it (PrefixHit::tail_block_id). Off when the pool is one shard of several
  // ranks' (tensor parallelism), whose other shards this cache cannot copy.
  bool copy_cached_tail = true;
  // Opens the SSD tier when `ssd` is set; SsdCache::Open when empty. The engine sets it when
  // the pool is one shard of several ranks', to keep the other ranks' tiers in step.
  std::function<Result<std::unique_ptr<SsdTier>>(const SsdCacheOptions&, const BlockHash&,
                                                 KvStorage*, FileSystem*)>
      open_ssd;

  Status Validate() const;
};

// A sequence's blocks. Owned by the engine's sequence, changed only through KvCache.
class KvSequence {
 public:
  KvSequence() = default;
  KvSequence(KvSequence&&) noexcept = default;
  KvSequence& operator=(KvSequence&&) noexcept = default;
  KvSequence(const KvSequence&) = delete;
  KvSequence& operator=(const KvSequence&) = delete;

  // Block table row for the StepBatch: block i holds tokens [i * block_size, (i+1) * block_size).
  std::span<const int32_t> block_ids() const { return block_ids_; }
  // Tokens whose KV came from the cache (RAM hits, finished SSD loads): prefill starts here.
  int32_t num_cached_tokens() const { return num_cached_tokens_; }
  // An SSD load into this sequence's blocks is in flight: do not schedule it yet.
  bool is_loading() const { return load_id_ != 0; }
  uint64_t load_id() const { return load_id_; }

 private:
  friend class KvCache;

  std::vector<int32_t> block_ids_;
  std::vector<BlockHash> hashes_;  // hashes of the committed leading blocks
  BlockHash root_;
  std::string extra_;
  int32_t num_cached_tokens_ = 0;
  uint64_t load_id_ = 0;  // 0: no load in flight
};

// What the cache holds of a prompt.
struct PrefixHit {
  std::vector<BlockHash> hashes;       // the prompt's full blocks that may be served from cache
  std::vector<int32_t> ram_block_ids;  // blocks [0, r) are in RAM
  int32_t num_ssd_blocks = 0;          // blocks [r, r + num_ssd_blocks) are on the SSD tier
  // When every block is in RAM and the prompt ends a block that is cached too: that block.
  // Allocate copies it into the sequence's own block (a shared block is never written), so only
  // the last token, whose logits are needed, is computed. -1 otherwise.
  int32_t tail_block_id = -1;
  BlockHash tail_hash;  // its hash, which Allocate checks again before copying

  int32_t num_ram_blocks() const { return static_cast<int32_t>(ram_block_ids.size()); }
  int32_t num_cached_blocks() const { return num_ram_blocks() + num_ssd_blocks; }
  // Prompt tokens whose KV is reused: from RAM, and in all.
  int32_t num_ram_tokens(int32_t block_size) const {
    return num_ram_blocks() * block_size + (tail_block_id >= 0 ? block_size - 1 : 0);
  }
  int32_t num_cached_tokens(int32_t block_size) const {
    return num_ram_tokens(block_size) + num_ssd_blocks * block_size;
  }
};

// Figures for /v1/cache/stats and metrics.
struct KvCacheStats {
  int32_t block_size = 0;
  int64_t block_bytes = 0;
  int64_t ram_total_blocks = 0;
  int64_t ram_used_blocks = 0;    // referenced by running sequences
  int64_t ram_cached_blocks = 0;  // evictable: reusable KV, not in use
  int64_t ram_free_blocks = 0;
  int64_t ram_hit_blocks = 0;   // prompt blocks served from RAM
  int64_t ram_miss_blocks = 0;  // prompt blocks not in RAM
  int64_t ram_evictions = 0;
  bool ssd_enabled = false;
  SsdStats ssd;  // ssd.miss_blocks includes blocks missing from the SSD index at lookup
};

class KvCache {
 public:
  // `fs` is borrowed (used only with options.ssd) and must outlive the cache.
  static Result<std::unique_ptr<KvCache>> Create(const KvCacheOptions& options, FileSystem* fs);
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  KvPoolView pool_view() const { return storage_.view(); }
  int32_t block_size() const { return storage_.layout().block_size; }
  int32_t num_blocks() const { return pool_.num_blocks(); }
  const BlockHash& cache_fingerprint() const { return fingerprint_; }

  // The cached prefix of prompt: RAM first, then the SSD tier. Changes nothing.
  PrefixHit Lookup(std::span<const int32_t> prompt, const CacheKeys& keys) const;

  // Creates a sequence holding hit's blocks plus fresh blocks up to max(num_tokens, cached
  // tokens), copies hit's tail block (if any, and still cached under its hash) into the first
  // fresh block, and queues an SSD load for hit's SSD blocks. All or nothing:
  // kResourceExhausted when the pool cannot supply the blocks. REQUIRES: hit comes from
  // Lookup(prompt, keys) with no other Allocate in between.
  Result<KvSequence> Allocate(const PrefixHit& hit, std::span<const int32_t> prompt,
                              int32_t num_tokens, const CacheKeys& keys);

  // Adds blocks so the sequence can hold num_tokens tokens. All or nothing.
  Status Grow(KvSequence* seq, int32_t num_tokens);

  // Marks the sequence's first num_computed_tokens tokens as computed: each newly full block is
  // hashed, shared through the prefix index and queued for the SSD tier.
  // REQUIRES: tokens are the sequence's tokens (prompt then output), !seq->is_loading().
  void Commit(KvSequence* seq, std::span<const int32_t> tokens, int32_t num_computed_tokens);

  // Returns every block of the sequence (blocks still being loaded are returned when their
  // load finishes).
  void Free(KvSequence seq);

  // Load ids of finished SSD loads whose sequences still live; call FinishLoad on each.
  std::vector<uint64_t> PollLoads();
  // Shares the loaded blocks and moves num_cached_tokens past them. Blocks that failed to load
  // stay in the sequence, to be computed. REQUIRES: seq's load id came from PollLoads.
  void FinishLoad(KvSequence* seq);

  // Waits for the SSD tier's queued writes and loads (shutdown, tests, benchmarks).
  void FlushSsd();

  // Drops every cached block no sequence uses, from RAM and from the SSD tier.
  Status DropUnused();

  KvCacheStats stats() const;

 private:
  struct Load {
    std::vector<BlockHash> hashes;
    std::vector<int32_t> tokens;
    std::vector<int32_t> block_ids;
    bool is_orphan = false;          // its sequence was freed: release blocks when done
    int32_t num_blocks_loaded = -1;  // -1 while in flight
  };

  KvCache(KvStorage storage, const BlockHash& fingerprint);
  int32_t BlocksFor(int32_t num_tokens) const;

  KvStorage storage_;
  BlockPool pool_;
  BlockHash fingerprint_;
  bool copy_cached_tail_ = true;
  std::unique_ptr<SsdTier> ssd_;
  std::unordered_map<uint64_t, Load> loads_;
  uint64_t next_load_id_ = 1;
  int64_t ram_hit_blocks_ = 0;
  int64_t ram_miss_blocks_ = 0;
  int64_t ssd_lookup_miss_blocks_ = 0;
};

}  // namespace ts
