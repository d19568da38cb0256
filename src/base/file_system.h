// FileSystem: the small set of file operations the SSD KV tier needs, behind an interface so
// that tests can inject faults (short writes, EIO, ENOSPC, read-only directories, slow disks)
// without touching the code under test. Modeled on leveldb's Env.
//
// Thread safety: PosixFileSystem is stateless and safe from any thread. A WritableFile or
// RandomAccessFile is used by one thread at a time. Implementations report the OS error as a
// Status (kIoError; kResourceExhausted for ENOSPC/EDQUOT; kNotFound for ENOENT) and never
// throw.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace ts {

// A file opened for writing from its start. Close() must be called to learn whether the data
// reached the OS; the destructor closes silently.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all of data or fails (a short write is retried until complete or an error).
  virtual Status Append(std::span<const uint8_t> data) = 0;
  // Flushes data and metadata to the device (fsync).
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to out.size() bytes at offset; returns the count read (short only at end of file).
  virtual Result<size_t> Read(uint64_t offset, std::span<uint8_t> out) = 0;
  virtual uint64_t size_bytes() const = 0;
};

struct DirEntry {
  std::string name;  // name inside the directory, no slashes
  bool is_dir = false;
  uint64_t size_bytes = 0;
  int64_t mtime_seconds = 0;  // seconds since the Unix epoch
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates or truncates path for writing.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;
  // Atomically replaces `to` with `from` (POSIX rename).
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Creates path (one level); OK when it already exists as a directory.
  virtual Status CreateDir(const std::string& path) = 0;
  // Lists a directory with each entry's type, size and modification time (no "." or "..").
  virtual Result<std::vector<DirEntry>> ListDir(const std::string& path) = 0;
  virtual Status SetModifiedTime(const std::string& path, int64_t mtime_seconds) = 0;
};

// The real file system through POSIX calls.
class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status CreateDir(const std::string& path) override;
  Result<std::vector<DirEntry>> ListDir(const std::string& path) override;
  Status SetModifiedTime(const std::string& path, int64_t mtime_seconds) override;
};

// Maps an errno value to a Status: ENOENT -> kNotFound, ENOSPC/EDQUOT -> kResourceExhausted,
// anything else -> kIoError. `what` names the operation and path.
Status ErrnoToStatus(int error, const std::string& what);

}  // namespace ts
