#include "model/step_message.h"

#include <string>

#include "base/byte_codec.h"

namespace ts {
namespace {

constexpr uint32_t kStepMagic = 0x50455453;      // "STEP"
constexpr uint32_t kShutdownMagic = 0x504f5453;  // "STOP"

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
  ByteWriter w;
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
  ByteWriter w;
  w.Put(kShutdownMagic);
  return w.Take();
}

Result<StepMessage> DecodeStepMessage(std::span<const uint8_t> bytes) {
  ByteReader r(bytes, "step message");
  uint32_t magic = 0;
  RETURN_IF_ERROR(r.Get(&magic));
  StepMessage m;
  if (magic == kShutdownMagic) {
    RETURN_IF_ERROR(r.ExpectEnd());
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
  RETURN_IF_ERROR(r.ExpectEnd());
  if (m.num_blocks < 1 || m.block_size < 1 || m.max_blocks_per_seq < 0) {
    return InvalidArgument("step message: bad pool shape");
  }
  return m;
}

}  // namespace ts
