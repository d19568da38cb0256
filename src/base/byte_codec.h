// ByteWriter / ByteReader: plain little-endian records of trivially copyable values and arrays
// of them, for messages between processes of one build (tensor-parallel ranks). The reader
// checks every length against the bytes it has: a short or garbled message is an error, never
// a read out of bounds or a huge allocation.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "base/status.h"

namespace ts {

class ByteWriter {
 public:
  template <typename T>
  void Put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    Append(&value, sizeof(T));
  }
  template <typename T>
  void PutArray(std::span<const T> values) {
    static_assert(std::is_trivially_copyable_v<T>);
    Put(static_cast<uint64_t>(values.size()));
    Append(values.data(), values.size_bytes());
  }
  std::vector<uint8_t> Take() { return std::move(bytes_); }

 private:
  // Out of line: inlined, GCC 12 warns falsely about the vector's growth for small n.
  void Append(const void* p, size_t n);
  std::vector<uint8_t> bytes_;
};

class ByteReader {
 public:
  // `what` names the message in errors.
  ByteReader(std::span<const uint8_t> bytes, std::string what)
      : bytes_(bytes), what_(std::move(what)) {}

  template <typename T>
  Status Get(T* value) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (bytes_.size() - at_ < sizeof(T)) return Truncated();
    std::memcpy(value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return Status::Ok();
  }
  template <typename T>
  Status GetArray(std::vector<T>* values) {
    static_assert(std::is_trivially_copyable_v<T>);
    uint64_t n = 0;
    RETURN_IF_ERROR(Get(&n));
    if (n > (bytes_.size() - at_) / sizeof(T)) return Truncated();
    values->resize(static_cast<size_t>(n));
    if (n > 0) std::memcpy(values->data(), bytes_.data() + at_, static_cast<size_t>(n) * sizeof(T));
    at_ += static_cast<size_t>(n) * sizeof(T);
    return Status::Ok();
  }
  // OK when every byte was read.
  Status ExpectEnd() const {
    return at_ == bytes_.size() ? Status::Ok() : InvalidArgument(what_ + ": trailing bytes");
  }

 private:
  Status Truncated() const { return InvalidArgument(what_ + ": truncated"); }
  std::span<const uint8_t> bytes_;
  std::string what_;
  size_t at_ = 0;
};

}  // namespace ts
