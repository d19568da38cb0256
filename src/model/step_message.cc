#include "model/step_message.h"

#include <cstring>
#include <string>

namespace ts {
namespace {

constexpr uint32_t kStepMagic = 0x50455453;      // "STEP"
constexpr uint32_t kShutdownMagic = 0x504f5453;  // "STOP"

class Writer {
 public:
  template <typename T>
  void Put(T value) {
    Append(&value, sizeof(T));
  }
  template <typename T>
  void PutArray(std::span<const T> values) {
    Put(static_cast<uint64_t>(values.size()));
    Append(values.data(), values.size_bytes());
  }
  std::vector<uint8_t> Take() { return std::move(bytes_); }

 private:
  void Append(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
  }
  std::vector<uint8_t> bytes_;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  template <typename T>
  Status Get(T* value) {
    if (bytes_.size() - at_ < sizeof(T)) return Truncated();
    std::memcpy(value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return Status::Ok();
  }
  template <typename T>
  Status GetArray(std::vector<T>* values) {
    uint64_t n = 0;
    RETURN_IF_ERROR(Get(&n));
    if (n > (bytes_.size() - at_) / sizeof(T)) return Truncated();
    values->resize(static_cast<size_t>(n));
    std::memcpy(values->data(), bytes_.data() + at_, static_cast<size_t>(n) * sizeof(T));
    at_ += static_cast<size_t>(n) * sizeof(T);
    return Status::Ok();
  }
  bool at_end() const { return at_ == bytes_.size(); }

 private:
  static Status Truncated() { return InvalidArgument("step message: truncated"); }
  std::span<const uint8_t> bytes_;
  size_t at_ = 0;
};

}  // namespace

StepBatch StepMessage::batch() const {
  StepBatch b;
  b.tokens = tokens;
  b.positions = positions;
  b.query_start = query_start;
  b.context_len = context_len;
  b.block_table = block_table;
  b.max_blocks_per_seq = max_blocks_per_seq;
  b.slot = slot;
  b.logit_rows = logit_rows;
  return b;
}

std::vector<uint8_t> EncodeStep(const StepBatch& b, int32_t num_blocks, int32_t block_size,
                                KvDtype kv_dtype) {
  Writer w;
  w.Put(kStepMagic);
  w.Put(num_blocks);
  w.Put(block_size);
  w.Put(static_cast<uint8_t>(kv_dtype));
  w.Put(b.max_blocks_per_seq);
  w.PutArray(b.tokens);
  w.PutArray(b.positions);
  w.PutArray(b.query_start);
  w.PutArray(b.context_len);
  w.PutArray(b.block_table);
  w.PutArray(b.slot);
  w.PutArray(b.logit_rows);
  return w.Take();
}

std::vector<uint8_t> EncodeShutdown() {
  Writer w;
  w.Put(kShutdownMagic);
  return w.Take();
}

Result<StepMessage> DecodeStepMessage(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  uint32_t magic = 0;
  RETURN_IF_ERROR(r.Get(&magic));
  StepMessage m;
  if (magic == kShutdownMagic && r.at_end()) {
    m.shutdown = true;
    return m;
  }
  if (magic != kStepMagic) return InvalidArgument("step message: unknown kind");
  uint8_t dtype = 0;
  RETURN_IF_ERROR(r.Get(&m.num_blocks));
  RETURN_IF_ERROR(r.Get(&m.block_size));
  RETURN_IF_ERROR(r.Get(&dtype));
  RETURN_IF_ERROR(r.Get(&m.max_blocks_per_seq));
  if (dtype > static_cast<uint8_t>(KvDtype::kF32)) {
    return InvalidArgument("step message: unknown KV dtype " + std::to_string(dtype));
  }
  m.kv_dtype = static_cast<KvDtype>(dtype);
  RETURN_IF_ERROR(r.GetArray(&m.tokens));
  RETURN_IF_ERROR(r.GetArray(&m.positions));
  RETURN_IF_ERROR(r.GetArray(&m.query_start));
  RETURN_IF_ERROR(r.GetArray(&m.context_len));
  RETURN_IF_ERROR(r.GetArray(&m.block_table));
  RETURN_IF_ERROR(r.GetArray(&m.slot));
  RETURN_IF_ERROR(r.GetArray(&m.logit_rows));
  if (!r.at_end()) return InvalidArgument("step message: trailing bytes");
  if (m.num_blocks < 1 || m.block_size < 1 || m.max_blocks_per_seq < 0) {
    return InvalidArgument("step message: bad pool shape");
  }
  return m;
}

}  // namespace ts
