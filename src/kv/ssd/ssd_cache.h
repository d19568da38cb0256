// SsdCache: the persistent tier of the prefix KV cache. Full blocks are written behind the
// engine by one background I/O thread, one self-checking record per block (block_file.h), and
// read back into free blocks of the RAM pool on request.
//
// Write-behind: Persist() copies the block out of the pool on the calling (engine) thread and
// queues it; the queue is bounded (max_pending_write_bytes), and when it is full the write is
// dropped and counted: the engine never waits on the disk. Writes are deduplicated by hash
// against both the queue and the directory. A queued block counts as stored (MatchPrefix sees
// it) and loads are served from the queue until its record is on disk, so there is no window in
// which a block is findable nowhere.
//
// Loads: Load() queues a request to read records into pool blocks the caller already owns; the
// I/O thread serves loads before writes. A load stops at the first block that is missing or
// fails verification; that record is deleted and counted, and the load reports how many
// leading blocks arrived. Completed loads are collected with PollLoads().
//
// Index: rebuilt at Open() by scanning the directory's 256 subdirectories (names carry the hash,
// sizes and modification times are read with the listing; records are verified when loaded, not
// at start-up). Leftover temp files and records of the wrong size are deleted. Size cap and TTL
// prune least recently used records first; a load refreshes a record's modification time, so
// recency survives restarts. One process per directory.
//
// Threads: Persist, Load, PollLoads, MatchPrefix and stats may be called from one owner thread
// (the engine); the I/O thread is internal. All shared state is guarded by mu_.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/file_system.h"
#include "base/status.h"
#include "kv/block_hash.h"
#include "kv/kv_storage.h"
#include "kv/ssd/ssd_index.h"
#include "kv/ssd/ssd_tier.h"

namespace ts {

struct SsdCacheOptions {
  std::string dir;                        // --ssd-cache-dir; created if missing
  int64_t max_bytes = 0;                  // --ssd-cache-size; 0: no cap
  int64_t ttl_seconds = 0;                // --ssd-cache-ttl; 0: records never expire
  int64_t max_pending_write_bytes = 256 << 20;  // write-behind queue bound (at least one block)
  // Wall clock in seconds since the epoch, called from both threads; tests pass a fake.
  std::function<int64_t()> now_seconds;
  // Called on the I/O thread after each finished load (e.g. to wake the engine). May be empty.
  std::function<void()> on_load_done;

  Status Validate() const;
};

struct SsdStats {
  int64_t num_blocks = 0;  // records on disk, in the index
  int64_t num_bytes = 0;
  int64_t hit_blocks = 0;   // blocks loaded into the pool
  int64_t miss_blocks = 0;  // blocks a load asked for and could not deliver
  int64_t pending_writes = 0;
  int64_t written_blocks = 0;
  int64_t dropped_writes = 0;  // queue full
  int64_t write_errors = 0;    // the file system refused (EIO, ENOSPC, read-only, ...)
  int64_t removed_corrupt_files = 0;  // missing, truncated, corrupt, foreign or wrong-size records
  int64_t removed_temp_files = 0;     // leftovers of interrupted writes, at start-up
  int64_t pruned_files = 0;           // over the size cap or past the TTL
};

// One block to load: its identity, its token ids (checked against the record) and the pool
// block the caller reserved for it.
struct SsdLoadRequest {
  uint64_t load_id = 0;
  std::vector<BlockHash> hashes;   // [n]
  std::vector<int32_t> tokens;     // [n * block_size]
  std::vector<int32_t> block_ids;  // [n]
};

struct SsdLoadResult {
  uint64_t load_id = 0;
  int32_t num_blocks_loaded = 0;  // the leading blocks of the request now in the pool
};

class SsdCache final : public SsdTier {
 public:
  // Scans options.dir and starts the I/O thread. `storage` and `fs` are borrowed and must
  // outlive the cache; `cache_fingerprint` is stored in and checked against every record.
  static Result<std::unique_ptr<SsdCache>> Open(const SsdCacheOptions& options,
                                                const BlockHash& cache_fingerprint,
                                                KvStorage* storage, FileSystem* fs);
  // Finishes queued loads and writes, then stops the I/O thread.
  ~SsdCache() override;
  SsdCache(const SsdCache&) = delete;
  SsdCache& operator=(const SsdCache&) = delete;

