// FaultFileSystem: a FileSystem that forwards to a real one and injects the faults the SSD tier
// must survive: errors on create/write/sync/rename/read (EIO, ENOSPC, EROFS, ...), short writes
// (part of the data lands, then an error), a byte budget that runs out like a full disk, and a
// delay per operation like a slow disk. Knobs are atomics, so a test may flip them while the I/O
// thread runs.
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/file_system.h"

namespace ts::testing {

class FaultFileSystem final : public FileSystem {
 public:
  explicit FaultFileSystem(FileSystem* base) : base_(base) {}

  std::atomic<int> create_errno{0};  // NewWritableFile fails
  std::atomic<int> write_errno{0};   // Append fails before writing
  std::atomic<int> sync_errno{0};
  std::atomic<int> rename_errno{0};
  std::atomic<int> read_errno{0};                 // NewRandomAccessFile/Read fail
  std::atomic<int64_t> space_bytes{-1};           // >= 0: bytes left on the "disk"; then ENOSPC
  std::atomic<int64_t> short_write_bytes{-1};     // >= 0: each Append writes this much, then EIO
  std::atomic<int> delay_us{0};                   // slow disk: sleep per operation
  // fsync succeeds without syncing: for tests that never crash and need not wait on the disk.
  std::atomic<bool> skip_sync{false};
  std::atomic<int64_t> num_renames{0};

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    Delay();
    if (int e = create_errno.load()) return ErrnoToStatus(e, "create " + path);
    ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, base_->NewWritableFile(path));
    return std::unique_ptr<WritableFile>(new File(this, std::move(file)));
  }
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    Delay();
    if (int e = read_errno.load()) return ErrnoToStatus(e, "open " + path);
    return base_->NewRandomAccessFile(path);
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    Delay();
    if (int e = rename_errno.load()) return ErrnoToStatus(e, "rename " + from);
    ++num_renames;
    return base_->RenameFile(from, to);
  }
  Status RemoveFile(const std::string& path) override { return base_->RemoveFile(path); }
  Status CreateDir(const std::string& path) override { return base_->CreateDir(path); }
  Result<std::vector<DirEntry>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  Status SetModifiedTime(const std::string& path, int64_t mtime_seconds) override {
    return base_->SetModifiedTime(path, mtime_seconds);
  }

 private:
  class File final : public WritableFile {
   public:
    File(FaultFileSystem* fs, std::unique_ptr<WritableFile> base)
        : fs_(fs), base_(std::move(base)) {}
    Status Append(std::span<const uint8_t> data) override {
      fs_->Delay();
      if (int e = fs_->write_errno.load()) return ErrnoToStatus(e, "write");
      const int64_t short_bytes = fs_->short_write_bytes.load();
      if (short_bytes >= 0 && static_cast<size_t>(short_bytes) < data.size()) {
        RETURN_IF_ERROR(base_->Append(data.first(static_cast<size_t>(short_bytes))));
        return ErrnoToStatus(EIO, "short write");
      }
      int64_t space = fs_->space_bytes.load();
      if (space >= 0) {
        const int64_t n = std::min<int64_t>(space, static_cast<int64_t>(data.size()));
        fs_->space_bytes -= n;
        RETURN_IF_ERROR(base_->Append(data.first(static_cast<size_t>(n))));
        if (static_cast<size_t>(n) < data.size()) return ErrnoToStatus(ENOSPC, "write");
        return Status::Ok();
      }
      return base_->Append(data);
    }
    Status Sync() override {
      fs_->Delay();
      if (int e = fs_->sync_errno.load()) return ErrnoToStatus(e, "fsync");
      if (fs_->skip_sync.load()) return Status::Ok();
      return base_->Sync();
    }
    Status Close() override { return base_->Close(); }

   private:
    FaultFileSystem* fs_;
    std::unique_ptr<WritableFile> base_;
  };

  void Delay() {
    if (int us = delay_us.load()) std::this_thread::sleep_for(std::chrono::microseconds(us));
  }

  FileSystem* base_;
};

}  // namespace ts::testing
