#include "kv/ssd/ssd_cache.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

#include "base/check.h"
#include "base/log.h"
#include "kv/ssd/block_file.h"

namespace ts {
namespace {

int64_t WallClockSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string SubdirName(int i) {
  char name[3];
  std::snprintf(name, sizeof name, "%02x", i);
  return name;
}

}  // namespace

Status SsdCacheOptions::Validate() const {
  if (dir.empty()) return InvalidArgument("--ssd-cache-dir is empty");
  if (max_bytes < 0) return InvalidArgument("--ssd-cache-size must not be negative");
  if (ttl_seconds < 0) return InvalidArgument("--ssd-cache-ttl must not be negative");
  if (max_pending_write_bytes < 0) return InvalidArgument("pending write bytes must not be negative");
  return Status::Ok();
}

SsdCache::SsdCache(const SsdCacheOptions& options, const BlockHash& cache_fingerprint,
                   KvStorage* storage, FileSystem* fs)
    : options_(options),
      fingerprint_(cache_fingerprint),
      storage_(storage),
      fs_(fs),
      payload_bytes_(storage->layout().block_bytes()),
      record_bytes_(BlockFileHeaderBytes(storage->layout().block_size) + payload_bytes_),
      max_pending_writes_(std::max<int64_t>(
          1, options.max_pending_write_bytes / static_cast<int64_t>(payload_bytes_))) {}

Result<std::unique_ptr<SsdCache>> SsdCache::Open(const SsdCacheOptions& options,
                                                 const BlockHash& cache_fingerprint,
                                                 KvStorage* storage, FileSystem* fs) {
  RETURN_IF_ERROR(options.Validate());
  SsdCacheOptions resolved = options;
  if (!resolved.now_seconds) resolved.now_seconds = WallClockSeconds;
  std::unique_ptr<SsdCache> cache(new SsdCache(resolved, cache_fingerprint, storage, fs));
  RETURN_IF_ERROR(cache->Scan().WithContext("SSD cache " + options.dir));
  cache->io_thread_ = std::thread([c = cache.get()] { c->IoLoop(); });
  return cache;
}

SsdCache::~SsdCache() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (io_thread_.joinable()) io_thread_.join();
}

std::string SsdCache::PathOf(const BlockHash& hash) const {
  return options_.dir + "/" + BlockFileName(hash);
}

Status SsdCache::Scan() {
  RETURN_IF_ERROR(fs_->CreateDir(options_.dir));
  struct Found {
    BlockHash hash;
    int64_t mtime_seconds;
  };
  std::vector<Found> found;
  std::vector<std::string> doomed;
  for (int i = 0; i < 256; ++i) {
    const std::string subdir = options_.dir + "/" + SubdirName(i);
    // Subdirectories are made by the first write into them.
    Result<std::vector<DirEntry>> entries = fs_->ListDir(subdir);
    if (entries.status().code() == StatusCode::kNotFound) continue;
    if (!entries.ok()) return entries.status();
    for (const DirEntry& e : *entries) {
      if (e.is_dir) continue;
      BlockHash hash;
      if (EndsWith(e.name, kTempFileSuffix)) {
        doomed.push_back(subdir + "/" + e.name);
        ++stats_.removed_temp_files;
      } else if (!ParseBlockFileName(e.name, &hash)) {
        continue;  // not ours: leave it alone
      } else if (e.size_bytes != record_bytes_ || hash.ToHex().compare(0, 2, SubdirName(i)) != 0) {
        doomed.push_back(subdir + "/" + e.name);
        ++stats_.removed_corrupt_files;
      } else {
        found.push_back({hash, e.mtime_seconds});
      }
    }
  }
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.mtime_seconds < b.mtime_seconds; });
  std::vector<std::string> pruned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Found& f : found) {
      index_.Insert(f.hash, {.size_bytes = record_bytes_, .last_use_seconds = f.mtime_seconds});
    }
    pruned = CollectPrunedLocked(Now());
  }
  RemoveFiles(doomed);
  RemoveFiles(pruned);
  LOG(INFO) << "SSD cache " << options_.dir << ": " << index_.num_entries() << " blocks, "
            << index_.total_bytes() << " bytes";
  return Status::Ok();
}

bool SsdCache::IsLiveLocked(const BlockHash& hash, int64_t now) const {
  if (pending_.contains(hash)) return true;
  const SsdIndex::Entry* entry = index_.find(hash);
  if (entry == nullptr) return false;
  return options_.ttl_seconds == 0 || now - entry->last_use_seconds <= options_.ttl_seconds;
}

int32_t SsdCache::MatchPrefix(std::span<const BlockHash> hashes) const {
  const int64_t now = Now();
  std::lock_guard<std::mutex> lock(mu_);
  int32_t matched = 0;
  for (const BlockHash& hash : hashes) {
    if (!IsLiveLocked(hash, now)) break;
    ++matched;
  }
  return matched;
}