  // How many leading hashes are stored (on disk and unexpired, or queued for writing).
  int32_t MatchPrefix(std::span<const BlockHash> hashes) const override;

  // Queues block_id's KV for writing under hash unless the hash is already stored or queued
  // (deduplicated) or the queue is full (dropped and counted). Copies the block now, so the
  // caller may reuse it at once. REQUIRES: tokens.size() == block size.
  void Persist(const BlockHash& hash, const BlockHash& parent, std::span<const int32_t> tokens,
               int32_t block_id) override;

  // Queues a load. The caller must not touch request.block_ids until PollLoads returns its
  // result.
  void Load(SsdLoadRequest request) override;
  // Results of finished loads, in completion order.
  std::vector<SsdLoadResult> PollLoads() override;

  // Blocks until every queued load and write is done (tests, shutdown, benchmarks).
  void Flush() override;

  // Finishes queued work, then deletes every record (DELETE /v1/cache).
  void Clear() override;

  SsdStats stats() const override;

 private:
  struct PendingWrite {
    BlockHash parent;
    std::vector<int32_t> tokens;
    std::unique_ptr<std::vector<uint8_t>> payload;
  };

  SsdCache(const SsdCacheOptions& options, const BlockHash& cache_fingerprint, KvStorage* storage,
           FileSystem* fs);

  Status Scan();
  void IoLoop();
  void DoWrite(const BlockHash& hash, const PendingWrite& write);
  int32_t DoLoad(const SsdLoadRequest& request);
  // Reads and verifies one record into block_id; false (after removing a bad record) on a miss.
  bool LoadOne(const BlockHash& hash, std::span<const int32_t> tokens, int32_t block_id);
  // Drops records over the size cap or past the TTL. REQUIRES: mu_ held; returns the paths
  // to delete once it is released.
  std::vector<std::string> CollectPrunedLocked(int64_t now);
  void RemoveFiles(const std::vector<std::string>& paths);
  bool IsLiveLocked(const BlockHash& hash, int64_t now) const;
  std::string PathOf(const BlockHash& hash) const;
  int64_t Now() const { return options_.now_seconds(); }

  const SsdCacheOptions options_;
  const BlockHash fingerprint_;
  KvStorage* const storage_;
  FileSystem* const fs_;
  const uint64_t payload_bytes_;
  const uint64_t record_bytes_;
  const int64_t max_pending_writes_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // signalled when work arrives or stop_ is set
  std::condition_variable idle_cv_;  // signalled when the I/O thread finishes a task
  bool stop_ = false;                // guarded by mu_
  bool io_busy_ = false;             // guarded by mu_: the I/O thread is running a task
  SsdIndex index_;                   // guarded by mu_
  // Queued writes, deduplicated by hash. Only the I/O thread erases entries and touches a
  // PendingWrite after it is queued, so it may read one without holding mu_.
  std::unordered_map<BlockHash, PendingWrite, BlockHashHasher> pending_;  // guarded by mu_
  std::deque<BlockHash> write_queue_;                                      // guarded by mu_
  std::deque<SsdLoadRequest> load_queue_;                                  // guarded by mu_
  std::vector<SsdLoadResult> done_loads_;                                  // guarded by mu_
  // Recycled payload buffers: a block is a few MB, too big to allocate per write.
  std::vector<std::unique_ptr<std::vector<uint8_t>>> spare_buffers_;  // guarded by mu_
  SsdStats stats_;  // guarded by mu_; num_blocks, num_bytes, pending_writes filled by stats()

  std::vector<uint8_t> read_buffer_;  // I/O thread only: one record
  std::thread io_thread_;
};

}  // namespace ts
