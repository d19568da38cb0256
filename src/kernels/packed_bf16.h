// PackedBf16Matrix: a bf16 WeightMatrix re-laid out for AVX512-BF16 dot products (vdpbf16ps),
// which multiply pairs of bf16 weights by pairs of bf16 activations and add into f32 lanes.
// Used with --bf16-activations: activations rounded to bf16 (what PyTorch does when it runs a
// bf16 model), for twice the products per instruction of the f32 FMA tiles.
//
// Layout, per block of 16 rows (rb), contiguous and 64-byte aligned: pairs() steps of
// [16 lanes][2 bf16], lane l of step s = (w[16 rb + l][2 s], w[16 rb + l][2 s + 1]).
// Rows past the end of the matrix and the k past an odd K are zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/weight_matrix.h"

namespace ts {

class PackedBf16Matrix {
 public:
  static constexpr int kLanes = 16;

  // REQUIRES: w.format == kBf16.
  explicit PackedBf16Matrix(const WeightMatrix& w);
  static bool CanPack(const WeightMatrix& w) { return w.format == WeightFormat::kBf16; }

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t pairs() const { return (cols_ + 1) / 2; }
  int64_t row_blocks() const { return (rows_ + kLanes - 1) / kLanes; }
  // [pairs()][16] words: the pairs of rows 16 rb .. 16 rb + 15.
  const uint32_t* block(int64_t rb) const { return data_.get() + rb * pairs() * kLanes; }

 private:
  int64_t rows_, cols_;
  std::unique_ptr<uint32_t[], void (*)(void*)> data_;
};

}  // namespace ts
