#include "base/byte_codec.h"

namespace ts {

void ByteWriter::Append(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  bytes_.insert(bytes_.end(), b, b + n);
}

}  // namespace ts
