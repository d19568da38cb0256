#include "kernels/packed_quant.h"

#include <cstdlib>
#include <cstring>

#include "base/check.h"
#include "base/large_alloc.h"
#include "kernels/reference/reference_kernels.h"

namespace ts {

PackedQuantMatrix::PackedQuantMatrix(const WeightMatrix& w, int activation_bits)
    : rows_(w.rows),
      cols_(w.cols),
      bits_(w.bits()),
      activation_bits_(activation_bits),
      group_size_(w.group_size),
      data_(nullptr, std::free) {
  CHECK(CanPack(w)) << "format " << static_cast<int>(w.format) << " group_size " << w.group_size;
  CHECK(activation_bits == 8 || activation_bits == 16) << activation_bits;
  const size_t bytes = total_bytes();
  data_.reset(static_cast<uint8_t*>(AllocateLarge(bytes)));
  CHECK(data_ != nullptr) << "out of memory packing a " << rows_ << "x" << cols_ << " matrix";
  // Only a partial last block has lanes that no row writes.
  if (rows_ % kLanes != 0) {
    const size_t last = static_cast<size_t>((row_blocks() - 1) * groups()) * cell_bytes();
    std::memset(data_.get() + last, 0, bytes - last);
  }
  const int64_t G = group_size_;
  const int k_per_step = bits_ == 8 ? 4 : 8;
  for (int64_t row = 0; row < rows_; ++row) {
    const int64_t rb = row / kLanes, l = row % kLanes;
    const uint8_t* r = static_cast<const uint8_t*>(w.data) + row * w.row_bytes();
    for (int64_t g = 0; g < groups(); ++g) {
      uint8_t* c = data_.get() + (rb * groups() + g) * cell_bytes();
      for (int64_t s = 0; s < G / k_per_step; ++s) {
        uint8_t* out = c + (s * kLanes + l) * 4;
        const int64_t k = g * G + s * k_per_step;
        if (bits_ == 8) {
          std::memcpy(out, r + k, 4);
        } else {
          // 8 nibbles, element j at bits 4j: lane byte i = element i | element i + 4 << 4.
          uint32_t v;
          std::memcpy(&v, r + k / 2, 4);
          for (int i = 0; i < 4; ++i) {
            out[i] =
                static_cast<uint8_t>(((v >> (4 * i)) & 0xf) | ((v >> (4 * (i + 4))) & 0xf) << 4);
          }
        }
      }
      float* scales = reinterpret_cast<float*>(c + quant_bytes());
      scales[l] = reference::ScaleAt(w, row, g);
      scales[kLanes + l] = reference::BiasAt(w, row, g);
    }
  }
}

}  // namespace ts
