// Any bytes as a tensor-parallel step message: an error or a message whose batch arrays hold
// exactly what their counts say, never a crash or a read past the input.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "model/step_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = ts::DecodeStepMessage(std::span<const uint8_t>(data, size));
  if (m.ok() && !m->shutdown) {
    const ts::StepBatch b = m->batch();
    const size_t elements = b.tokens.size() + b.positions.size() + b.query_start.size() +
                            b.context_len.size() + b.block_table.size() + b.logit_rows.size() +
                            2 * b.slot.size();
    if (elements * 4 > size) std::abort();
  }
  return 0;
}
