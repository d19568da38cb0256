// SsdTier: what the KV cache asks of its persistent tier (ssd_cache.h has the semantics). One
// implementation keeps this process's blocks (SsdCache); split over tensor-parallel ranks, the
// engine's ShardedSsdTier keeps every rank's tier in step with rank 0's.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kv/block_hash.h"

namespace ts {

struct SsdStats;
struct SsdLoadRequest;
struct SsdLoadResult;

class SsdTier {
 public:
  virtual ~SsdTier() = default;
  // How many leading hashes are stored.
  virtual int32_t MatchPrefix(std::span<const BlockHash> hashes) const = 0;
  // Queues block_id's KV (copied now) for writing under hash.
  virtual void Persist(const BlockHash& hash, const BlockHash& parent,
                       std::span<const int32_t> tokens, int32_t block_id) = 0;
  // Queues a load into blocks the caller owns until PollLoads returns its result.
  virtual void Load(SsdLoadRequest request) = 0;
  virtual std::vector<SsdLoadResult> PollLoads() = 0;
  // Waits for every queued load and write.
  virtual void Flush() = 0;
  // Finishes queued work, then deletes every record.
  virtual void Clear() = 0;
  virtual SsdStats stats() const = 0;
};

}  // namespace ts
