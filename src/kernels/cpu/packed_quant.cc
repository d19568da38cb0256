#include "kernels/packed_quant.h"

#include <cstdlib>
#include <cstring>

#include "base/check.h"
#include "kernels/reference/reference_kernels.h"

namespace ts {

using reference::QuantAt;

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
  data_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, bytes)));
  CHECK(data_ != nullptr) << "out of memory packing a " << rows_ << "x" << cols_ << " matrix";
  std::memset(data_.get(), 0, bytes);
  const int64_t G = group_size_;
  const int k_per_step = bits_ == 8 ? 4 : 8;
  for (int64_t rb = 0; rb < row_blocks(); ++rb) {
    for (int64_t g = 0; g < groups(); ++g) {
      uint8_t* c = data_.get() + (rb * groups() + g) * cell_bytes();
      float* scales = reinterpret_cast<float*>(c + quant_bytes());
      float* biases = scales + kLanes;
      for (int l = 0; l < kLanes && rb * kLanes + l < rows_; ++l) {
        const int64_t row = rb * kLanes + l;
        for (int64_t s = 0; s < G / k_per_step; ++s) {
          for (int i = 0; i < 4; ++i) {
            const int64_t k = g * G + s * k_per_step + i;
            int byte = QuantAt(w, row, k);
            if (bits_ == 4) byte |= QuantAt(w, row, k + 4) << 4;
            c[(s * kLanes + l) * 4 + i] = static_cast<uint8_t>(byte);
          }
        }
        scales[l] = reference::ScaleAt(w, row, g);
        biases[l] = reference::BiasAt(w, row, g);
      }
    }
  }
}

}  // namespace ts
