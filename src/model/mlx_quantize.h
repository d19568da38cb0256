// MLX affine group quantization of one float matrix, reproducing mlx.core.quantize (what
// `mlx_lm.convert -q` writes). Per group of group_size elements along a row, in float32:
//   scale = max((max - min) / (2^bits - 1), 1e-7), negated unless |min| > |max|
//   edge  = min if |min| > |max| else max;  q0 = rint(edge / scale)
//   if q0 != 0: scale = edge / q0, bias = edge   else: bias = 0
//   q = clamp(rint((w - bias) / scale), 0, 2^bits - 1)
// q is packed low bits first into little-endian uint32 words; scales and biases are stored in
// the weight's float dtype.
#pragma once

#include <cstdint>
#include <vector>

#include "model/dtype.h"

namespace ts {

struct QuantizedMatrix {
  std::vector<uint8_t> packed;  // [rows][cols * bits / 32] uint32, as bytes
  std::vector<uint8_t> scales;  // [rows][cols / group_size] in float_dtype
  std::vector<uint8_t> biases;
};

// w: [rows][cols] float32 values. REQUIRES: cols % group_size == 0, bits 4 or 8,
// float_dtype one of F32/F16/BF16.
QuantizedMatrix MlxQuantize(const float* w, int64_t rows, int64_t cols, int bits, int group_size,
                            DType float_dtype);

}  // namespace ts
