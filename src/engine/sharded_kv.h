// A KV cache split over tensor-parallel ranks (issue 10): rank 0's KV cache decides, and the
// other ranks' pools and SSD tiers follow on the step channel.
//
// OpenFollowerPools has every other rank make its pool (the same blocks, its KV heads) when
// rank 0 makes its own, so a rank short of memory fails the start, not the first request.
//
// The SSD tier: each rank keeps its shard of every block in an SsdCache of its own, in
// DIR/tp<N>-rank<r> (a restart with another rank count finds nothing there: a miss, not an error)
// with records fingerprinted per rank.
//
// Rank 0's KV cache drives a ShardedSsdTier like any SSD tier; each call is also sent to the
// other ranks on the step channel, so their tiers do the same at the same point between steps:
//   - MatchPrefix counts the blocks every rank has (the smallest count);
//   - Persist: each rank copies its shard of the block at once and writes it behind;
//   - Load: each rank loads its shard into the same blocks on its own I/O thread; PollLoads
//     reports a load once every rank finished it, with the blocks all of them delivered;
//   - Flush and Clear run on every rank.
// Limits (--ssd-cache-size, the write queue) apply to each rank's folder. Stats are rank 0's
// shard. The other ranks serve these messages with KvShardFollower.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/file_system.h"
#include "dist/communicator.h"
#include "kv/kv_storage.h"
#include "kv/ssd/ssd_cache.h"

namespace ts {

// REQUIRES: group->is_leader(). Collective with KvShardFollower.
Status OpenFollowerPools(Communicator* group, const KvPoolView& pool);

class ShardedSsdTier final : public SsdTier {
 public:
  // Opens rank 0's tier and has every other rank open its own (collective with KvShardFollower).
  // REQUIRES: group->is_leader().
  static Result<std::unique_ptr<SsdTier>> Open(Communicator* group, const SsdCacheOptions& options,
                                               const BlockHash& cache_fingerprint,
                                               KvStorage* storage, FileSystem* fs);

  int32_t MatchPrefix(std::span<const BlockHash> hashes) const override;
  void Persist(const BlockHash& hash, const BlockHash& parent, std::span<const int32_t> tokens,
               int32_t block_id) override;
  void Load(SsdLoadRequest request) override;
  std::vector<SsdLoadResult> PollLoads() override;
  void Flush() override;
  void Clear() override;
  SsdStats stats() const override { return local_->stats(); }

 private:
  // A load in flight: the blocks each rank delivered so far (-1: not finished there).
  struct PendingLoad {
    std::vector<int32_t> loaded;  // [ranks]
  };

  ShardedSsdTier(Communicator* group, std::unique_ptr<SsdCache> local)
      : group_(group), local_(std::move(local)) {}
  Communicator* const group_;
  std::unique_ptr<SsdCache> local_;
  std::unordered_map<uint64_t, PendingLoad> pending_;
};

// The other ranks' side: their pool and SSD tier, made when rank 0 makes its own.
class KvShardFollower {
 public:
  explicit KvShardFollower(FileSystem* fs) : fs_(fs) {}

  // Whether a message from rank 0 is a pool or SSD operation (else a step).
  static bool IsKvMessage(std::span<const uint8_t> bytes);
  // Serves one such message (the SSD folder and limits come with rank 0's open); answers rank 0
  // where the operation asks for an answer. `make_storage` gives this rank's pool at the shape
  // rank 0's open names.
  Status Serve(std::span<const uint8_t> bytes, Communicator& group,
               const std::function<Result<KvStorage*>(int32_t num_blocks, int32_t block_size,
                                                      KvDtype dtype)>& make_storage);

 private:
  FileSystem* const fs_;
  std::unique_ptr<SsdCache> local_;
  std::unordered_map<uint64_t, int32_t> finished_;  // load id -> blocks loaded
};

}  // namespace ts