void SsdCache::Persist(const BlockHash& hash, const BlockHash& parent,
                       std::span<const int32_t> tokens, int32_t block_id) {
  CHECK_EQ(tokens.size(), static_cast<size_t>(storage_->layout().block_size));
  std::unique_ptr<std::vector<uint8_t>> buffer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (IsLiveLocked(hash, Now())) return;
    if (static_cast<int64_t>(write_queue_.size()) >= max_pending_writes_) {
      ++stats_.dropped_writes;
      return;
    }
    if (!spare_buffers_.empty()) {
      buffer = std::move(spare_buffers_.back());
      spare_buffers_.pop_back();
    }
  }
  // Only this thread adds writes, so the room checked above is still there after the copy.
  if (buffer == nullptr) buffer = std::make_unique<std::vector<uint8_t>>(payload_bytes_);
  storage_->CopyBlockOut(block_id, *buffer);
  PendingWrite write{.parent = parent,
                     .tokens = std::vector<int32_t>(tokens.begin(), tokens.end()),
                     .payload = std::move(buffer)};
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.emplace(hash, std::move(write));
    write_queue_.push_back(hash);
  }
  work_cv_.notify_one();
}

void SsdCache::Load(SsdLoadRequest request) {
  CHECK_EQ(request.hashes.size(), request.block_ids.size());
  CHECK_EQ(request.tokens.size(),
           request.hashes.size() * static_cast<size_t>(storage_->layout().block_size));
  {
    std::lock_guard<std::mutex> lock(mu_);
    load_queue_.push_back(std::move(request));
  }
  work_cv_.notify_one();
}

std::vector<SsdLoadResult> SsdCache::PollLoads() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(done_loads_, {});
}

void SsdCache::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return load_queue_.empty() && write_queue_.empty() && !io_busy_; });
}

SsdStats SsdCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  SsdStats s = stats_;
  s.num_blocks = index_.num_entries();
  s.num_bytes = static_cast<int64_t>(index_.total_bytes());
  s.pending_writes = static_cast<int64_t>(write_queue_.size());
  return s;
}

void SsdCache::IoLoop() {
  // Expired records are swept at least this often even when no writes arrive.
  const auto sweep_period = std::chrono::seconds(
      options_.ttl_seconds > 0 ? std::clamp<int64_t>(options_.ttl_seconds / 2, 1, 60) : 3600);
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait_for(lock, sweep_period, [this] {
      return stop_ || !load_queue_.empty() || !write_queue_.empty();
    });
    if (!load_queue_.empty()) {
      SsdLoadRequest request = std::move(load_queue_.front());
      load_queue_.pop_front();
      io_busy_ = true;
      lock.unlock();
      const int32_t loaded = DoLoad(request);
      lock.lock();
      done_loads_.push_back({.load_id = request.load_id, .num_blocks_loaded = loaded});
      if (options_.on_load_done) {
        lock.unlock();
        options_.on_load_done();
        lock.lock();
      }
      io_busy_ = false;
    } else if (!write_queue_.empty()) {
      const BlockHash hash = write_queue_.front();
      write_queue_.pop_front();
      const PendingWrite& write = pending_.at(hash);
      io_busy_ = true;
      lock.unlock();
      DoWrite(hash, write);
      lock.lock();
      io_busy_ = false;
    } else if (stop_) {
      break;
    } else {
      std::vector<std::string> pruned = CollectPrunedLocked(Now());
      lock.unlock();
      RemoveFiles(pruned);
      lock.lock();
    }
    idle_cv_.notify_all();
  }
  idle_cv_.notify_all();
}

void SsdCache::DoWrite(const BlockHash& hash, const PendingWrite& write) {
  const std::string path = PathOf(hash);
  const std::string temp_path = path + kTempFileSuffix;
  const BlockFileKey key{.fingerprint = fingerprint_,
                         .hash = hash,
                         .parent = write.parent,
                         .tokens = write.tokens,
                         .payload_bytes = payload_bytes_};
  const std::vector<uint8_t> header = EncodeBlockFileHeader(key, *write.payload);
  const int64_t now = Now();
  Status status = [&]() -> Status {
    Result<std::unique_ptr<WritableFile>> opened = fs_->NewWritableFile(temp_path);
    if (opened.status().code() == StatusCode::kNotFound) {
      RETURN_IF_ERROR(fs_->CreateDir(temp_path.substr(0, temp_path.rfind('/'))));
      opened = fs_->NewWritableFile(temp_path);
    }
    if (!opened.ok()) return opened.status();
    std::unique_ptr<WritableFile> file = std::move(opened).value();
    RETURN_IF_ERROR(file->Append(header));
    RETURN_IF_ERROR(file->Append(*write.payload));
    RETURN_IF_ERROR(file->Sync());
    RETURN_IF_ERROR(file->Close());
    // The file time is the record's last use on the cache's clock (LRU order and TTL after a
    // restart), not the file system's.
    RETURN_IF_ERROR(fs_->SetModifiedTime(temp_path, now));
    return fs_->RenameFile(temp_path, path);
  }();
  if (!status.ok()) {
    // Best effort: the temp file may not exist, and start-up removes any that survive.
    (void)fs_->RemoveFile(temp_path);
    LOG(DEBUG) << "SSD cache write failed: " << status.ToString();
  }
  std::vector<std::string> pruned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status.ok()) {
      index_.Insert(hash, {.size_bytes = record_bytes_, .last_use_seconds = now});
      ++stats_.written_blocks;
    } else {
      ++stats_.write_errors;
    }
    auto it = pending_.find(hash);
    spare_buffers_.push_back(std::move(it->second.payload));
    if (static_cast<int64_t>(spare_buffers_.size()) > max_pending_writes_) spare_buffers_.pop_back();
    pending_.erase(it);
    pruned = CollectPrunedLocked(now);
  }
  RemoveFiles(pruned);
}

