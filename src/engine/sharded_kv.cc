#include "engine/sharded_kv.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "base/byte_codec.h"
#include "base/log.h"

namespace ts {
namespace {

constexpr uint32_t kKvMagic = 0x4f4b5653;  // "SVKO"

enum class Op : uint8_t { kPool, kOpen, kMatch, kPersist, kLoad, kPoll, kFlush, kClear };

ByteWriter Begin(Op op) {
  ByteWriter w;
  w.Put(kKvMagic);
  w.Put(op);
  return w;
}

std::string RankDir(const std::string& dir, int rank, int size) {
  return dir + "/tp" + std::to_string(size) + "-rank" + std::to_string(rank);
}

// Each rank's records hold another shard of the same blocks: never accept one for another.
BlockHash RankFingerprint(BlockHash fingerprint, int rank) {
  fingerprint.high ^= 0x72616e6b00000000ull + static_cast<uint64_t>(rank);
  return fingerprint;
}

Status ReadPoolShape(ByteReader& r, int32_t* num_blocks, int32_t* block_size, KvDtype* dtype) {
  uint8_t d = 0;
  RETURN_IF_ERROR(r.Get(num_blocks));
  RETURN_IF_ERROR(r.Get(block_size));
  RETURN_IF_ERROR(r.Get(&d));
  if (*num_blocks < 1 || *block_size < 1 || d > static_cast<uint8_t>(KvDtype::kF32)) {
    return InvalidArgument("KV message: bad pool shape");
  }
  *dtype = static_cast<KvDtype>(d);
  return Status::Ok();
}

// Sends `op` to the other ranks, then gathers `mine.size()` int32 answers from every rank,
// rank-major. If the group is broken the other ranks answer 0 (nothing there, nothing loaded).
std::vector<int32_t> Exchange(Communicator& group, std::vector<uint8_t> op,
                              std::span<const int32_t> mine) {
  std::vector<int32_t> answers(mine.size() * static_cast<size_t>(group.size()), 0);
  std::copy(mine.begin(), mine.end(), answers.begin());
  std::vector<uint8_t> all;
  Status s = group.Broadcast(&op);
  if (s.ok()) {
    s = group.AllGather({reinterpret_cast<const uint8_t*>(mine.data()), mine.size_bytes()}, &all);
  }
  if (!s.ok()) {
    LOG(ERROR) << "SSD tier across ranks: " << s.ToString();
    return answers;
  }
  std::memcpy(answers.data(), all.data(), all.size());
  return answers;
}

void Send(Communicator& group, std::vector<uint8_t> op) {
  if (Status s = group.Broadcast(&op); !s.ok()) {
    LOG(ERROR) << "SSD tier across ranks: " << s.ToString();
  }
}

void PutPoolShape(ByteWriter& w, const KvPoolView& pool) {
  w.Put(pool.num_blocks);
  w.Put(pool.layout.block_size);
  w.Put(pool.layout.dtype);
}

}  // namespace

Status OpenFollowerPools(Communicator* group, const KvPoolView& pool) {
  ByteWriter w = Begin(Op::kPool);
  PutPoolShape(w, pool);
  const int32_t ok = 1;
  const std::vector<int32_t> answers = Exchange(*group, w.Take(), {&ok, 1});
  for (int r = 1; r < group->size(); ++r) {
    if (answers[static_cast<size_t>(r)] != 1) {
      return ResourceExhausted("rank " + std::to_string(r) + " could not make its KV pool of " +
                               std::to_string(pool.num_blocks) + " blocks (its log says why)");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<SsdTier>> ShardedSsdTier::Open(Communicator* group,
                                                      const SsdCacheOptions& options,
                                                      const BlockHash& cache_fingerprint,
                                                      KvStorage* storage, FileSystem* fs) {
  SsdCacheOptions mine = options;
  mine.dir = RankDir(options.dir, 0, group->size());
  RETURN_IF_ERROR(fs->CreateDir(options.dir));  // SsdCache makes the rank's folder inside
  auto local = SsdCache::Open(mine, RankFingerprint(cache_fingerprint, 0), storage, fs);
  ByteWriter w = Begin(Op::kOpen);
  PutPoolShape(w, storage->view());
  w.Put(cache_fingerprint);
  w.PutArray(std::span<const char>(options.dir));
  w.Put(options.max_bytes);
  w.Put(options.ttl_seconds);
  w.Put(options.max_pending_write_bytes);
  const int32_t opened = local.ok() ? 1 : 0;
  const std::vector<int32_t> answers = Exchange(*group, w.Take(), {&opened, 1});
  RETURN_IF_ERROR(local.status());
  for (int r = 1; r < group->size(); ++r) {
    if (answers[static_cast<size_t>(r)] != 1) {
      return FailedPrecondition("rank " + std::to_string(r) +
                                " could not open its SSD tier under " + options.dir +
                                " (its log says why)");
    }
  }
  return std::unique_ptr<SsdTier>(new ShardedSsdTier(group, std::move(*local)));
}

int32_t ShardedSsdTier::MatchPrefix(std::span<const BlockHash> hashes) const {
  if (hashes.empty()) return 0;  // nothing to ask the other ranks
  ByteWriter w = Begin(Op::kMatch);
  w.PutArray(hashes);
  const int32_t mine = local_->MatchPrefix(hashes);
  const std::vector<int32_t> counts = Exchange(*group_, w.Take(), {&mine, 1});
  return *std::min_element(counts.begin(), counts.end());
}

void ShardedSsdTier::Persist(const BlockHash& hash, const BlockHash& parent,
                             std::span<const int32_t> tokens, int32_t block_id) {
  local_->Persist(hash, parent, tokens, block_id);
  ByteWriter w = Begin(Op::kPersist);
  w.Put(hash);
  w.Put(parent);
  w.PutArray(tokens);
  w.Put(block_id);
  Send(*group_, w.Take());
}

void ShardedSsdTier::Load(SsdLoadRequest request) {
  ByteWriter w = Begin(Op::kLoad);
  w.Put(request.load_id);
  w.PutArray(std::span<const BlockHash>(request.hashes));
  w.PutArray(std::span<const int32_t>(request.tokens));
  w.PutArray(std::span<const int32_t>(request.block_ids));
  pending_[request.load_id].loaded.assign(static_cast<size_t>(group_->size()), -1);
  local_->Load(std::move(request));
  Send(*group_, w.Take());
}

std::vector<SsdLoadResult> ShardedSsdTier::PollLoads() {
  for (const SsdLoadResult& r : local_->PollLoads())
    pending_[r.load_id].loaded[0] = r.num_blocks_loaded;
  // Ask the other ranks only about loads some of them have not reported.
  std::vector<uint64_t> ask;
  for (const auto& [id, load] : pending_) {
    if (std::any_of(load.loaded.begin() + 1, load.loaded.end(), [](int32_t n) { return n < 0; })) {
      ask.push_back(id);
    }
  }
  if (!ask.empty()) {
    ByteWriter w = Begin(Op::kPoll);
    w.PutArray(std::span<const uint64_t>(ask));
    const std::vector<int32_t> none(ask.size(), -1);
    const std::vector<int32_t> answers = Exchange(*group_, w.Take(), none);
    for (size_t i = 0; i < ask.size(); ++i) {
      std::vector<int32_t>& loaded = pending_[ask[i]].loaded;
      for (int r = 1; r < group_->size(); ++r) {
        const int32_t n = answers[static_cast<size_t>(r) * ask.size() + i];
        if (n >= 0) loaded[static_cast<size_t>(r)] = n;
      }
    }
  }
  std::vector<SsdLoadResult> done;
  for (auto it = pending_.begin(); it != pending_.end();) {
    const std::vector<int32_t>& loaded = it->second.loaded;
    if (std::any_of(loaded.begin(), loaded.end(), [](int32_t n) { return n < 0; })) {
      ++it;
      continue;
    }
    done.push_back({it->first, *std::min_element(loaded.begin(), loaded.end())});
    it = pending_.erase(it);
  }
  return done;
}

void ShardedSsdTier::Flush() {
  local_->Flush();
  const int32_t one = 1;
  Exchange(*group_, Begin(Op::kFlush).Take(), {&one, 1});
}

void ShardedSsdTier::Clear() {
  local_->Clear();
  const int32_t one = 1;
  Exchange(*group_, Begin(Op::kClear).Take(), {&one, 1});
}

bool KvShardFollower::IsKvMessage(std::span<const uint8_t> bytes) {
  uint32_t magic = 0;
  if (bytes.size() < sizeof magic) return false;
  std::memcpy(&magic, bytes.data(), sizeof magic);
  return magic == kKvMagic;
}

Status KvShardFollower::Serve(
    std::span<const uint8_t> bytes, Communicator& group,
    const std::function<Result<KvStorage*>(int32_t, int32_t, KvDtype)>& make_storage) {
  ByteReader r(bytes, "KV message");
  uint32_t magic = 0;
  Op op = Op::kOpen;
  RETURN_IF_ERROR(r.Get(&magic));
  RETURN_IF_ERROR(r.Get(&op));
  auto answer = [&](std::span<const int32_t> values) {
    std::vector<uint8_t> all;
    return group.AllGather({reinterpret_cast<const uint8_t*>(values.data()), values.size_bytes()},
                           &all);
  };
  auto answer_one = [&](int32_t value) { return answer({&value, 1}); };
  int32_t num_blocks = 0, block_size = 0;
  KvDtype dtype = KvDtype::kBf16;
  switch (op) {
    case Op::kPool: {
      RETURN_IF_ERROR(ReadPoolShape(r, &num_blocks, &block_size, &dtype));
      RETURN_IF_ERROR(r.ExpectEnd());
      Status s = make_storage(num_blocks, block_size, dtype).status();
      if (!s.ok()) {
        LOG(ERROR) << "rank " << group.rank() << ": KV pool: " << s.ToString();
      }
      return answer_one(s.ok() ? 1 : 0);
    }
    case Op::kOpen: {
      BlockHash fingerprint;
      std::vector<char> dir;
      SsdCacheOptions options;
      RETURN_IF_ERROR(ReadPoolShape(r, &num_blocks, &block_size, &dtype));
      RETURN_IF_ERROR(r.Get(&fingerprint));
      RETURN_IF_ERROR(r.GetArray(&dir));
      RETURN_IF_ERROR(r.Get(&options.max_bytes));
      RETURN_IF_ERROR(r.Get(&options.ttl_seconds));
      RETURN_IF_ERROR(r.Get(&options.max_pending_write_bytes));
      RETURN_IF_ERROR(r.ExpectEnd());
      const std::string root(dir.begin(), dir.end());
      options.dir = RankDir(root, group.rank(), group.size());
      Status s = fs_->CreateDir(root);
      if (s.ok()) {
        auto storage = make_storage(num_blocks, block_size, dtype);
        s = storage.status();
        if (s.ok()) {
          auto opened =
              SsdCache::Open(options, RankFingerprint(fingerprint, group.rank()), *storage, fs_);
          s = opened.status();
          if (s.ok()) local_ = std::move(*opened);
        }
      }
      if (!s.ok()) {
        LOG(ERROR) << "rank " << group.rank() << ": SSD tier: " << s.ToString();
      }
      return answer_one(s.ok() ? 1 : 0);
    }
    case Op::kMatch: {
      std::vector<BlockHash> hashes;
      RETURN_IF_ERROR(r.GetArray(&hashes));
      RETURN_IF_ERROR(r.ExpectEnd());
      return answer_one(local_ != nullptr ? local_->MatchPrefix(hashes) : 0);
    }
    case Op::kPersist: {
      BlockHash hash, parent;
      std::vector<int32_t> tokens;
      int32_t block_id = 0;
      RETURN_IF_ERROR(r.Get(&hash));
      RETURN_IF_ERROR(r.Get(&parent));
      RETURN_IF_ERROR(r.GetArray(&tokens));
      RETURN_IF_ERROR(r.Get(&block_id));
      RETURN_IF_ERROR(r.ExpectEnd());
      if (local_ != nullptr) local_->Persist(hash, parent, tokens, block_id);
      return Status::Ok();
    }
    case Op::kLoad: {
      SsdLoadRequest request;
      RETURN_IF_ERROR(r.Get(&request.load_id));
      RETURN_IF_ERROR(r.GetArray(&request.hashes));
      RETURN_IF_ERROR(r.GetArray(&request.tokens));
      RETURN_IF_ERROR(r.GetArray(&request.block_ids));
      RETURN_IF_ERROR(r.ExpectEnd());
      if (local_ != nullptr) {
        local_->Load(std::move(request));
      } else {
        finished_[request.load_id] = 0;
      }
      return Status::Ok();
    }
    case Op::kPoll: {
      std::vector<uint64_t> ids;
      RETURN_IF_ERROR(r.GetArray(&ids));
      RETURN_IF_ERROR(r.ExpectEnd());
      if (local_ != nullptr) {
        for (const SsdLoadResult& done : local_->PollLoads()) {
          finished_[done.load_id] = done.num_blocks_loaded;
        }
      }
      std::vector<int32_t> loaded(ids.size(), -1);
      for (size_t i = 0; i < ids.size(); ++i) {
        if (auto it = finished_.find(ids[i]); it != finished_.end()) {
          loaded[i] = it->second;
          finished_.erase(it);
        }
      }
      return answer(loaded);
    }
    case Op::kFlush:
    case Op::kClear:
      RETURN_IF_ERROR(r.ExpectEnd());
      if (local_ != nullptr) {
        if (op == Op::kFlush) {
          local_->Flush();
        } else {
          local_->Clear();
        }
      }
      return answer_one(1);
  }
  return InvalidArgument("SSD message: unknown operation");
}

}  // namespace ts
