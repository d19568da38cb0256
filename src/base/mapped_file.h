// MappedFile: a read-only memory map of a whole file. Move-only; unmaps on destruction.
// Weights are used in place from the map (zero-copy) wherever their stored format is the one
// the kernels read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"

namespace ts {

class MappedFile {
 public:
  static Result<MappedFile> Open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  void Reset();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Reads a whole (small) file into a string; fails beyond max_bytes.
Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes = 64u << 20);

// Writes data to path via a temporary file and rename, so readers never see a partial file.
Status WriteFileAtomically(const std::string& path, std::string_view data);

}  // namespace ts