int32_t SsdCache::DoLoad(const SsdLoadRequest& request) {
  const size_t block_size = static_cast<size_t>(storage_->layout().block_size);
  int32_t loaded = 0;
  for (size_t i = 0; i < request.hashes.size(); ++i) {
    std::span<const int32_t> tokens =
        std::span<const int32_t>(request.tokens).subspan(i * block_size, block_size);
    if (!LoadOne(request.hashes[i], tokens, request.block_ids[i])) break;
    ++loaded;
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.hit_blocks += loaded;
  stats_.miss_blocks += static_cast<int64_t>(request.hashes.size()) - loaded;
  return loaded;
}

bool SsdCache::LoadOne(const BlockHash& hash, std::span<const int32_t> tokens, int32_t block_id) {
  const PendingWrite* queued = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(hash);
    if (it != pending_.end()) {
      queued = &it->second;
    } else if (!IsLiveLocked(hash, Now())) {
      return false;
    }
  }
  if (queued != nullptr) {
    // Only this thread erases pending writes, so *queued stays valid here.
    if (!std::equal(tokens.begin(), tokens.end(), queued->tokens.begin())) return false;
    storage_->CopyBlockIn(block_id, *queued->payload);
    return true;
  }
  const std::string path = PathOf(hash);
  const BlockFileKey key{.fingerprint = fingerprint_,
                         .hash = hash,
                         .parent = {},
                         .tokens = tokens,
                         .payload_bytes = payload_bytes_};
  Status status = [&]() -> Status {
    ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file, fs_->NewRandomAccessFile(path));
    if (file->size_bytes() != record_bytes_) {
      return DataLoss("record is " + std::to_string(file->size_bytes()) + " bytes");
    }
    read_buffer_.resize(record_bytes_);
    ASSIGN_OR_RETURN(size_t n, file->Read(0, read_buffer_));
    return VerifyBlockFile(std::span<const uint8_t>(read_buffer_).first(n), key);
  }();
  const int64_t now = Now();
  if (status.ok()) {
    storage_->CopyBlockIn(
        block_id, std::span<const uint8_t>(read_buffer_).subspan(record_bytes_ - payload_bytes_));
    // Recency for the next start-up's LRU order; failing to record it costs nothing else.
    (void)fs_->SetModifiedTime(path, now);
    std::lock_guard<std::mutex> lock(mu_);
    index_.Touch(hash, now);
    return true;
  }
  if (status.code() == StatusCode::kFailedPrecondition) return false;  // collision: keep it
  LOG(DEBUG) << "SSD cache record dropped: " << status.ToString();
  if (status.code() != StatusCode::kNotFound) (void)fs_->RemoveFile(path);
  std::lock_guard<std::mutex> lock(mu_);
  index_.Erase(hash);
  ++stats_.removed_corrupt_files;
  return false;
}

std::vector<std::string> SsdCache::CollectPrunedLocked(int64_t now) {
  std::vector<std::string> paths;
  while (std::optional<BlockHash> oldest = index_.Oldest()) {
    const SsdIndex::Entry* entry = index_.find(*oldest);
    const bool over_cap =
        options_.max_bytes > 0 && index_.total_bytes() > static_cast<uint64_t>(options_.max_bytes);
    const bool expired =
        options_.ttl_seconds > 0 && now - entry->last_use_seconds > options_.ttl_seconds;
    if (!over_cap && !expired) break;
    paths.push_back(PathOf(*oldest));
    index_.Erase(*oldest);
    ++stats_.pruned_files;
  }
  return paths;
}

void SsdCache::RemoveFiles(const std::vector<std::string>& paths) {
  // A file already gone is as good as removed; other failures leave a file the next start-up
  // scan sees again.
  for (const std::string& path : paths) (void)fs_->RemoveFile(path);
}

void SsdCache::Clear() {
  Flush();
  std::vector<std::string> paths;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (std::optional<BlockHash> oldest = index_.Oldest()) {
      paths.push_back(PathOf(*oldest));
      index_.Erase(*oldest);
    }
  }
  RemoveFiles(paths);
}

}  // namespace ts
