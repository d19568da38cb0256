// PackedQuantMatrix: an MLX-quantized WeightMatrix (q8/q4) re-laid out for the AVX512-VNNI
// integer dot products, and the precision its activations are rounded to:
//  - 16 bits (the default): vpdpwssd, int16 weights x int16 activations, 2 k per lane. The
//    activation rounding (2^-16 of a group's largest value) stays far below the weights' own
//    quantization: logits agree with the f32 product to ~1e-5 of their range.
//  - 8 bits: vpdpbusd, unsigned weight bytes x signed activation bytes, 4 k per lane; twice the
//    products per instruction, at llama.cpp's precision (Q8 activations: ~1e-2 of the range).
// Sixteen output rows sit side by side, one per lane, with 4 consecutive k per lane: one
// 64-byte load feeds 16 outputs (the 16-bit kernels widen it with two byte shuffles).
//
// Layout, per block of 16 rows (rb) and quantization group (g), contiguous and 64-byte aligned:
//   q8: G/4 steps of [16 lanes][4 bytes]: byte i of lane l = q[16 rb + l][g G + 4 s + i]
//   q4: G/8 steps of [16 lanes][4 bytes]: low nibble = q[..][g G + 8 s + i],
//       high nibble = q[..][g G + 8 s + 4 + i]  (a mask and a shift give two q8-like steps)
//   then 16 f32 scales and 16 f32 biases (converted exactly from the stored type).
// Rows past the end of the matrix are zero (scale and bias too) and never stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/weight_matrix.h"

namespace ts {

class PackedQuantMatrix {
 public:
  static constexpr int kLanes = 16;

  // REQUIRES: w quantized, group_size a multiple of 32 and at most 128 (int32 dot sums of a
  // group cannot overflow), activation_bits 8 or 16.
  PackedQuantMatrix(const WeightMatrix& w, int activation_bits);
  static bool CanPack(const WeightMatrix& w) {
    return w.is_quantized() && w.group_size % 32 == 0 && w.group_size <= 128 &&
           w.cols % w.group_size == 0;
  }

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int bits() const { return bits_; }
  int activation_bits() const { return activation_bits_; }
  int32_t group_size() const { return group_size_; }
  int64_t groups() const { return cols_ / group_size_; }
  int64_t row_blocks() const { return (rows_ + kLanes - 1) / kLanes; }
  // Bytes of quants in one (row block, group) cell; its scales follow, then its biases.
  size_t quant_bytes() const { return static_cast<size_t>(group_size_) * kLanes * bits_ / 8; }
  const uint8_t* cell(int64_t row_block, int64_t group) const {
    return data_.get() + (row_block * groups() + group) * cell_bytes();
  }
  size_t total_bytes() const { return cell_bytes() * static_cast<size_t>(row_blocks() * groups()); }

 private:
  size_t cell_bytes() const { return quant_bytes() + 2 * kLanes * sizeof(float); }

  int64_t rows_, cols_;
  int bits_;
  int activation_bits_;
  int32_t group_size_;
  std::unique_ptr<uint8_t[], void (*)(void*)> data_;
};

}  // namespace ts
