// Any bytes as a safetensors file: the parser returns a header or an error, never crashes,
// and every tensor it accepts lies inside the file.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto header = ts::ParseSafetensorsHeader(std::span<const uint8_t>(data, size), "fuzz");
  if (header.ok()) {
    for (const auto& [name, info] : header->tensors) {
      if (header->data_offset + info.end > size) std::abort();
    }
  }
  return 0;
}
